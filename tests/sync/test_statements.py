"""Statements on synced tables run through the session (not the ORM flush) are captured:
against the model or its Core table, inserts, updates and deletes; what cannot be followed is
refused."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import bindparam, delete, insert, select, update

from realtime.sync.county import register_node
from realtime.sync.statements import UncapturedWrite
from service_hall.cases.models import Case, CaseHold
from service_hall.db import insert_for
from service_hall.extensions import db
from tests.conftest import as_township
from tests.sync.test_capture import _catalog, _entries
from windows.models import Window, window_items


def _case_row(hall_id, department_id, item_id, number: str, **extra) -> dict:
    return {"id": uuid.uuid4(), "case_no": number, "hall_id": hall_id,
            "department_id": department_id, "item_id": item_id, "status": "completed",
            "kind": "promise", "promised_days": 5, "accepted_on": date(2026, 2, 13),
            "due_on": date(2026, 2, 27), "completed_on": date(2026, 2, 26), "held_days": 0,
            "elapsed_days": 4, "outcome": "early", "warned_level": 0, "reject_reason": "",
            "imported": True, **extra}


def _changes(target: str, table: str) -> dict:
    return {c["id"]: c for e in _entries(target) for c in e.changes if c["t"] == table}


def test_a_township_core_insert_of_cases_and_holds_goes_up_in_one_entry(app, factory):
    _county, t1, _t2, department, item = _catalog(factory)
    ids = (t1.id, department.id, item.id)
    with as_township("T1"):
        rows = [_case_row(*ids, f"T1-20260213-{n:04d}") for n in range(1, 4)]
        holds = [{"id": uuid.uuid4(), "case_id": rows[0]["id"], "kind": "materials",
                  "reason": "导入", "start_on": date(2026, 2, 16), "end_on": date(2026, 2, 17),
                  "working_days": 1}]
        db.session.execute(insert(Case.__table__), rows)      # as case import does
        db.session.execute(insert(CaseHold.__table__), holds)
        db.session.commit()
        entry, = _entries("county")
        assert [c["t"] for c in entry.changes] == ["cases"] * 3 + ["case_holds"]
        cases = _changes("county", "cases")
        assert sorted(c["row"]["case_no"] for c in cases.values()) == [
            "T1-20260213-0001", "T1-20260213-0002", "T1-20260213-0003"]
        assert cases[str(rows[0]["id"])]["row"]["outcome"] == "early"
        hold, = _changes("county", "case_holds").values()
        assert hold["row"]["case_id"] == str(rows[0]["id"])

        # A Core update of those rows, and a Core delete of a hold (its hall is its case's).
        db.session.execute(update(Case.__table__).where(Case.__table__.c.case_no.like("%-0002"))
                           .values(reject_reason="更正"))
        db.session.execute(delete(CaseHold.__table__))
        db.session.commit()
        last = _entries("county")[-1].changes
        assert [(c["t"], c["op"]) for c in last] == [("cases", "upsert"), ("case_holds", "delete")]
        assert last[0]["row"]["reject_reason"] == "更正"
        assert last[1]["id"] == str(holds[0]["id"])


def test_a_county_core_insert_is_handed_to_the_township_of_the_rows(app, factory):
    county, t1, t2, department, item = _catalog(factory)
    register_node("T1")
    register_node("T2")
    db.session.commit()
    t1_rows = [_case_row(t1.id, department.id, item.id, f"T1-20260213-{n:04d}")
               for n in range(1, 1201)]  # more than one read of 500 at commit
    own = [_case_row(county.id, department.id, item.id, "C1-20260213-0001")]
    db.session.execute(insert(Case.__table__), t1_rows + own)
    db.session.commit()
    cases = _changes("T1", "cases")
    assert len(cases) == 1200 and len(_entries("T1")) == 2  # snapshot, then the import
    assert {c["row"]["hall_id"] for c in cases.values()} == {str(t1.id)}
    assert _changes("T2", "cases") == {}  # T2's halls got nothing; the county's rows go nowhere

    # Executemany updates with a bound WHERE are read row set by row set (windows here: the
    # completion roll-up's own hook on cases does not take this form).
    windows = Window.__table__
    ours, theirs = factory.window(t1, 1, [item], department), factory.window(county, 1, [item],
                                                                             department)
    db.session.execute(update(windows).where(windows.c.id == bindparam("b_id"))
                       .values(state=bindparam("b_state")),
                       [{"b_id": ours.id, "b_state": "paused"},
                        {"b_id": theirs.id, "b_state": "paused"}])
    db.session.commit()
    last = _entries("T1")[-1].changes
    assert [(c["row"]["code"], c["row"]["state"]) for c in last] == [("T1-1", "paused")]


def test_a_row_deleted_and_inserted_again_in_one_transaction_is_sent_as_it_ends(app, factory):
    _county, t1, _t2, department, item = _catalog(factory)
    register_node("T1")
    db.session.commit()
    row = _case_row(t1.id, department.id, item.id, "T1-20260213-0001")
    db.session.execute(insert(Case.__table__), [row])
    db.session.commit()
    db.session.execute(delete(Case.__table__).where(Case.__table__.c.id == row["id"]))
    db.session.execute(insert(Case.__table__), [{**row, "outcome": "overdue"}])
    db.session.commit()
    change, = _entries("T1")[-1].changes
    assert (change["op"], change["row"]["outcome"]) == ("upsert", "overdue")


def test_window_items_written_by_statement_travel_with_their_window(app, factory):
    county, t1, _t2, department, item = _catalog(factory)
    other = factory.item(department, code="I2", levels=("county", "township"))
    window = factory.window(t1, 1, [item], department)
    register_node("T1")
    db.session.commit()
    db.session.execute(insert(window_items), [{"window_id": window.id, "item_id": other.id}])
    db.session.commit()
    change, = _entries("T1")[-1].changes
    assert change["t"] == "windows" and change["row"]["@items"] == sorted(
        [str(item.id), str(other.id)])
    db.session.execute(delete(window_items).where(window_items.c.item_id == item.id))
    db.session.commit()
    assert _entries("T1")[-1].changes[0]["row"]["@items"] == [str(other.id)]
    db.session.execute(insert(window_items).values(window_id=window.id, item_id=item.id))
    db.session.commit()
    assert len(_entries("T1")[-1].changes[0]["row"]["@items"]) == 2


def test_statements_that_cannot_be_followed_are_refused(app, factory):
    county, t1, _t2, department, item = _catalog(factory)
    register_node("T1")
    db.session.commit()
    cases = Case.__table__
    with pytest.raises(UncapturedWrite, match="INSERT … SELECT"):
        db.session.execute(insert(cases).from_select(
            [c.name for c in cases.columns], select(cases)))
    db.session.rollback()
    row = _case_row(t1.id, department.id, item.id, "T1-20260213-0001")
    upsert = insert_for(db.session)(cases).values(row)
    with pytest.raises(UncapturedWrite, match="must conflict on id"):
        db.session.execute(upsert.on_conflict_do_update(index_elements=["hall_id", "case_no"],
                                                        set_={"outcome": "overdue"}))
    db.session.rollback()
    without_key = {k: v for k, v in row.items() if k != "id"}
    with pytest.raises(UncapturedWrite, match="must give each row's id"):
        db.session.execute(insert(cases), [without_key])
    db.session.rollback()
    assert db.session.scalars(select(Case)).all() == []
    # An upsert on the key is followed: the row it names is the row it writes.
    db.session.execute(upsert.on_conflict_do_update(index_elements=["id"],
                                                    set_={"outcome": "overdue"}))
    db.session.commit()
    assert _entries("T1")[-1].changes[0]["row"]["case_no"] == "T1-20260213-0001"
    # Multi-row .values() gives its keys too (calendar days: the completion roll-up refuses
    # this form for cases).
    from service_hall.calendar.models import CalendarDay
    db.session.execute(insert(CalendarDay.__table__).values(
        [{"day": date(2031, 1, 1), "kind": "holiday", "note": "元旦"},
         {"day": date(2031, 1, 2), "kind": "workday", "note": ""}]))
    db.session.commit()
    assert [c["id"] for c in _entries("T1")[-1].changes] == ["2031-01-01", "2031-01-02"]


def test_window_rollover_by_orm_bulk_update_still_reads_rows_once(app, factory):
    """``update(Window)`` by primary key (a list of rows) notes exactly the rows it names."""
    county, t1, _t2, department, item = _catalog(factory)
    w1 = factory.window(t1, 1, [item], department)
    w2 = factory.window(t1, 2, [item], department)
    register_node("T1")
    db.session.commit()
    db.session.execute(update(Window), [{"id": w1.id, "state": "paused"}])
    db.session.commit()
    change, = _entries("T1")[-1].changes
    assert (change["row"]["code"], change["row"]["state"]) == (w1.code, "paused")
    assert w2.state != "paused"


def test_a_transaction_too_large_for_any_node_to_accept_fails_loudly(app, factory,
                                                                     monkeypatch):
    """Above SERVICE_HALL_SYNC_MAX_ENTRY_BYTES the receiver would refuse the entry and the
    queue would stop there for ever: the transaction fails instead, and nothing is written."""
    from realtime.sync.capture import EntryTooLarge
    _county, t1, _t2, department, item = _catalog(factory)
    register_node("T1")
    db.session.commit()
    monkeypatch.setenv("SERVICE_HALL_SYNC_MAX_ENTRY_BYTES", "500000")
    rows = [_case_row(t1.id, department.id, item.id, f"T1-20260213-{n:04d}")
            for n in range(1, 1001)]  # ~800 kB of JSON
    db.session.execute(insert(Case.__table__), rows)
    with pytest.raises(EntryTooLarge, match="split it"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalars(select(Case)).all() == [] and len(_entries("T1")) == 1
    monkeypatch.setenv("SERVICE_HALL_SYNC_MAX_ENTRY_BYTES", "2000000")
    db.session.execute(insert(Case.__table__), rows)
    db.session.commit()
    assert len(_entries("T1")[-1].changes) == 1000
