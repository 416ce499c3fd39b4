"""The completion roll-up answers exactly what the cases say after every path that completes a
case or changes its outcome: completion at a window, import, the demo history, township sync,
a reopening or correction, and a load past the application followed by the rebuild."""
from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import func, insert, select, update

from realtime.sync.apply import apply_entries
from realtime.sync.capture import node_halls
from realtime.sync.county import register_node
from service_hall.calendar.rules import snapshot
from service_hall.cases.history import HistoryParams
from service_hall.cases.history_load import load_history
from service_hall.cases.models import Case
from service_hall.extensions import db
from service_hall.stats import rollup
from service_hall.stats.models import CompletionDay, CompletionMonth
from service_hall.stats.queries import completed_counts, periods
from tests.casework import APPLICANT, IMPORT_TODAY, IMPORTED, freeze_today, seed_2026
from tests.factories import bearer, token_for
from tests.stats.rollup_check import assert_matches, counted

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
# A whole year, a period cut inside months at both ends, one month, one day.
PERIODS = (YEAR, (date(2026, 2, 15), date(2026, 5, 7)), (date(2026, 2, 1), date(2026, 2, 28)),
           (date(2026, 2, 27), date(2026, 2, 27)))


def _all_periods(client, headers, **scope) -> None:
    for start, end in PERIODS:
        assert_matches(client, headers, start=start, end=end, **scope)


@pytest.fixture()
def county(client, factory):
    """County C1 (D1: P5 promise 5 days, IM immediate; D2: P3 promise 3 days) with township
    T1, two county windows with clerks, an admin and a deployment-wide supervisor."""
    seed_2026()
    c1 = factory.hall("C1")
    t1 = factory.hall("T1", "township", parent=c1, linked=True)
    d1 = factory.department(c1, code="D1", name="市场监管局")
    d2 = factory.department(c1, code="D2", name="自然资源局")
    p5 = factory.item(d1, code="P5", prefix="A", kind="promise", promised=5, statutory=20)
    im = factory.item(d1, code="IM", prefix="B", kind="immediate")
    p3 = factory.item(d2, code="P3", prefix="C", kind="promise", promised=3, statutory=10)
    windows = [factory.window(c1, 1, [p5, im], d1), factory.window(c1, 2, [p5, im, p3], d2)]
    clerks = [factory.clerk(w) for w in windows]
    factory.window(t1, 1, [p5, im, p3])
    factory.user("admin", "admin", None)
    factory.user("province", "supervisor", None)
    return {"c1": c1, "t1": t1, "d1": d1, "d2": d2, "p5": p5, "im": im, "p3": p3,
            "windows": windows,
            "clerks": [bearer(token_for(client, c.username)) for c in clerks],
            "admin": bearer(token_for(client, "admin")),
            "sup": bearer(token_for(client, "province"))}


def _accept(client, clerk, item: str) -> str:
    answer = client.post("/api/v1/cases", headers=clerk,
                         json={"item_code": item, "applicant": dict(APPLICANT)})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["id"]


def _complete(client, clerk, case_id: str) -> str:
    answer = client.post(f"/api/v1/cases/{case_id}/complete", headers=clerk)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["outcome"]


def _completed_at_windows(client, county, monkeypatch) -> dict:
    """Cases accepted and completed through the API at both windows; returns their ids."""
    first, second = county["clerks"]
    freeze_today(monkeypatch, date(2026, 2, 13))
    ids = {"early": _accept(client, first, "P5"), "on_time": _accept(client, second, "P5"),
           "late": _accept(client, first, "P5"), "p3": _accept(client, second, "P3"),
           "open": _accept(client, first, "P5")}
    assert _complete(client, first, _accept(client, first, "IM")) == "on_time"
    freeze_today(monkeypatch, date(2026, 2, 26))
    assert _complete(client, first, ids["early"]) == "early"
    freeze_today(monkeypatch, date(2026, 2, 27))
    assert _complete(client, second, ids["on_time"]) == "on_time"
    assert _complete(client, second, ids["p3"]) == "overdue"
    freeze_today(monkeypatch, date(2026, 3, 2))
    assert _complete(client, first, ids["late"]) == "overdue"
    return ids


def test_completion_at_a_window(client, county, monkeypatch):
    _completed_at_windows(client, county, monkeypatch)
    totals = assert_matches(client, county["sup"], start=YEAR[0], end=YEAR[1])
    assert totals == {"early": 1, "on_time": 2, "overdue": 2}
    _all_periods(client, county["sup"])
    _all_periods(client, county["sup"], department="D1")
    assert db.session.scalar(select(func.count()).select_from(CompletionMonth)) > 0


