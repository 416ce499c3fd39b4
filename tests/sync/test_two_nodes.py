"""Acceptance: a county and a township node as two real server processes, each with its own
database (two SQLite files, or two PostgreSQL databases with SERVICE_HALL_TEST_DATABASE_URL)."""
from __future__ import annotations

import time

import pytest
import requests
import socketio

from tests.sync.nodes import PASSWORD, fresh_folder, wait_for
from tests.sync.scenario import make_pair


@pytest.fixture()
def pair():
    made = make_pair(fresh_folder())
    yield made
    made.close()


@pytest.fixture()
def unlinked_pair():
    made = make_pair(fresh_folder(), t1_linked=False)
    yield made
    made.close()


def _work_at_window(pair, clerk, rounds: int) -> None:
    for _ in range(rounds):
        clerk.act("POST", "call-next")
        clerk.act("POST", "start")
        clerk.act("POST", "finish")


def test_work_done_while_the_county_is_down_arrives_exactly_once(pair):
    pair.town.start()
    # A new node pulls the catalog, its accounts and its windows before it serves.
    items = requests.get(pair.town.base + "/api/v1/halls/T1/items", timeout=5).json()
    assert [i["code"] for i in items] == ["I1", "I2"]
    windows = requests.get(pair.town.base + "/api/v1/halls/T1/windows", timeout=5).json()
    assert [(w["code"], w["item_codes"]) for w in windows] == [
        ("T1-1", ["I1", "I2"]), ("T1-2", ["I1", "I2"])]
    assert sorted(r[0] for r in pair.town.rows("SELECT username FROM users")) == [
        "clerk-T1-1", "clerk-T1-2", "sup-T1"]  # never the county's or T2's accounts
    assert pair.town.scalar("SELECT count(*) FROM windows WHERE code = 'C1-1'") == 0
    clerk = pair.clerk("T1-1")
    pair.issue(2)
    pair.wait_synced()
    pair.county.stop()

    pair.issue(8)
    pair.issue(3, item="I2")
    _work_at_window(pair, clerk, 4)
    clerk.act("POST", "call-next")
    clerk.act("POST", "no-show")
    clerk.act("PUT", "state", {"state": "paused", "reason": "午休"})
    offline = pair.snapshot(pair.town)
    assert len(offline["tickets"]) == 13
    assert pair.town_head() > pair.town_acked()  # queued, not sent
    # The township's supervisor (an account synced from the county) sees the link state.
    token = requests.post(pair.town.base + "/api/v1/auth/token",
                          json={"username": "sup-T1", "password": PASSWORD}, timeout=5).json()
    link = requests.get(pair.town.base + "/api/v1/sync/status", timeout=5,
                        headers={"Authorization": f"Bearer {token['token']}"}).json()
    assert link["role"] == "township" and link["linked"] is True
    assert link["connected"] is False and link["last_error"]
    assert link["unsent_backlog"] == pair.town_head() - pair.town_acked() > 0

    pair.county.start()
    pair.wait_synced()
    at_county = pair.snapshot(pair.county)
    for table in ("tickets", "windows", "audit_log"):
        assert at_county[table] == offline[table], table
    assert at_county["events"] == offline["events"]
    done = pair.county.rows("SELECT number, status FROM tickets WHERE status = 'done' "
                            "ORDER BY number")
    assert done == [("A001", "done"), ("A002", "done"), ("A003", "done"), ("A004", "done")]
    assert pair.county.scalar("SELECT state FROM windows WHERE code = 'T1-1'") == "paused"

    # The county supervisor's view shows the link.
    token = requests.post(pair.county.base + "/api/v1/auth/token",
                          json={"username": "supervisor", "password": PASSWORD},
                          timeout=5).json()["token"]
    status = requests.get(pair.county.base + "/api/v1/sync/status", timeout=5,
                          headers={"Authorization": f"Bearer {token}"}).json()
    t1 = next(n for n in status["nodes"] if n["node"] == "T1")
    assert t1["unsent_backlog"] == 0 and t1["last_sync_at"] and t1["linked"] is True


def test_township_killed_mid_push_loses_nothing_and_applies_nothing_twice(pair):
    pair.town.env["SERVICE_HALL_SYNC_BATCH"] = "5"
    pair.town.start()
    pair.county.stop()
    pair.issue_offline(150)  # queued while the county is away
    head = pair.town_head()
    assert head == 150
    expected = pair.snapshot(pair.town)

    pair.county.start()
    applied = wait_for(lambda: pair.county_applied() or None, 30, "the first batch",
                       interval=0.005)
    pair.town.kill()
    assert 0 < applied < head, "the kill must land while batches are still being pushed"
    killed_at = pair.county_applied()
    assert killed_at < head

    pair.town.start()
    pair.wait_synced(60)
    at_county = pair.snapshot(pair.county)
    assert len(at_county["tickets"]) == len(expected["tickets"]) == 150
    assert at_county["tickets"] == expected["tickets"]
    assert at_county["audit_log"] == expected["audit_log"]
    # Events are recorded again at the county: a double apply would show up as extra events.
    assert at_county["events"] == expected["events"]
    assert pair.county.scalar("SELECT max(seq) FROM events WHERE hall_id = :h",
                              h=_id(pair, "T1")) == 150


def _id(pair, code):
    return pair.county.scalar("SELECT id FROM halls WHERE code = :c", c=code)


