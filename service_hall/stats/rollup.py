"""Keeping the completion roll-up (``service_hall.stats.models``) right: one mechanism for every
path that writes a case.

The rule: every (hall, completion day) that a transaction's writes to ``cases`` touch — the day a
case is completed on now, and the day it was completed on before, if any — has its
``completion_days`` rows recomputed from the base rows in ``cases``, and the month of that day
its ``completion_months`` rows from the day rows, in the same transaction, just before it
commits (``settle``). A transaction that writes no case costs nothing.

Which days were touched is noted by two session hooks, not by each path:
- ``after_flush``: ORM changes to a ``Case`` (new, deleted, or a change of status, outcome,
  completion day, hall, department, item or window): window completion, errands, tests;
- ``do_orm_execute``: any INSERT, UPDATE or DELETE statement on ``cases`` run through a session:
  the bulk ``executemany`` inserts of case import and of the demo history
  (``service_hall.cases.history_load``), the upserts and deletes of township sync
  (``realtime.sync.apply``, at the county and at a township receiving handed-down cases), and
  any future correction or reopening, however written. An upsert, UPDATE or DELETE has the
  days its rows had read first, and an UPDATE's rows are read again when settling. An INSERT
  whose rows cannot be seen (``INSERT … SELECT``) is refused rather than silently missed.

Why this and not the alternatives:
- Adding and subtracting one per case would need the exact before and after of every row on
  every path (an upsert from a township does not say what it replaced) and, once wrong, would
  stay wrong. A recomputed day is right whatever happened to it before: a day is a few hundred
  cases of one hall, read through ``ix_cases_hall_completed``, and a transaction that touches
  thousands of days (an import batch, the demo history) recomputes them set-wise, per hall.
- A call in each path would be forgotten by the next path; the hooks see every write made
  through SQLAlchemy's session, which is how this program writes cases. What they cannot see is
  SQL sent past the session: a raw ``COPY`` (``bench/stats_10m.py``), ``psql``. After such a
  load run ``flask --app wsgi hall stats-rollup --rebuild`` (``rebuild``); without
  ``--rebuild`` the command compares the roll-up with the cases and reports any difference.
- Database triggers would see even those, but would put the rule in two SQL dialects, cost a
  trigger per row of a 10,000-row import, and still need the rebuild for bulk loads.

Concurrency: on PostgreSQL ``settle`` takes a transaction-level advisory lock per hall (in a
fixed order) before recomputing, so two transactions completing cases of the same hall settle
one after the other and the second sees the first's committed cases (READ COMMITTED takes a new
snapshot per statement). The lock is held only from ``settle`` to the commit. SQLite serialises
writers anyway. ``rebuild`` locks both roll-up tables against concurrent settles.
"""
from __future__ import annotations

import time
from datetime import date, timedelta
from itertools import islice

from sqlalchemy import (Date, Integer, and_, cast, delete, event, func, insert, select, text,
                        true)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.sql.functions import FunctionElement

from service_hall.cases.models import Case
from service_hall.db import watches_statements
from service_hall.stats.models import NO_WINDOW, CompletionDay, CompletionMonth

PENDING = "service_hall.stats.rollup_pending"  # session.info: hall id -> set of days
UPDATED = "service_hall.stats.rollup_updated"  # session.info: ids of cases updated by statement
CASES = Case.__table__
DAYS = CompletionDay.__table__
MONTHS = CompletionMonth.__table__
# Changing any of these on a completed case moves it between roll-up rows.
KEYS = ("status", "outcome", "completed_on", "hall_id", "department_id", "item_id", "window_id")
LOCK_NAMESPACE = 0x5354  # first key of the advisory locks taken here ("ST")
CHUNK = 500


class first_of_month(FunctionElement):
    """The first day of a date's month, as a date, in either dialect."""
    type = Date()
    inherit_cache = True


@compiles(first_of_month)
def _first_of_month_pg(element, compiler, **kw):
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(first_of_month, "sqlite")
def _first_of_month_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


# -- noting what a transaction touches ---------------------------------------------------------

def note(session: Session, hall_id, day: date | None) -> None:
    """Mark one hall's day for recomputing before this transaction commits."""
    if hall_id is not None and day is not None:
        session.info.setdefault(PENDING, {}).setdefault(hall_id, set()).add(day)


def _note_all(session: Session, halls, days) -> None:
    for hall_id in halls:
        for day in days:
            note(session, hall_id, day)