def test_import_adds_to_days_that_already_have_cases(client, county, monkeypatch):
    _completed_at_windows(client, county, monkeypatch)
    freeze_today(monkeypatch, IMPORT_TODAY)
    rows = [dict(row, hall_code=hall) for row, _, _ in IMPORTED for hall in ("C1", "T1")]
    answer = client.post("/api/v1/cases/import", headers=county["admin"], json=rows)
    assert answer.status_code == 201, answer.get_json()
    # Feb 27 now holds cases completed at a window and imported ones (without a window).
    assert counted(start=date(2026, 2, 27), end=date(2026, 2, 27), group_by="window")[None]
    _all_periods(client, county["sup"])
    _all_periods(client, county["sup"], hall="T1")
    _all_periods(client, county["sup"], department="D2")


def test_history_generation(client, county):
    params = HistoryParams(start=date(2026, 9, 21), today=IMPORT_TODAY, cases_per_day=60, seed=3,
                           tickets=False, ratings=False)
    assert load_history(county["c1"], params, snapshot()).created
    db.session.commit()
    for start, end in (YEAR, (date(2026, 9, 21), date(2026, 10, 31)),
                       (date(2026, 10, 15), date(2026, 11, 26))):
        assert_matches(client, county["sup"], start=start, end=end)
        assert_matches(client, county["sup"], start=start, end=end, hall="T1")


def _case_row(county, *, hall="T1", status="completed", completed_on=None, outcome=None,
              case_id=None, accepted_on="2026-11-02") -> dict:
    case_id = case_id or str(uuid.uuid4())
    hall_id = str(county["t1"].id if hall == "T1" else county["c1"].id)
    return {"t": "cases", "id": case_id, "op": "upsert", "row": {
        "id": case_id, "case_no": f"{hall}-{case_id[:8]}", "hall_id": hall_id,
        "department_id": str(county["d1"].id), "item_id": str(county["p5"].id),
        "window_id": None, "ticket_id": None, "handled_by_user_id": None, "status": status,
        "kind": "promise", "promised_days": 5, "accepted_on": accepted_on,
        "accepted_at": None, "due_on": "2026-11-09", "held_days": 0, "held_since": None,
        "completed_on": completed_on, "completed_at": None,
        "elapsed_days": None, "outcome": outcome, "light": None, "warned_level": 0,
        "reject_reason": "", "imported": False}}


def test_township_sync_apply(client, county):
    register_node("T1")
    db.session.commit()
    scope = node_halls(db.session, "T1")
    seq = iter(range(1, 100))

    def push(*changes):
        apply_entries(db.session, peer="T1", scope=scope,
                      entries=[{"seq": next(seq), "origin": "T1", "changes": list(changes)}])
        db.session.commit()
        _all_periods(client, county["sup"])
        _all_periods(client, county["sup"], hall="T1")

    first = _case_row(county, completed_on="2026-11-06", outcome="early")
    second = _case_row(county, status="accepted")
    push(first, second, _case_row(county, completed_on="2026-11-06", outcome="on_time"))
    # The open case completed at the township; the first one corrected to another day.
    push(_case_row(county, case_id=second["id"], completed_on="2026-11-10", outcome="overdue"),
         _case_row(county, case_id=first["id"], completed_on="2026-10-30", outcome="on_time",
                   accepted_on="2026-10-26"))
    assert counted(start=date(2026, 11, 6), end=date(2026, 11, 6), hall="T1")[None] == {
        "on_time": 1}
    push({"t": "cases", "id": second["id"], "op": "delete",
          "row": {"id": second["id"], "hall_id": str(county["t1"].id)}})
    assert counted(start=date(2026, 11, 10), end=date(2026, 11, 10))[None] == {}


def test_reopen_and_corrections_through_the_session(client, county, monkeypatch):
    ids = _completed_at_windows(client, county, monkeypatch)
    # Reopened (ORM): the case leaves Feb 26 — and a reader in the same transaction sees it.
    case = db.session.get(Case, uuid.UUID(ids["early"]))
    case.status, case.completed_on, case.outcome = "accepted", None, None
    db.session.flush()
    assert completed_counts(hall_ids=None, department_id=None, start=date(2026, 2, 26),
                            end=date(2026, 2, 26), group_by=None) == []
    db.session.commit()
    _all_periods(client, county["sup"])
    # Corrected by a bulk UPDATE statement: another day and another outcome.
    db.session.execute(update(Case).where(Case.id == uuid.UUID(ids["late"]))
                       .values(completed_on=date(2026, 5, 7), outcome="on_time"))
    db.session.commit()
    _all_periods(client, county["sup"])
    # Corrected by an ORM bulk UPDATE by primary key, and by an UPDATE … RETURNING.
    db.session.execute(update(Case), [{"id": uuid.UUID(ids["p3"]), "outcome": "on_time",
                                       "completed_on": date(2026, 3, 31)}])
    returned = db.session.scalars(update(Case).where(Case.id == uuid.UUID(ids["late"]))
                                  .values(completed_on=date(2026, 4, 1)).returning(Case.id))
    assert returned.all() == [uuid.UUID(ids["late"])]
    db.session.commit()
    _all_periods(client, county["sup"])
    assert counted(start=date(2026, 3, 31), end=date(2026, 4, 1), group_by="item") == {
        "P3": {"on_time": 1}, "P5": {"on_time": 1}}
    # Moved to another window and department (ORM).
    case = db.session.get(Case, uuid.UUID(ids["on_time"]))
    case.window_id, case.department_id = county["windows"][0].id, county["d2"].id
    db.session.commit()
    _all_periods(client, county["sup"])
    _all_periods(client, county["sup"], department="D2")


