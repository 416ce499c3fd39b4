"""The county applies a township's entries exactly once, all or nothing, owner-checked."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from kiosks.models import Ticket
from realtime.models import Event
from realtime.sync.apply import SyncRefused, apply_entries
from realtime.sync.capture import node_halls
from realtime.sync.county import register_node
from realtime.sync.models import SyncLink
from service_hall.catalog.models import Hall
from service_hall.extensions import db
from tests.factories import bearer, token_for


@pytest.fixture()
def county(app, factory):
    c1 = factory.hall("C1")
    t1 = factory.hall("T1", "township", parent=c1, linked=True)
    t2 = factory.hall("T2", "township", parent=c1, linked=True)
    department = factory.department(c1, code="C1-D1")
    item = factory.item(department, code="I1", levels=("county", "township"))
    register_node("T1")
    register_node("T2")
    db.session.commit()
    return {"C1": c1.id, "T1": t1.id, "T2": t2.id, "item": item.id}


def _ticket(hall_id, item_id, number="A001", ticket_id=None) -> dict:
    ticket_id = ticket_id or str(uuid.uuid4())
    return {"t": "tickets", "id": ticket_id, "op": "upsert", "row": {
        "id": ticket_id, "hall_id": str(hall_id), "service_day": "2026-11-27", "number": number,
        "item_id": str(item_id), "status": "waiting", "green_channel": False,
        "transferred_in": False, "queue_at": "2026-11-27T01:00:00+00:00",
        "issued_at": "2026-11-27T01:00:00+00:00", "call_count": 0, "reactivated": False,
        "track_token": "tt-" + ticket_id[:8]}}


def _event(hall_id, number) -> dict:
    event_id = str(uuid.uuid4())
    return {"t": "events", "id": event_id, "op": "upsert", "row": {
        "id": event_id, "hall_id": str(hall_id), "hall_code": "T1", "seq": 77,
        "type": "ticket.issued", "at": "2026-11-27T01:00:00+00:00", "audience": "public",
        "data": {"number": number}, "window_code": None, "track_token": None}}


def _entry(seq, *changes, origin="T1") -> dict:
    return {"seq": seq, "origin": origin, "changes": list(changes)}


def _apply(entries, peer="T1"):
    scope = node_halls(db.session, peer)
    try:
        last = apply_entries(db.session, peer=peer, entries=entries, scope=scope)
        db.session.commit()
        return last
    except SyncRefused:
        db.session.rollback()
        raise


def _count(model, **where):
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_entries_apply_once_and_a_resend_is_skipped(county):
    batch = [_entry(1, _ticket(county["T1"], county["item"], "A001"), _event(county["T1"], "A001")),
             _entry(2, _ticket(county["T1"], county["item"], "A002"), _event(county["T1"], "A002"))]
    assert _apply(batch) == 2
    assert _apply(batch) == 2  # the acknowledgement was lost: the same batch comes again
    assert _apply(batch[1:] + [_entry(3, _event(county["T1"], "A003"))]) == 3
    assert _count(Ticket, hall_id=county["T1"]) == 2
    # The township's events are renumbered in the county's log for that hall, once each.
    events = db.session.scalars(select(Event).where(Event.hall_id == county["T1"])
                                .order_by(Event.seq)).all()
    assert [(e.seq, e.data["number"], e.hall_code) for e in events] == [
        (1, "A001", "T1"), (2, "A002", "T1"), (3, "A003", "T1")]
    assert db.session.get(SyncLink, "T1").applied_seq == 3


def test_a_gap_is_refused(county):
    _apply([_entry(1, _ticket(county["T1"], county["item"]))])
    with pytest.raises(SyncRefused) as refused:
        _apply([_entry(3, _ticket(county["T1"], county["item"], "A003"))])
    assert refused.value.code == "gap"
    assert db.session.get(SyncLink, "T1").applied_seq == 1


def test_a_refused_batch_leaves_nothing_behind(county):
    good = _entry(1, _ticket(county["T1"], county["item"], "A001"))
    foreign = _entry(2, _ticket(county["T2"], county["item"], "A002"))
    with pytest.raises(SyncRefused) as refused:
        _apply([good, foreign])
    assert refused.value.code == "out_of_scope"
    assert _count(Ticket) == 0
    assert db.session.get(SyncLink, "T1").applied_seq == 0


def test_records_claiming_another_owner_are_refused(county):
    with pytest.raises(SyncRefused) as refused:
        _apply([_entry(1, _ticket(county["T1"], county["item"]), origin="T2")])
    assert refused.value.code == "origin_mismatch"
    # A row the county holds for another hall cannot be taken over by reusing its id.
    _apply([_entry(1, _ticket(county["T2"], county["item"], "B001"), origin="T2")], peer="T2")
    taken = db.session.scalars(select(Ticket)).one()
    with pytest.raises(SyncRefused) as refused:
        _apply([_entry(1, _ticket(county["T1"], county["item"], "X999", ticket_id=str(taken.id)))])
    assert refused.value.code == "not_owner"
    assert db.session.scalars(select(Ticket)).one().number == "B001"
    with pytest.raises(SyncRefused) as refused:
        _apply([_entry(1, {"t": "service_items", "id": str(county["item"]), "op": "upsert",
                           "row": {"name": "篡改"}})])
    assert refused.value.code == "not_owner"
    with pytest.raises(SyncRefused) as refused:
        _apply([_entry(1, {"t": "sync_links", "id": str(uuid.uuid4()), "op": "upsert",
                           "row": {}})])
    assert refused.value.code == "unknown_table"


def test_malformed_rows_are_refused_not_crashed(county):
    bad = _ticket(county["T1"], county["item"])
    bad["row"]["issued_at"] = "yesterday"
    with pytest.raises(SyncRefused) as refused:
        _apply([_entry(1, bad)])
    assert refused.value.code == "bad_entry"
    with pytest.raises(SyncRefused):
        _apply([{"seq": "one"}])


def test_status_for_supervisors_shows_each_node(client, factory, county):
    _apply([_entry(1, _ticket(county["T1"], county["item"]))])
    link = db.session.get(SyncLink, "T1")
    link.peer_head = 5
    db.session.commit()
    factory.user("supervisor", "supervisor", None)
    factory.user("clerk-x", "clerk", db.session.get(Hall, county["C1"]))
    answer = client.get("/api/v1/sync/status",
                        headers=bearer(token_for(client, "supervisor")))
    assert answer.status_code == 200
    nodes = {n["node"]: n for n in answer.get_json()["nodes"]}
    assert nodes["T1"]["unsent_backlog"] == 4 and nodes["T1"]["applied_seq"] == 1
    assert nodes["T2"]["down_backlog"] == 1  # its snapshot, not yet pulled
    assert client.get("/api/v1/sync/status").status_code == 401
    assert client.get("/api/v1/sync/status",
                      headers=bearer(token_for(client, "clerk-x"))).status_code == 403


def test_node_token_and_link_commands(app, county):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["hall", "node-token", "C1"])
    assert refused.exit_code != 0 and "乡镇" in refused.output
    old_hash = db.session.get(SyncLink, "T1").token_hash
    db.session.rollback()
    rotated = runner.invoke(args=["hall", "node-token", "T1"])
    assert rotated.exit_code == 0 and rotated.output.startswith("node.")
    assert "Token rotated" in rotated.output
    assert db.session.get(SyncLink, "T1").token_hash not in (None, old_hash)
    db.session.rollback()
    unlinked = runner.invoke(args=["hall", "link", "T1", "--off"])
    assert unlinked.exit_code == 0 and "unlinked" in unlinked.output
    assert db.session.get(Hall, county["T1"]).linked is False


def test_status_page_for_supervisors(app, client, factory, county):
    factory.user("supervisor", "supervisor", None)
    factory.user("clerk-y", "clerk", db.session.get(Hall, county["C1"]))
    assert client.get("/sync/status").status_code == 302  # to the sign-in page
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/login", data={"username": "clerk-y", "password": "test-pass"})
    assert client.get("/sync/status").status_code == 403
    client.post("/logout")
    client.post("/login", data={"username": "supervisor", "password": "test-pass"})
    page = client.get("/sync/status")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "乡镇互联同步状态" in text and "大厅T1 (T1)" in text and "大厅T2 (T2)" in text


def _case(hall_id, item, case_no: str) -> dict:
    case_id = str(uuid.uuid4())
    return {"t": "cases", "id": case_id, "op": "upsert", "row": {
        "id": case_id, "case_no": case_no, "hall_id": str(hall_id),
        "department_id": str(item.department_id), "item_id": str(item.id), "status": "accepted",
        "kind": "immediate", "promised_days": 0, "accepted_on": "2026-11-27",
        "accepted_at": "2026-11-27T01:00:00+00:00", "due_on": "2026-11-27", "held_days": 0,
        "warned_level": 0, "reject_reason": "", "imported": False}}


def test_a_conflicting_row_stops_the_queue_and_says_so_in_the_status(client, factory, county):
    """A township's case whose number the county already gave another case of that hall (say,
    numbered before the node existed) is refused as a conflict, not applied, and the reason is
    in the node's sync status until it is resolved."""
    from realtime.sync.county import _apply_push
    from service_hall.cases.models import Case
    from service_hall.catalog.models import ServiceItem
    item = db.session.get(ServiceItem, county["item"])
    held = _case(county["T1"], item, "T1-20261127-0001")
    _apply([_entry(1, held)])
    clash = _case(county["T1"], item, "T1-20261127-0001")
    answer = _apply_push("T1", [_entry(2, _ticket(county["T1"], county["item"]), clash)], 2)
    assert answer["acked"] == 1 and answer["error"]["code"] == "conflict"
    assert "entry 2" in answer["error"]["message"] and "冲突" in answer["error"]["message"]
    assert _count(Case) == 1 and _count(Ticket) == 0  # the whole entry refused
    factory.user("supervisor", "supervisor", None)
    status = client.get("/api/v1/sync/status", headers=bearer(token_for(client, "supervisor")))
    node = {n["node"]: n for n in status.get_json()["nodes"]}["T1"]
    assert node["applied_seq"] == 1 and node["last_error"] == answer["error"]["message"]
    assert "case_no" in node["last_error"] or "uq_cases_hall_case_no" in node["last_error"]
