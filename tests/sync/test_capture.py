"""Changes of synced models are written to the outbox in the same transaction, and routed."""
from __future__ import annotations


from sqlalchemy import select

from kiosks.operations import issue_ticket, rollover
from realtime.sync.county import register_node
from realtime.sync.models import OutboxEntry
from service_hall.auth.actor import SYSTEM
from service_hall.clock import now, service_day
from service_hall.extensions import db
from tests.conftest import as_township
from windows.models import Window


def _catalog(factory):
    county = factory.hall("C1")
    t1 = factory.hall("T1", "township", parent=county, linked=True)
    t2 = factory.hall("T2", "township", parent=county, linked=True)
    department = factory.department(county, code="C1-D1")
    item = factory.item(department, code="I1", levels=("county", "township"))
    return county, t1, t2, department, item




def _entries(target):
    return list(db.session.scalars(select(OutboxEntry).where(OutboxEntry.target == target)
                                   .order_by(OutboxEntry.seq)))


def test_county_without_nodes_keeps_no_outbox(app, factory):
    county, *_rest, item = _catalog(factory)
    issue_ticket(county, item, actor=SYSTEM, now=now())
    db.session.commit()
    assert db.session.scalars(select(OutboxEntry)).all() == []


def test_township_change_enters_the_outbox_with_its_transaction(app, factory):
    county, t1, _t2, department, item = _catalog(factory)
    factory.window(t1, 1, [item], department)
    ids = (county.id, t1.id, item.id)
    with as_township("T1"):
        from service_hall.catalog.models import Hall, ServiceItem
        hall = db.session.get(Hall, ids[1])
        local_item = db.session.get(ServiceItem, ids[2])
        issue_ticket(hall, local_item, actor=SYSTEM, now=now())
        db.session.rollback()
        assert _entries("county") == []  # rolled back: nothing queued, no seq used

        first, _ = issue_ticket(hall, local_item, actor=SYSTEM, now=now())
        db.session.commit()
        issue_ticket(hall, local_item, actor=SYSTEM, now=now())
        db.session.commit()
        # A county-hall row changed here is not this node's to send.
        issue_ticket(db.session.get(Hall, ids[0]), local_item, actor=SYSTEM, now=now())
        db.session.commit()

        entries = _entries("county")
        assert [e.seq for e in entries] == [1, 2]
        assert entries[0].origin == "T1"
        tables = [c["t"] for c in entries[0].changes]
        assert sorted(tables) == ["audit_log", "events", "tickets"]
        ticket = next(c for c in entries[0].changes if c["t"] == "tickets")
        assert ticket["id"] == str(first.id) and ticket["row"]["number"] == "A001"
        assert ticket["row"]["hall_id"] == str(ids[1])


def test_bulk_update_of_synced_rows_is_captured(app, factory):
    _county, t1, _t2, department, item = _catalog(factory)
    window = factory.window(t1, 1, [item], department)
    ids = (t1.id, item.id, window.id)
    with as_township("T1"):
        from datetime import timedelta

        from service_hall.catalog.models import Hall, ServiceItem
        ticket, _ = issue_ticket(db.session.get(Hall, ids[0]), db.session.get(ServiceItem, ids[1]),
                                 actor=SYSTEM, now=now() - timedelta(days=1))
        local = db.session.get(Window, ids[2])
        local.current_ticket_id, local.state = ticket.id, "serving"
        db.session.commit()
        before = len(_entries("county"))
        assert rollover(before=service_day(), actor=SYSTEM) == 1  # update(Window) in bulk
        db.session.commit()
        last = _entries("county")[-1]
        assert len(_entries("county")) == before + 1
        windows = [c for c in last.changes if c["t"] == "windows"]
        assert windows and windows[0]["row"]["state"] == "idle"
        assert windows[0]["row"]["current_ticket_id"] is None