def _rename_item(node, name: str) -> float:
    with node.app_context(role="county"):
        from sqlalchemy import select

        from service_hall.catalog.models import ServiceItem
        from service_hall.extensions import db
        item = db.session.scalars(select(ServiceItem).where(ServiceItem.code == "I1")).one()
        item.name = name
        db.session.commit()
        return time.monotonic()


def _town_item_name(pair) -> str:
    return pair.town.scalar("SELECT name FROM service_items WHERE code = 'I1'")


def test_catalog_change_reaches_a_linked_township_within_two_seconds(pair):
    pair.town.start()
    changed = _rename_item(pair.county, "居民身份证换领")
    wait_for(lambda: _town_item_name(pair) == "居民身份证换领", 2.0, "the renamed item")
    assert time.monotonic() - changed <= 2.0
    items = requests.get(pair.town.base + "/api/v1/halls/T1/items", timeout=5).json()
    assert items[0]["name"] == "居民身份证换领"

    # Made while the link is down: it arrives when the township reconnects by itself.
    pair.county.stop()
    _rename_item(pair.county, "居民身份证挂失")
    time.sleep(0.5)
    assert _town_item_name(pair) == "居民身份证换领"
    pair.county.start()
    wait_for(lambda: _town_item_name(pair) == "居民身份证挂失", 10, "the change after reconnect")


def test_township_unlinked_for_days_sends_its_whole_history_when_linked(unlinked_pair):
    pair = unlinked_pair
    pair.town.env["SERVICE_HALL_SYNC_POLL"] = "0.3"
    pair.town.start()  # an unlinked node still gets its catalog
    pair.issue_offline(4, days_ago=(5, 4, 3, 2, 1))
    pair.issue(2)  # and today, over HTTP
    time.sleep(1.5)  # several sync rounds: nothing may be pushed while unlinked
    assert pair.county.scalar("SELECT count(*) FROM tickets") == 0
    assert pair.town_acked() == 0 and pair.town_head() == 22

    with pair.county.app_context(role="county"):  # what ``hall link T1`` does
        from realtime.sync.county import set_linked
        from service_hall.extensions import db
        set_linked("T1", True)
        db.session.commit()
    pair.wait_synced(30)
    history = pair.snapshot(pair.town)
    at_county = pair.snapshot(pair.county)
    assert len(at_county["tickets"]) == 22
    assert at_county["tickets"] == history["tickets"]
    assert at_county["events"] == history["events"]
    days = pair.county.rows("SELECT service_day, count(*) FROM tickets GROUP BY service_day "
                            "ORDER BY service_day")
    assert [n for _, n in days] == [4, 4, 4, 4, 4, 2]


def _ticket_row(hall_id, item_id, *, ticket_id="7d1a1f86-1111-4b1e-9a11-000000000001"):
    return {"id": ticket_id, "hall_id": str(hall_id), "service_day": "2026-11-27",
            "number": "A999", "item_id": str(item_id), "status": "waiting",
            "green_channel": False, "transferred_in": False, "queue_at": "2026-11-27T01:00:00+00:00",
            "issued_at": "2026-11-27T01:00:00+00:00", "call_count": 0, "reactivated": False,
            "track_token": "forged-" + ticket_id[-6:]}


def test_a_node_token_cannot_push_records_of_another_township(pair):
    hall_t2 = _id(pair, "T2")
    hall_t1 = _id(pair, "T1")
    item = pair.county.scalar("SELECT id FROM service_items WHERE code = 'I1'")
    county_ticket = pair.county.scalar("SELECT count(*) FROM tickets")
    assert county_ticket == 0

    with pytest.raises(socketio.exceptions.ConnectionError):
        bad = socketio.Client(reconnection=False)
        bad.connect(pair.county.base, namespaces=["/sync"], transports=["websocket"],
                    auth={"node": "T2", "token": pair.tokens["T1"]}, wait_timeout=1)

    client = socketio.Client(reconnection=False)
    client.connect(pair.county.base, namespaces=["/sync"], transports=["websocket"],
                   auth={"node": "T1", "token": pair.tokens["T1"]}, wait_timeout=5)
    try:
        def push(origin, row, table="tickets"):
            entry = {"seq": 1, "origin": origin, "at": "2026-11-27T01:00:00+00:00",
                     "changes": [{"t": table, "id": row["id"], "op": "upsert", "row": row}]}
            return client.call("push", {"entries": [entry], "head": 1}, namespace="/sync",
                               timeout=10)

        claimed = push("T2", _ticket_row(hall_t2, item))
        assert claimed["error"]["code"] == "origin_mismatch" and claimed["acked"] == 0
        disguised = push("T1", _ticket_row(hall_t2, item))
        assert disguised["error"]["code"] == "out_of_scope"
        catalog = push("T1", {"id": str(item), "name": "篡改", "code": "I1"}, "service_items")
        assert catalog["error"]["code"] == "not_owner"
        accepted = push("T1", _ticket_row(hall_t1, item))
        assert accepted == {"acked": 1}
        replay = push("T1", _ticket_row(hall_t1, item))
        assert replay == {"acked": 1}  # the same seq again is skipped, not applied twice
    finally:
        client.disconnect()
    assert pair.county.rows("SELECT number, hall_id FROM tickets") == [("A999", hall_t1)]
