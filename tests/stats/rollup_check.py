"""The reference the roll-up is held to: completed cases counted one by one from ``cases``."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import select

from service_hall.cases.models import Case
from service_hall.extensions import db
from service_hall.stats.rollup import drift
from windows.models import Window

OUTCOMES = ("early", "on_time", "overdue")
GROUPINGS = (None, "department", "item", "window", "hall", "month")


def counted(*, start: date, end: date, group_by=None, hall: str | None = None,
            department: str | None = None) -> dict:
    """group key (as the API names it) -> Counter of outcomes, straight from the cases."""
    groups: dict = defaultdict(Counter)
    for case in db.session.scalars(select(Case).where(Case.status == "completed")):
        if not start <= case.completed_on <= end:
            continue
        if hall and case.hall.code != hall or department and case.department.code != department:
            continue
        window = db.session.get(Window, case.window_id) if case.window_id else None
        key = {None: None, "department": case.department.code, "item": case.item.code,
               "hall": case.hall.code, "window": window.code if window else None,
               "month": case.completed_on.strftime("%Y-%m")}[group_by]
        groups[key][case.outcome] += 1
    return groups


def _figures(counter) -> dict:
    return {k: counter.get(k, 0) for k in OUTCOMES}


def assert_matches(client, headers, *, start: date, end: date, hall: str | None = None,
                   department: str | None = None) -> dict:
    """The API's completed figures, ungrouped and in every grouping, equal the cases counted
    one by one, and the roll-up tables have no difference from the cases. Returns the totals."""
    db.session.rollback()
    assert drift(db.session) == {"days": 0, "months": 0, "examples": []}
    db.session.rollback()
    query = f"from={start}&to={end}" + (f"&hall={hall}" if hall else "") + (
        f"&department={department}" if department else "")
    totals = None
    for group_by in GROUPINGS:
        answer = client.get(f"/api/v1/stats/completion?{query}"
                            + (f"&group_by={group_by}" if group_by else ""), headers=headers)
        assert answer.status_code == 200, answer.get_json()
        figures = answer.get_json()
        expected = counted(start=start, end=end, group_by=group_by, hall=hall,
                           department=department)
        total = sum(expected.values(), Counter())
        assert {k: figures[k] for k in OUTCOMES} == _figures(total), (group_by, query)
        completed = sum(total.values())
        assert figures["completed"] == completed
        assert figures["on_time_rate"] == (round((total["early"] + total["on_time"]) / completed, 4)
                                           if completed else None)
        if group_by:
            got = {g["key"]: {k: g[k] for k in OUTCOMES} for g in figures["groups"]
                   if g["completed"]}
            assert got == {k: _figures(v) for k, v in expected.items()}, (group_by, query)
        totals = _figures(total)
    db.session.rollback()  # SQLite: even a read holds the write lock
    return totals