def test_bulk_insert_of_synced_rows_is_captured(app, factory):
    """A calendar year loaded after a node registered (``insert(CalendarDay)`` in bulk) reaches
    the node with its days, not only the year row: without them no case can fall due there."""
    import pytest
    from sqlalchemy import insert

    from service_hall.calendar.operations import seed_year
    from service_hall.catalog.models import Hall
    _catalog(factory)
    register_node("T1")
    db.session.commit()
    assert seed_year(2030, weekends_only=True)
    db.session.commit()
    changes = _entries("T1")[-1].changes
    assert [c["row"]["year"] for c in changes if c["t"] == "calendar_years"] == [2030]
    days = {c["row"]["day"]: c["row"]["kind"] for c in changes if c["t"] == "calendar_days"}
    assert len(days) == 365
    assert (days["2030-01-04"], days["2030-01-05"]) == ("workday", "weekend")  # Fri, Sat
    # Rows whose key would only be made during the insert cannot be captured: refused.
    with pytest.raises(RuntimeError, match="synced table halls"):
        db.session.execute(insert(Hall), [{"code": "T9", "name": "无主键", "level": "township"}])
    db.session.rollback()


def test_registering_a_node_queues_its_snapshot(app, factory):
    county, t1, _t2, department, item = _catalog(factory)
    factory.window(t1, 1, [item], department)
    factory.window(county, 1, [item], department)
    factory.user("clerk-t1", "clerk", t1)
    factory.user("clerk-c1", "clerk", county)
    token, new = register_node("T1")
    db.session.commit()
    assert new and token.startswith("node.")
    snapshot, = _entries("T1")
    by_table = {}
    for change in snapshot.changes:
        by_table.setdefault(change["t"], []).append(change["row"])
    assert sorted(h["code"] for h in by_table["halls"]) == ["C1", "T1", "T2"]
    assert [u["username"] for u in by_table["users"]] == ["clerk-t1"]
    assert "failed_logins" not in by_table["users"][0]  # node-local column
    assert [w["code"] for w in by_table["windows"]] == ["T1-1"]
    assert by_table["windows"][0]["@items"] == [str(item.id)]
    assert "events" not in by_table and "tickets" not in by_table
    # Parents come before children in the entry.
    order = [c["t"] for c in snapshot.changes]
    assert order.index("halls") < order.index("departments") < order.index("service_items")


def test_an_errand_in_a_county_case_carries_that_case_to_the_township(app, factory):
    """An errand of T1's village point accepted into a county case reaches T1 with a copy of
    the case first (snapshot and later changes alike); T1's own cases are not copied twice."""
    from datetime import date

    from service_hall.cases.models import Case
    from service_hall.clock import now
    from service_hall.errands.models import Errand
    county, t1, _t2, department, item = _catalog(factory)
    point = factory.hall("T1V1", "village", parent=t1)

    def case(hall, number):
        made = Case(case_no=number, hall_id=hall.id, department_id=department.id,
                    item_id=item.id, status="accepted", kind="promise", promised_days=5,
                    accepted_on=date(2026, 11, 2), due_on=date(2026, 11, 9))
        db.session.add(made)
        return made

    def errand(number, target, into):
        made = Errand(errand_no=number, point_hall_id=point.id, target_hall_id=target.id,
                      item_id=item.id, status="accepted", track_token=number[-8:],
                      materials=[], note="", logged_on=date(2026, 11, 2), logged_at=now(),
                      case=into, villager_name_enc="x", villager_id_enc="x",
                      villager_id_hash="x", villager_phone_enc="x")
        db.session.add(made)
        return made

    at_county = errand("DBT1V1-20261102-001", county, case(county, "C1-20261102-001"))
    at_town = errand("DBT1V1-20261102-002", t1, case(t1, "T1-20261102-001"))
    db.session.commit()
    register_node("T1")
    db.session.commit()
    snapshot = [(c["t"], c["row"].get("case_no") or c["row"].get("errand_no"))
                for c in _entries("T1")[-1].changes if c["t"] in ("cases", "errands")]
    assert sorted(snapshot) == [("cases", "C1-20261102-001"), ("cases", "T1-20261102-001"),
                                ("errands", "DBT1V1-20261102-001"),
                                ("errands", "DBT1V1-20261102-002")]  # T1's own case once
    assert snapshot.index(("cases", "C1-20261102-001")) < snapshot.index(
        ("errands", "DBT1V1-20261102-001"))
    at_county.status, at_county.case.status = "completed", "completed"
    at_town.note = "改"
    db.session.commit()
    changes = [(c["t"], c["row"].get("case_no") or c["row"]["errand_no"], c["row"]["status"])
               for c in _entries("T1")[-1].changes]
    assert sorted(changes) == [("cases", "C1-20261102-001", "completed"),
                               ("errands", "DBT1V1-20261102-001", "completed"),
                               ("errands", "DBT1V1-20261102-002", "accepted")]
    assert changes.index(("cases", "C1-20261102-001", "completed")) < changes.index(
        ("errands", "DBT1V1-20261102-001", "completed"))