def _values(history) -> set:
    return {v for v in (*history.added, *history.unchanged, *history.deleted) if v is not None}


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    for obj in session.new:
        if isinstance(obj, Case):
            note(session, obj.hall_id, obj.completed_on)
    for obj in session.deleted:
        if isinstance(obj, Case):
            _note_all(session, _values(get_history(obj, "hall_id")),
                      _values(get_history(obj, "completed_on")))
    for obj in session.dirty:
        if isinstance(obj, Case) and any(get_history(obj, key).has_changes() for key in KEYS):
            # Before and after: a reopened or corrected case leaves its old day too.
            _note_all(session, _values(get_history(obj, "hall_id")),
                      _values(get_history(obj, "completed_on")))


def _rows(parameters) -> list[dict]:
    if isinstance(parameters, dict):
        return [parameters] if parameters else []
    return [row for row in (parameters or []) if isinstance(row, dict)]


def _chunks(values: list, size: int = CHUNK):
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk


def _days_of(session: Session, where) -> dict:
    """id -> (hall id, completion day) of the cases matching ``where``, read before a change."""
    return {row[0]: (row[1], row[2]) for row in session.connection().execute(
        select(CASES.c.id, CASES.c.hall_id, CASES.c.completed_on).where(where))}


watches_statements(lambda table: table == CASES.name)