def test_a_load_past_the_application_is_found_and_rebuilt(app, client, county, monkeypatch):
    _completed_at_windows(client, county, monkeypatch)
    row = {"id": uuid.uuid4(), "case_no": "C1-RAW-1", "hall_id": county["c1"].id,
           "department_id": county["d1"].id, "item_id": county["p5"].id, "status": "completed",
           "kind": "promise", "promised_days": 5, "accepted_on": date(2026, 4, 1),
           "due_on": date(2026, 4, 9), "held_days": 0, "completed_on": date(2026, 4, 8),
           "outcome": "early", "warned_level": 0, "reject_reason": "", "imported": True}
    db.session.rollback()  # SQLite: the ids above were read in a transaction holding the lock
    with db.engine.begin() as conn:  # like COPY or psql: no session, no hooks
        conn.execute(insert(Case.__table__), row)
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["hall", "stats-rollup"])
    assert checked.exit_code == 1 and "1 hall-days, 0 hall-months" in checked.output
    rebuilt = runner.invoke(args=["hall", "stats-rollup", "--rebuild"])
    assert rebuilt.exit_code == 0 and "6 completed cases" in rebuilt.output, rebuilt.output
    assert runner.invoke(args=["hall", "stats-rollup"]).exit_code == 0
    _all_periods(client, county["sup"])
    # Only some days: the day rows outside them are kept as they are.
    with db.engine.begin() as conn:
        conn.execute(insert(Case.__table__), dict(row, id=uuid.uuid4(), case_no="C1-RAW-2"))
    assert runner.invoke(args=["hall", "stats-rollup", "--rebuild", "--from", "2026-04-08",
                               "--to", "2026-04-08"]).exit_code == 0
    assert runner.invoke(args=["hall", "stats-rollup"]).exit_code == 0


def test_a_write_the_rollup_cannot_see_is_refused(county):
    # Township sync refuses it too (realtime.sync.statements): whichever hook runs first.
    with pytest.raises(RuntimeError, match="cannot see|cannot be synced"):
        db.session.execute(insert(Case.__table__).from_select(
            [c.name for c in Case.__table__.columns], select(Case.__table__)))
    db.session.rollback()


def test_periods_read_whole_months_from_the_month_rows():
    assert periods(date(2025, 1, 1), date(2025, 12, 31), by_month=True) == [
        (CompletionMonth, date(2025, 1, 1), date(2025, 12, 1))]
    assert periods(date(2026, 1, 15), date(2026, 11, 27), by_month=True) == [
        (CompletionMonth, date(2026, 2, 1), date(2026, 10, 1)),
        (CompletionDay, date(2026, 1, 15), date(2026, 1, 31)),
        (CompletionDay, date(2026, 11, 1), date(2026, 11, 27))]
    assert periods(date(2026, 2, 2), date(2026, 3, 30), by_month=True) == [
        (CompletionDay, date(2026, 2, 2), date(2026, 3, 30))]
    assert periods(date(2025, 1, 1), date(2025, 12, 31), by_month=False) == [
        (CompletionDay, date(2025, 1, 1), date(2025, 12, 31))]


@pytest.mark.postgresql_only
def test_concurrent_completions_of_one_hall_day_both_count(app, client, county, monkeypatch):
    """Two transactions complete cases of the same hall and day; the second to settle waits for
    the first (advisory lock) and counts both."""
    ids = [_accept(client, county["clerks"][0], "P5") for _ in range(2)]
    db.session.rollback()
    day = date(2026, 11, 27)
    done = threading.Event()

    def complete(case_id, session):
        session.execute(update(Case).where(Case.id == uuid.UUID(case_id)).values(
            status="completed", completed_on=day, outcome="early"))

    other = db.session.session_factory()
    complete(ids[0], db.session)
    complete(ids[1], other)
    rollup.settle(db.session)  # holds the hall's lock until commit

    def commit_other():
        with app.app_context():
            other.commit()
            other.close()
            done.set()
    thread = threading.Thread(target=commit_other)
    thread.start()
    assert not done.wait(0.5)  # waiting for the hall's lock
    db.session.commit()
    thread.join(10)
    assert done.is_set()
    assert db.session.scalar(select(func.sum(CompletionDay.cases)).where(
        CompletionDay.completed_on == day)) == 2
    assert_matches(client, county["sup"], start=day, end=day)
