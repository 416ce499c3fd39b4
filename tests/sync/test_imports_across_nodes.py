"""Case imports across a real county and township (two server processes, two databases): an
import at the township reaches the county, an import at the county for the township's hall
reaches the township, exactly once, however large the one transaction is."""
from __future__ import annotations

import json
import secrets
import time
import uuid
from datetime import date, timedelta

import pytest
import requests
import socketio

from realtime.sync import parts
from tests.sync.nodes import PASSWORD, Node, fresh_folder, wait_for
from tests.sync.scenario import make_pair


@pytest.fixture()
def pair():
    """The township prunes what the county confirmed at once (keep 0 days), every 0.2 s."""
    made = make_pair(fresh_folder(), town_env={"SERVICE_HALL_SYNC_POLL": "0.3",
                                               "SERVICE_HALL_SYNC_KEEP_DAYS": "0",
                                               "SERVICE_HALL_SYNC_PRUNE_INTERVAL": "0.2"})
    _seed_for_import(made.county)
    yield made
    made.close()


@pytest.fixture()
def small_parts_pair():
    """Parts of 50 kB: a few MB of JSON compress ~17 times, and still go in several parts."""
    small = {"SERVICE_HALL_SYNC_PART_BYTES": "50000"}
    made = make_pair(fresh_folder(), town_env={"SERVICE_HALL_SYNC_POLL": "0.3", **small},
                     county_env=small)
    _seed_for_import(made.county)
    yield made
    made.close()


def _seed_for_import(county: Node) -> None:
    """At the county: calendars around today, a 5-working-day item, an admin for T1's hall and
    one for the county (reach T1's node like any county change)."""
    from sqlalchemy import select

    from service_hall.calendar.operations import seed_year
    from service_hall.catalog.models import Department, Hall
    from service_hall.extensions import db
    from tests.factories import Factory
    with county.app_context(role="county") as app:
        f = Factory(app)
        for year in range(date.today().year - 1, date.today().year + 2):
            seed_year(year, weekends_only=True)
        db.session.commit()
        department = db.session.scalars(select(Department).where(
            Department.code == "C1-D1")).one()
        f.item(department, code="P5", prefix="C", kind="promise", promised=5, statutory=20,
               levels=("county", "township"))
        halls = {h.code: h for h in db.session.scalars(select(Hall))}
        f.user("admin-T1", "admin", halls["T1"])
        f.user("admin", "admin", halls["C1"])


def _rows(n: int, *, days_ago: int) -> list[dict]:
    """``n`` completed past cases of T1 accepted over 20 days from ``days_ago`` days back; every
    fifth with a hold."""
    rows = []
    for k in range(n):
        accepted = date.today() - timedelta(days=days_ago - k % 20)
        row = {"item_code": "P5", "hall_code": "T1", "accepted_on": accepted.isoformat(),
               "completed_on": (accepted + timedelta(days=12)).isoformat()}
        if k % 5 == 0:
            row["holds"] = [{"from": (accepted + timedelta(days=1)).isoformat(),
                             "to": (accepted + timedelta(days=3)).isoformat()}]
        rows.append(row)
    return rows