@event.listens_for(Session, "do_orm_execute")
def _statement(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    stmt = state.statement
    if getattr(getattr(stmt, "table", None), "name", None) != CASES.name:
        return None
    session = state.session
    rows = _rows(state.parameters)
    if state.is_insert:
        if not rows and getattr(stmt, "select", None) is None:
            rows = [stmt.compile().params]  # insert(...).values(one row)
        if not rows or any("hall_id" not in row for row in rows):
            raise RuntimeError("INSERT into cases whose rows the completion roll-up cannot see "
                               "(INSERT … SELECT or multi-row VALUES): pass the rows as "
                               "parameters, or run `hall stats-rollup --rebuild` after a raw load")
        before: dict = {}
        if getattr(stmt, "_post_values_clause", None) is not None:  # ON CONFLICT: an upsert
            ids = [row["id"] for row in rows if row.get("id") is not None]
            for chunk in _chunks(ids):
                before.update(_days_of(session, CASES.c.id.in_(chunk)))
        for row in rows:
            old = before.get(row.get("id"), (None, None))
            _note_all(session, {row.get("hall_id"), old[0]} - {None},
                      {row.get("completed_on"), old[1]} - {None})
        return None
    # UPDATE / DELETE: by primary key per parameter row (ORM bulk by id), or by WHERE.
    ids = [row["id"] for row in rows if row.get("id") is not None]
    before = {}
    for where in ([CASES.c.id.in_(chunk) for chunk in _chunks(ids)] if ids
                  else [stmt.whereclause if stmt.whereclause is not None else true()]):
        before.update(_days_of(session, where))
    for hall_id, day in before.values():
        note(session, hall_id, day)
    if state.is_update:  # and where they are after it: read when settling
        session.info.setdefault(UPDATED, set()).update(before)
    return None


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    settle(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(UPDATED, None)


# -- recomputing -------------------------------------------------------------------------------

def _day_rows(where):
    """Completed cases counted per roll-up key, as an INSERT … SELECT source."""
    return (select(CASES.c.hall_id, CASES.c.completed_on, CASES.c.department_id,
                   CASES.c.item_id, func.coalesce(CASES.c.window_id, NO_WINDOW),
                   CASES.c.outcome, func.count())
            .where(CASES.c.status == "completed", CASES.c.completed_on.is_not(None),
                   CASES.c.outcome.is_not(None), where)
            .group_by(CASES.c.hall_id, CASES.c.completed_on, CASES.c.department_id,
                      CASES.c.item_id, CASES.c.window_id, CASES.c.outcome))


def _month_rows(where):
    month = first_of_month(DAYS.c.completed_on)
    return (select(DAYS.c.hall_id, month, DAYS.c.department_id, DAYS.c.outcome,
                   func.sum(DAYS.c.cases))
            .where(where)
            .group_by(DAYS.c.hall_id, month, DAYS.c.department_id, DAYS.c.outcome))


DAY_COLUMNS = ["hall_id", "completed_on", "department_id", "item_id", "window_id", "outcome",
               "cases"]
MONTH_COLUMNS = ["hall_id", "month", "department_id", "outcome", "cases"]


def _lock_halls(conn, hall_ids) -> None:
    if conn.dialect.name != "postgresql":
        return  # SQLite: one writer at a time already
    keys = sorted({int.from_bytes(h.bytes[:4], "big", signed=True) for h in hall_ids})
    for key in keys:
        conn.execute(select(func.pg_advisory_xact_lock(cast(LOCK_NAMESPACE, Integer),
                                                       cast(key, Integer))))


def settle(session: Session) -> int:
    """Recompute the days (and their months) this transaction touched; returns how many days.
    Runs before every commit; a reader in the same transaction calls it first."""
    if session.new or session.dirty or session.deleted:
        session.flush()  # pending ORM changes note their days first
    for chunk in _chunks(list(session.info.pop(UPDATED, ()))):
        for hall_id, day in _days_of(session, CASES.c.id.in_(chunk)).values():
            note(session, hall_id, day)
    pending: dict = session.info.pop(PENDING, None)
    if not pending:
        return 0
    conn = session.connection()
    _lock_halls(conn, pending)
    for hall_id in sorted(pending, key=str):
        days = sorted(pending[hall_id])
        for chunk in _chunks(days):
            conn.execute(delete(DAYS).where(DAYS.c.hall_id == hall_id,
                                            DAYS.c.completed_on.in_(chunk)))
            conn.execute(insert(DAYS).from_select(DAY_COLUMNS, _day_rows(and_(
                CASES.c.hall_id == hall_id, CASES.c.completed_on.in_(chunk)))))
        months = sorted({month_of(d) for d in days})
        for chunk in _chunks(months):
            conn.execute(delete(MONTHS).where(MONTHS.c.hall_id == hall_id,
                                              MONTHS.c.month.in_(chunk)))
            conn.execute(insert(MONTHS).from_select(MONTH_COLUMNS, _month_rows(and_(
                DAYS.c.hall_id == hall_id,
                DAYS.c.completed_on >= chunk[0], DAYS.c.completed_on <= month_end(chunk[-1]),
                first_of_month(DAYS.c.completed_on).in_(chunk)))))
    return sum(len(days) for days in pending.values())


def _between(column, first: date | None, last: date | None):
    return and_(true(), *([column >= first] if first else []),
                *([column <= last] if last else []))


def rebuild(session: Session, *, start: date | None = None, end: date | None = None) -> dict:
    """Recompute the roll-up from the cases: all of it, or the days in [start, end] (and their
    whole months). For after a load that went past the session (COPY, psql)."""
    settle(session)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE completion_days, completion_months IN EXCLUSIVE MODE"))
    started = time.perf_counter()
    conn.execute(delete(DAYS).where(_between(DAYS.c.completed_on, start, end)))
    conn.execute(insert(DAYS).from_select(DAY_COLUMNS, _day_rows(
        _between(CASES.c.completed_on, start, end))))
    first, last = (month_of(start) if start else None), (month_end(end) if end else None)
    conn.execute(delete(MONTHS).where(_between(MONTHS.c.month, first, last)))
    conn.execute(insert(MONTHS).from_select(MONTH_COLUMNS, _month_rows(
        _between(DAYS.c.completed_on, first, last))))
    if conn.dialect.name == "postgresql":
        conn.execute(text("ANALYZE completion_days, completion_months"))  # plans for new rows
    counted = conn.execute(select(func.count(), func.coalesce(func.sum(DAYS.c.cases), 0))
                           .select_from(DAYS)).one()
    months = conn.execute(select(func.count()).select_from(MONTHS)).scalar()
    return {"day_rows": counted[0], "cases": int(counted[1]), "month_rows": months,
            "seconds": round(time.perf_counter() - started, 1)}


def _differing(conn, fresh, kept) -> set:
    """(hall, day or month) of the rows in one set and not in the other, both ways."""
    pairs = set()
    for one, other in ((fresh, kept), (kept, fresh)):
        diff = one.except_(other).subquery()
        pairs.update(tuple(row) for row in conn.execute(select(*list(diff.c)[:2]).distinct()))
    return pairs


def drift(session: Session, *, limit: int = 20) -> dict:
    """Where the roll-up differs from the cases: (hall, day) pairs whose day rows differ from a
    fresh count, and (hall, month) pairs whose month rows differ from their day rows."""
    settle(session)
    conn = session.connection()
    days = _differing(conn, _day_rows(true()), select(*[DAYS.c[n] for n in DAY_COLUMNS]))
    months = _differing(conn, _month_rows(true()),
                        select(*[MONTHS.c[n] for n in MONTH_COLUMNS]))
    return {"days": len(days), "months": len(months),
            "examples": sorted((str(h), str(d)) for h, d in days | months)[:limit]}
