"""The history generator (seed-demo --history and bench/stats_10m.py) over 30 days: every row
obeys the rules of SPEC 3.4, the figures are plausible, and a second run adds nothing."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from kiosks.models import Ticket
from service_hall.calendar.operations import seed_calendar
from service_hall.calendar.rules import Hold, outcome, snapshot
from service_hall.cases.history import HistoryParams
from service_hall.cases.history_load import load_history
from service_hall.cases.models import Case, CaseHold
from service_hall.extensions import db
from service_hall.ratings.models import Rating, Rectification

TODAY = date(2026, 11, 27)


@pytest.fixture()
def county(factory):
    seed_calendar(2026, 2026)
    db.session.commit()
    county = factory.hall("C1")
    township = factory.hall("T1", level="township", parent=county, linked=True)
    d1 = factory.department(county, code="D1")
    d2 = factory.department(county, code="D2", name="民政局")
    immediate = factory.item(d1, code="I1", prefix="A")
    promise = factory.item(d1, code="P5", prefix="B", kind="promise", promised=5, statutory=20)
    slow = factory.item(d2, code="P10", prefix="C", kind="promise", promised=10, statutory=20)
    for n in (1, 2):
        factory.clerk(factory.window(county, n, [immediate, promise], d1))
    factory.window(county, 3, [slow], d2)
    factory.window(township, 1, [immediate, promise, slow])
    return county


def params(**kw):
    return HistoryParams(start=date(2026, 10, 28), today=TODAY, cases_per_day=300, seed=7, **kw)


def test_thirty_days_follow_the_rules(app, county):
    result = load_history(county, params(), snapshot())
    db.session.commit()
    cal = snapshot()
    cases = list(db.session.scalars(select(Case)))
    assert result.created and result.counts["cases"] == len(cases)
    # 30 days from Oct 28 hold 22 working days; ~300 a day (±10%, weekday factors).
    assert 22 * 300 * 0.8 < len(cases) < 22 * 300 * 1.2
    assert all(cal.is_working_day(c.accepted_on) and c.accepted_on < TODAY for c in cases)
    assert len({(c.hall_id, c.case_no) for c in cases}) == len(cases)
    holds: dict = {}
    for h in db.session.scalars(select(CaseHold)):
        holds.setdefault(h.case_id, []).append(Hold(h.start_on, h.end_on))
    completed = [c for c in cases if c.status == "completed"]
    for c in completed:
        elapsed = cal.elapsed_working_days(c.accepted_on, c.completed_on, holds.get(c.id, []))
        assert c.elapsed_days == elapsed and c.outcome == outcome(elapsed, c.promised_days)
        assert c.due_on == cal.due_on(c.accepted_on, c.promised_days + c.held_days)
        assert c.completed_on < TODAY
    for c in cases:
        if c.status == "on_hold":
            assert holds[c.id][-1].end is None and c.held_since == holds[c.id][-1].start
    outcomes = Counter(c.outcome for c in completed)
    on_time = (outcomes["early"] + outcomes["on_time"]) / len(completed)
    assert 0.95 < on_time < 1.0 and outcomes["overdue"] > 0
    # Open cases: the recent promise cases, with their light as of today.
    opened = [c for c in cases if c.status in ("accepted", "on_hold")]
    assert opened and all(c.kind == "promise" and c.light for c in opened)
    halls = Counter(c.hall_id for c in cases)
    assert len(halls) == 2 and halls[county.id] > 0.8 * len(cases)
    # One ticket per case, numbered per hall, prefix and day without duplicates.
    tickets = list(db.session.scalars(select(Ticket)))
    assert len(tickets) == len(cases)
    assert len({(t.hall_id, t.service_day, t.number) for t in tickets}) == len(tickets)
    ratings = list(db.session.scalars(select(Rating)))
    levels = Counter(r.level for r in ratings)
    assert 0.35 * len(completed) < len(ratings) < 0.55 * len(completed)
    assert levels[5] > levels[4] > levels[3] and levels[5] / len(ratings) > 0.7
    rectifications = list(db.session.scalars(select(Rectification)))
    assert len(rectifications) == levels[1] + levels[2]
    assert all(r.status == "open" or r.closed_on < TODAY for r in rectifications)


def test_a_second_run_adds_nothing(app, county):
    assert load_history(county, params(), snapshot()).created
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Case))
    again = load_history(county, params(), snapshot())
    db.session.commit()
    assert not again.created and again.counts["cases"] == 0
    assert db.session.scalar(select(func.count()).select_from(Case)) == before


def test_same_seed_same_history(app, county):
    from service_hall.cases.history import HistoryGenerator
    from service_hall.cases.history_load import catalog_specs
    halls, items = catalog_specs(county)

    def run():
        generator = HistoryGenerator(halls, items, snapshot(), params(tickets=False))
        return [(c["case_no"], c["outcome"], c["due_on"]) for d in generator.days()
                for c in d.cases]
    assert run() == run()


def test_cli_history_option(app, monkeypatch):
    from tests.casework import freeze_today
    freeze_today(monkeypatch, TODAY)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hall", "seed-demo", "--history", "--history-days", "3"])
    assert result.exit_code == 0, result.output
    assert "History 2026-11-24 – 2026-11-27:" in result.output
    again = runner.invoke(args=["hall", "seed-demo", "--history", "--history-days", "3"])
    assert "History already present: nothing added." in again.output