def test_county_changes_are_routed_to_the_nodes_concerned(app, factory):
    county, t1, t2, department, item = _catalog(factory)
    register_node("T1")
    register_node("T2")
    db.session.commit()
    item.name = "新名称"
    db.session.commit()
    for node in ("T1", "T2"):
        change = _entries(node)[-1].changes
        assert [(c["t"], c["row"]["name"]) for c in change] == [("service_items", "新名称")]
    # Work handed to T1 (a window created for its hall) goes to T1 only; the county's own
    # windows go nowhere.
    factory.window(t1, 2, [item], department)
    factory.window(county, 5, [item], department)
    assert [c["row"]["code"] for c in _entries("T1")[-1].changes] == ["T1-2"]
    assert len(_entries("T2")) == 2
    factory.user("clerk-t2", "clerk", t2)
    assert _entries("T2")[-1].changes[0]["row"]["username"] == "clerk-t2"
    assert len(_entries("T1")) == 3


def test_cases_and_their_holds_sync_by_marking_the_models(app, factory):
    """Cases (hall column) and holds (owned through their case) travel like tickets."""
    from datetime import date

    from sqlalchemy import delete

    from realtime.sync.apply import SyncRefused, apply_entries
    from realtime.sync.capture import node_halls
    from service_hall.cases.models import Case, CaseHold
    _county, t1, t2, department, item = _catalog(factory)
    register_node("T1")
    db.session.commit()
    ids = (t1.id, t2.id, department.id, item.id)

    def new_case(hall_id, number):
        return Case(case_no=number, hall_id=hall_id, department_id=ids[2], item_id=ids[3],
                    status="on_hold", kind="promise", promised_days=5,
                    accepted_on=date(2026, 11, 2), due_on=date(2026, 11, 9))

    with as_township("T1"):
        case = new_case(ids[0], "T1-20261102-001")
        db.session.add(case)
        db.session.add(CaseHold(case=case, kind="materials", reason="缺身份证复印件",
                                start_on=date(2026, 11, 3)))
        db.session.commit()
        entry = _entries("county")[-1]
        assert [c["t"] for c in entry.changes] == ["cases", "case_holds"]
        wire = entry.wire()
        case_id = case.id
    # The county does not have them yet: remove them here, then apply the township's entry.
    db.session.execute(delete(CaseHold))
    db.session.execute(delete(Case))
    db.session.commit()
    scope = node_halls(db.session, "T1")
    apply_entries(db.session, peer="T1", entries=[wire], scope=scope)
    db.session.commit()
    hold = db.session.scalars(select(CaseHold)).one()
    assert hold.case_id == case_id and hold.reason == "缺身份证复印件"
    assert db.session.get(Case, case_id).status == "on_hold"

    # A hold hung on another township's case is refused.
    other = new_case(ids[1], "T2-20261102-001")
    db.session.add(other)
    db.session.commit()
    forged = {"seq": 2, "origin": "T1", "changes": [{"t": "case_holds", "id": str(other.id),
              "op": "upsert", "row": {"id": str(other.id), "case_id": str(other.id),
                                      "kind": "materials", "reason": "x",
                                      "start_on": "2026-11-03"}}]}
    try:
        apply_entries(db.session, peer="T1", entries=[forged], scope=scope)
        raise AssertionError("a hold on T2's case was accepted from T1")
    except SyncRefused as refused:
        assert refused.code == "out_of_scope"
    db.session.rollback()
