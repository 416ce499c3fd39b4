"""Completion and live figures for supervisors (SPEC 3.4, 4).

Completed, early, on-time and overdue counts come from the completion roll-up
(``service_hall.stats.models``, kept by ``service_hall.stats.rollup``), never from the base
rows: a province's year is 5 million cases but a few tens of thousands of roll-up rows. A period
is answered from ``completion_months`` for the whole months inside it and from
``completion_days`` for the days at either end; groupings by item or window read
``completion_days`` only (the month rows are per department). Open and open-overdue cases come
from ``cases`` through ``ix_cases_hall_open``, a partial index over open cases only: a small,
bounded set, whose figures change with today, not with a completion.

Rates (SPEC 3.4) over completed cases: on_time_rate = (early + on_time) / completed,
early_rate = early / completed, overdue_rate = overdue / completed; null when completed = 0.
Open cases are those open now that were accepted on or before ``to``; open-overdue are those of
them whose clock has passed the due date (see ``open_overdue_clause``).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import and_, case as sql_case, func, or_, select

from service_hall.calendar.rules import WorkingCalendar
from service_hall.cases.models import OPEN_STATUSES, Case
from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.extensions import db
from service_hall.stats import rollup
from service_hall.stats.models import NO_WINDOW, CompletionDay, CompletionMonth
from windows.models import Window

GROUPS = ("department", "window", "item", "month", "hall")
_OPEN_COLUMN = {"department": Case.department_id, "window": Case.window_id,
                "item": Case.item_id, "hall": Case.hall_id}
_DAY_COLUMN = {"department": CompletionDay.department_id, "window": CompletionDay.window_id,
               "item": CompletionDay.item_id, "hall": CompletionDay.hall_id,
               "month": rollup.first_of_month(CompletionDay.completed_on)}
_MONTH_COLUMN = {"department": CompletionMonth.department_id, "hall": CompletionMonth.hall_id,
                 "month": CompletionMonth.month}


def open_overdue_clause(last_working_day: date):
    """A running clock is overdue once a working day passed after the due date; a stopped one
    (on hold) is overdue if it stopped after the due date."""
    return or_(and_(Case.status == "accepted", Case.due_on < last_working_day),
               and_(Case.status == "on_hold", Case.held_since > Case.due_on))


def rates(counts: dict) -> dict:
    completed = counts["early"] + counts["on_time"] + counts["overdue"]
    ratio = (lambda n: round(n / completed, 4)) if completed else (lambda n: None)
    return {"completed": completed, "early": counts["early"], "on_time": counts["on_time"],
            "overdue": counts["overdue"], "on_time_rate": ratio(counts["early"] + counts["on_time"]),
            "early_rate": ratio(counts["early"]), "overdue_rate": ratio(counts["overdue"]),
            "open": counts["open"], "open_overdue": counts["open_overdue"]}


def _blank() -> dict:
    return {"early": 0, "on_time": 0, "overdue": 0, "open": 0, "open_overdue": 0}


def periods(start: date, end: date, *, by_month: bool) -> list[tuple]:
    """How [start, end] is read: (roll-up table, first, last) parts. Whole calendar months
    inside the period come from the month rows when ``by_month``; the days at either end, or
    all days, from the day rows."""
    first = start if start.day == 1 else rollup.month_end(start) + timedelta(days=1)
    last = end if end == rollup.month_end(end) else end.replace(day=1) - timedelta(days=1)
    if not by_month or first > last:
        return [(CompletionDay, start, end)]
    parts = [(CompletionMonth, first, last.replace(day=1))]
    if start < first:
        parts.append((CompletionDay, start, first - timedelta(days=1)))
    if last < end:
        parts.append((CompletionDay, last + timedelta(days=1), end))
    return parts


def completed_counts(*, hall_ids: list | None, department_id, start: date, end: date,
                     group_by: str | None) -> list[tuple]:
    """(group key or None, outcome, cases) of the cases completed in [start, end]."""
    rollup.settle(db.session)  # this transaction's own writes first (a reader after a write)
    rows = []
    for model, first, last in periods(start, end, by_month=group_by not in ("item", "window")):
        on = CompletionMonth.month if model is CompletionMonth else CompletionDay.completed_on
        key = (_MONTH_COLUMN if model is CompletionMonth else _DAY_COLUMN).get(group_by)
        cols = [key] if key is not None else []
        stmt = (select(*cols, model.outcome, func.sum(model.cases))
                .where(on >= first, on <= last).group_by(*cols, model.outcome))
        if hall_ids is not None:
            stmt = stmt.where(model.hall_id.in_(hall_ids))
        if department_id is not None:
            stmt = stmt.where(model.department_id == department_id)
        for row in db.session.execute(stmt):
            *k, outcome, count = row
            rows.append((k[0] if k else None, outcome, int(count)))
    return rows


def completion(*, hall_ids: list | None, department_id, start: date, end: date,
               group_by: str | None, cal: WorkingCalendar, today: date) -> dict:
    """Counts over cases completed in [start, end] and open cases; optionally grouped."""
    groups: dict = defaultdict(_blank)
    total = _blank()
    for key, outcome, count in completed_counts(hall_ids=hall_ids, department_id=department_id,
                                                start=start, end=end, group_by=group_by):
        total[outcome] += count
        if group_by is not None:
            groups[_bucket(group_by, key)][outcome] += count
    overdue = open_overdue_clause(cal.last_working_day(today))
    open_key = [] if group_by in (None, "month") else [_OPEN_COLUMN[group_by]]
    opened = (select(*open_key, func.count(), func.sum(sql_case((overdue, 1), else_=0)))
              .where(Case.status.in_(OPEN_STATUSES), Case.accepted_on <= end)
              .group_by(*open_key))
    if hall_ids is not None:
        opened = opened.where(Case.hall_id.in_(hall_ids))
    if department_id is not None:
        opened = opened.where(Case.department_id == department_id)
    for row in db.session.execute(opened):
        *k, count, late = row
        total["open"] += count
        total["open_overdue"] += late or 0
        if open_key:
            groups[k[0]]["open"] += count
            groups[k[0]]["open_overdue"] += late or 0
    answer = rates(total)
    if group_by:
        labels = _labels(group_by, list(groups))
        answer["groups"] = [{**labels.get(k, {"key": str(k) if k else None, "name": ""}),
                             **rates(v)}
                            for k, v in sorted(groups.items(), key=lambda kv: str(kv[0]))]
    return answer


def _bucket(group_by: str, value):
    if group_by == "month":
        return (value if isinstance(value, date) else date.fromisoformat(value)).strftime("%Y-%m")
    if group_by == "window" and value == NO_WINDOW:
        return None  # completed without a window (imported)
    return value


def _labels(group_by: str, keys: list) -> dict:
    ids = [k for k in keys if k is not None]
    if group_by == "month":
        return {k: {"key": k, "name": k} for k in keys}
    if group_by == "department":
        rows = db.session.execute(select(Department.id, Department.code, Department.name)
                                  .where(Department.id.in_(ids)))
    elif group_by == "item":
        rows = db.session.execute(select(ServiceItem.id, ServiceItem.code, ServiceItem.name)
                                  .where(ServiceItem.id.in_(ids)))
    elif group_by == "hall":
        rows = db.session.execute(select(Hall.id, Hall.code, Hall.name).where(Hall.id.in_(ids)))
    else:
        rows = db.session.execute(select(Window.id, Window.code, Window.number)
                                  .where(Window.id.in_(ids)))
        return {i: {"key": code, "name": f"{number}号窗口", "number": number}
                for i, code, number in rows}
    return {i: {"key": code, "name": name} for i, code, name in rows}


def live(hall: Hall, *, today: date) -> dict:
    """Waiting per item, window states and the mean wait (issue → first call) of today."""
    from kiosks.models import Ticket
    waiting = db.session.execute(
        select(ServiceItem.code, ServiceItem.name, func.count())
        .join(Ticket, Ticket.item_id == ServiceItem.id)
        .where(Ticket.hall_id == hall.id, Ticket.service_day == today, Ticket.status == "waiting")
        .group_by(ServiceItem.code, ServiceItem.name).order_by(ServiceItem.code)).all()
    windows = db.session.scalars(select(Window).where(Window.hall_id == hall.id)
                                 .order_by(Window.number)).all()
    called = db.session.execute(select(Ticket.issued_at, Ticket.first_called_at).where(
        Ticket.hall_id == hall.id, Ticket.service_day == today,
        Ticket.first_called_at.is_not(None))).all()
    served = db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == hall.id, Ticket.service_day == today, Ticket.status == "done")) or 0
    mean = (round(sum((c - i).total_seconds() for i, c in called) / len(called) / 60, 1)
            if called else None)
    return {"hall": hall.code, "date": today.isoformat(),
            "waiting": [{"item_code": code, "item_name": name, "waiting": n}
                        for code, name, n in waiting],
            "waiting_total": sum(n for _, _, n in waiting),
            "windows": [{"code": w.code, "number": w.number, "state": w.state,
                         "state_reason": w.state_reason} for w in windows],
            "mean_wait_minutes": mean, "called_today": len(called), "served_today": served}