def _import(node: Node, username: str, rows: list[dict]) -> list[dict]:
    token = requests.post(node.base + "/api/v1/auth/token", timeout=10,
                          json={"username": username, "password": PASSWORD}).json()["token"]
    answer = requests.post(node.base + "/api/v1/cases/import", json=rows, timeout=120,
                           headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text[:2000]
    return answer.json()


CASES = "SELECT * FROM cases WHERE hall_id = :h ORDER BY case_no"
HOLDS = ("SELECT h.* FROM case_holds h JOIN cases c ON c.id = h.case_id WHERE c.hall_id = :h "
         "ORDER BY h.id")


def _t1(node: Node):
    return node.scalar("SELECT id FROM halls WHERE code = 'T1'")  # as stored (hex on SQLite)


def _t1_cases(pair, node: Node) -> tuple[list, list]:
    hall = _t1(node)
    return node.rows(CASES, h=hall), node.rows(HOLDS, h=hall)


def _count(node: Node, pair) -> int:
    return node.scalar("SELECT count(*) FROM cases WHERE hall_id = :h", h=_t1(node))


def _down_synced(pair) -> bool:
    head = pair.county.scalar("SELECT value FROM sync_counters WHERE target = 'T1'") or 0
    applied = pair.town.scalar("SELECT applied_seq FROM sync_links WHERE peer = 'county'") or 0
    return head > 0 and applied == head


def _last_entry(node: Node, target: str) -> dict:
    seq, changes = node.rows("SELECT seq, changes FROM sync_outbox WHERE target = :t "
                             "ORDER BY seq DESC", t=target)[0]
    return {"seq": seq, "changes": json.loads(changes) if isinstance(changes, str) else changes}


def _figures(entry: dict) -> str:
    packed = parts.pack(entry, 50000)
    tables = {}
    for change in entry["changes"]:
        tables[change["t"]] = tables.get(change["t"], 0) + 1
    return (f"{parts.wire_size(entry):,} bytes of JSON ({tables}), {len(packed.blob):,} "
            f"compressed, {packed.parts} parts")


def test_cases_imported_at_either_node_reach_the_other_exactly_once(pair):
    pair.town.start()
    wait_for(lambda: pair.town.scalar("SELECT count(*) FROM users WHERE username = 'admin-T1'"),
             10, "T1's admin at the township")

    # At the township, through its import API: up to the county.
    imported = _import(pair.town, "admin-T1", _rows(40, days_ago=60))
    assert len(imported) == 40 and imported[0]["case_no"].startswith("T1-")
    pair.wait_synced(30)
    at_town = _t1_cases(pair, pair.town)
    assert len(at_town[0]) == 40 and len(at_town[1]) == 8
    assert _t1_cases(pair, pair.county) == at_town

    # At the county, for the township's hall (other days: each node numbers its own imports):
    # down to the township, and not sent back up.
    head = pair.town_head()
    _import(pair.county, "admin", _rows(30, days_ago=120))
    wait_for(lambda: _count(pair.town, pair) == 70, 30, "the county's import at the township")
    wait_for(lambda: _down_synced(pair), 10, "the township applying everything")
    assert _t1_cases(pair, pair.town) == _t1_cases(pair, pair.county)
    time.sleep(1)  # a few sync rounds: the county's rows are not echoed back
    assert pair.town_head() == head
    assert _count(pair.county, pair) == 70

    # Pruning: the township keeps nothing the county confirmed (keep 0 days here) ...
    wait_for(lambda: _outbox(pair.town) == [], 5, "the township pruning its outbox")
    # ... and never what it did not: work done while the county is away stays queued.
    pair.county.stop()
    pair.issue(3)
    time.sleep(1)  # several pruning passes
    assert _outbox(pair.town) == [head + 1, head + 2, head + 3]
    # The county prunes (``hall sync-prune``); the link goes on from where it was.
    with pair.county.app_context(role="county"):
        from realtime.sync.prune import prune_outbox
        from service_hall.extensions import db
        assert prune_outbox(db.session, keep=timedelta(0))["T1"] >= 1
    assert _outbox(pair.county, "T1") == []
    pair.county.start()
    pair.wait_synced(30)
    wait_for(lambda: _outbox(pair.town) == [], 5, "the township pruning what was sent")
    assert pair.county.scalar("SELECT count(*) FROM tickets") == 3
    _import(pair.county, "admin", _rows(2, days_ago=150))
    wait_for(lambda: _count(pair.town, pair) == 72, 30, "a county import after pruning")


def test_both_nodes_number_cases_of_one_hall_and_day_without_collision(pair):
    """T1 numbers its cases of day D while the county is down; then, with T1 away, the county
    imports cases of T1's hall for the same day (its own counter, which never learns T1's
    serials). When the link is back every case is at both nodes under its own number and
    neither queue is stuck."""
    day = (date.today() - timedelta(days=30)).isoformat()
    rows = [{"item_code": "P5", "hall_code": "T1", "accepted_on": day}]
    pair.town.start()
    wait_for(lambda: pair.town.scalar("SELECT count(*) FROM users WHERE username = 'admin-T1'"),
             10, "T1's admin at the township")
    pair.county.stop()
    by_town = _import(pair.town, "admin-T1", rows * 3)
    pair.town.stop()
    pair.county.start()
    by_county = _import(pair.county, "admin", rows * 2)
    compact = day.replace("-", "")
    assert [r["case_no"] for r in by_town] == [f"T1-{compact}-{n:04d}" for n in (1, 2, 3)]
    assert [r["case_no"] for r in by_county] == [f"T1-{compact}-C{n:04d}" for n in (1, 2)]

    pair.town.start()
    pair.wait_synced(30)
    wait_for(lambda: _down_synced(pair), 30, "the township applying the county's cases")
    numbers = sorted(r["case_no"] for r in by_town + by_county)
    for node in (pair.county, pair.town):
        assert sorted(n for n, in node.rows("SELECT case_no FROM cases WHERE hall_id = :h",
                                            h=_t1(node))) == numbers
    assert _t1_cases(pair, pair.town) == _t1_cases(pair, pair.county)
    assert pair.county.scalar("SELECT last_error FROM sync_links WHERE peer = 'T1'") == ""
    assert pair.town.scalar("SELECT last_error FROM sync_links WHERE peer = 'county'") == ""


def _outbox(node: Node, target: str = "county") -> list[int]:
    return [seq for seq, in node.rows("SELECT seq FROM sync_outbox WHERE target = :t "
                                      "ORDER BY seq", t=target)]


def test_an_import_of_several_megabytes_in_one_transaction_travels_both_ways(
        small_parts_pair):
    """One township transaction of 5,000 cases is one outbox entry of several MB, several
    times what one Socket.IO message may carry: it goes up in parts, is applied once; the same
    at the county for the township's hall, pulled down in parts."""
    pair = small_parts_pair
    pair.town.start()
    wait_for(lambda: pair.town.scalar("SELECT count(*) FROM users WHERE username = 'admin-T1'"),
             10, "T1's admin at the township")

    started = time.monotonic()
    _import(pair.town, "admin-T1", _rows(5000, days_ago=60))
    up = _last_entry(pair.town, "county")
    assert parts.wire_size(up) > 3 * parts.MESSAGE_LIMIT  # one entry, several MB of JSON
    pair.wait_synced(120)
    up_seconds = time.monotonic() - started
    assert _count(pair.county, pair) == 5000
    assert _t1_cases(pair, pair.county) == _t1_cases(pair, pair.town)

    started = time.monotonic()
    _import(pair.county, "admin", _rows(5000, days_ago=120))
    down = _last_entry(pair.county, "T1")
    assert parts.wire_size(down) > 3 * parts.MESSAGE_LIMIT
    wait_for(lambda: _down_synced(pair), 120, "the county's import at the township")
    down_seconds = time.monotonic() - started
    assert _count(pair.town, pair) == 10000
    assert _t1_cases(pair, pair.town) == _t1_cases(pair, pair.county)
    print(f"\nup: {_figures(up)}; imported and applied in {up_seconds:.1f}s\n"
          f"down: {_figures(down)}; imported and applied in {down_seconds:.1f}s")


def _ticket_entry(seq: int, hall_id, item_id, number: str) -> dict:
    ticket_id = f"7d1a1f86-2222-4b1e-9a11-{seq:012d}"
    return {"seq": seq, "origin": "T1", "at": "2026-11-27T01:00:00+00:00", "changes": [
        {"t": "tickets", "id": ticket_id, "op": "upsert", "row": {
            "id": ticket_id, "hall_id": str(hall_id), "service_day": "2026-11-27",
            "number": number, "item_id": str(item_id), "status": "waiting",
            "green_channel": False, "transferred_in": False,
            "queue_at": "2026-11-27T01:00:00+00:00", "issued_at": "2026-11-27T01:00:00+00:00",
            "call_count": 0, "reactivated": False, "track_token": f"tt-{seq}",
            "padding": secrets.token_hex(1500)}}]}  # an unknown column, ignored: several parts


def test_the_county_puts_an_entry_together_from_its_parts_exactly_once(pair):
    """The part protocol against the real county, with a raw node client: parts out of order
    or not matching their digest are refused and nothing is applied; a complete entry is
    applied once; sent again, it is answered at its first part."""
    hall = pair.hall_ids["T1"]
    item = pair.county.scalar("SELECT id FROM service_items WHERE code = 'I1'")
    item = item if len(str(item)) == 36 else str(uuid.UUID(hex=item))
    client = socketio.Client(reconnection=False)
    client.connect(pair.county.base, namespaces=["/sync"], transports=["websocket"],
                   auth={"node": "T1", "token": pair.tokens["T1"]}, wait_timeout=5)

    def send(packed, numbers, **override):
        answers = []
        for n in numbers:
            message = {**packed.header(), "part": n, "data": packed.part(n), "head": 1,
                       **override}
            answers.append(client.call("push_part", message, namespace="/sync", timeout=10))
        return answers

    try:
        packed = parts.pack(_ticket_entry(1, hall, item, "A901"), size=600)
        assert packed.parts >= 3
        out_of_order = send(packed, [0, 2])
        assert out_of_order[0] == {"part": 0}
        assert out_of_order[1]["error"]["code"] == "bad_part"
        forged = send(packed, range(packed.parts), digest="0" * 64)
        assert forged[-1]["error"]["code"] == "bad_part" and forged[-1]["acked"] == 0
        assert pair.county.scalar("SELECT count(*) FROM tickets") == 0

        applied = send(packed, range(packed.parts))
        assert applied[:-1] == [{"part": n} for n in range(packed.parts - 1)]
        assert applied[-1] == {"acked": 1}
        again = send(packed, [0])
        assert again == [{"acked": 1}]  # already applied: no parts needed
        # A transfer cut off by a disconnect is dropped; the next connection starts over.
        second = parts.pack(_ticket_entry(2, hall, item, "A902"), size=600)
        send(second, [0, 1])
        client.disconnect()
        client = socketio.Client(reconnection=False)
        client.connect(pair.county.base, namespaces=["/sync"], transports=["websocket"],
                       auth={"node": "T1", "token": pair.tokens["T1"]}, wait_timeout=5)
        assert send(second, [2])[0]["error"]["code"] == "bad_part"
        assert send(second, range(second.parts))[-1] == {"acked": 2}

        # Down: a node that confirmed everything, whose entries the county then pruned, goes on
        # from there; asking again from the start is refused, not answered with nothing.
        head = client.call("pull", {"after": 0, "limit": 500}, namespace="/sync")["head"]
        assert head >= 1
        assert client.call("pull", {"after": head}, namespace="/sync") == {"entries": [],
                                                                           "head": head}
        with pair.county.app_context(role="county"):
            from realtime.sync.prune import prune_outbox
            from service_hall.extensions import db
            assert prune_outbox(db.session, keep=timedelta(0))["T1"] == head
        assert client.call("pull", {"after": head}, namespace="/sync") == {"entries": [],
                                                                           "head": head}
        assert client.call("pull", {"after": 0}, namespace="/sync")["error"]["code"] == "pruned"
    finally:
        client.disconnect()
    assert pair.county.rows("SELECT number FROM tickets ORDER BY number") == [("A901",),
                                                                               ("A902",)]
    assert pair.county_applied() == 2
