"""THE working-day rules of SPEC 3.4. Every due date, elapsed time, outcome and traffic light in
the system comes from this module.

- ``due_on(accepted_on, n)``: the Nth working day after the acceptance day (that day not
  counted); n = 0 gives the acceptance day itself (immediate items).
- ``working_days(a, b)``: working days in the half-open interval (a, b].
- ``elapsed_working_days(accepted_on, completed_on, holds)``: working days in
  (accepted_on, completed_on] minus, for each hold, the working days in (hold_from, hold_to];
  a hold still open (hold_to None) runs to ``today``.
- Holds push the due date by their working days: ``due_on(accepted_on, n + held)``.
- ``outcome(elapsed, promised)``: early (<), on_time (=), overdue (>).

Working days are the calendar table's ``workday`` and ``makeup_workday`` dates. A year without
data raises ``calendar_missing`` (422): never guessed.

Speed: a year's working days are loaded once into a sorted tuple of ordinals and answered with
``bisect``; the tuple is cached per process and keyed by the year's ``revision``, which every
edit changes, so one small query (``calendar_years``, ~25 rows) per :func:`snapshot` is all a
computation costs once warm. A bulk import takes one snapshot for a whole batch.
"""
from __future__ import annotations

import threading
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

from sqlalchemy import select

from service_hall.calendar.models import WORKING_KINDS, CalendarDay, CalendarYear
from service_hall.errors import ApiError
from service_hall.extensions import db

OUTCOMES = ("early", "on_time", "overdue")
LIGHTS = ("green", "yellow", "red")

_lock = threading.Lock()
# (database url, year) -> (revision, sorted ordinals of the year's working days)
_cache: dict[tuple[str, int], tuple[str, tuple[int, ...]]] = {}


def calendar_missing(year: int) -> ApiError:
    return ApiError(422, "calendar_missing",
                    f"{year}年的工作日历尚未录入，无法计算时限 (no working-day calendar for year "
                    f"{year}; an administrator must load it first)")


@dataclass(frozen=True)
class Hold:
    start: date             # hold_from: the clock stops after this day
    end: date | None = None  # hold_to: the clock runs again after this day; None = still open


def invalidate() -> None:
    """Forget every cached year (the revision check makes this unnecessary across processes;
    it is here for tests and for the process that seeds)."""
    with _lock:
        _cache.clear()


class WorkingCalendar:
    """The working days of the covered years, as seen at one moment."""

    def __init__(self, session, revisions: dict[int, str]):
        self._session = session
        self._revisions = revisions
        self._key = str(session.get_bind().url)
        self._years: dict[int, tuple[int, ...]] = {}

    def covers(self, year: int) -> bool:
        return year in self._revisions

    def year_days(self, year: int) -> tuple[int, ...]:
        days = self._years.get(year)
        if days is not None:
            return days
        revision = self._revisions.get(year)
        if revision is None:
            raise calendar_missing(year)
        with _lock:
            cached = _cache.get((self._key, year))
        if cached is None or cached[0] != revision:
            rows = self._session.scalars(
                select(CalendarDay.day).where(CalendarDay.day >= date(year, 1, 1),
                                              CalendarDay.day <= date(year, 12, 31),
                                              CalendarDay.kind.in_(WORKING_KINDS))
                .order_by(CalendarDay.day))
            cached = (revision, tuple(d.toordinal() for d in rows))
            with _lock:
                _cache[(self._key, year)] = cached
        self._years[year] = cached[1]
        return cached[1]

    def is_working_day(self, day: date) -> bool:
        days = self.year_days(day.year)
        i = bisect_right(days, day.toordinal())
        return i > 0 and days[i - 1] == day.toordinal()

    def working_days(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end <= start."""
        if end <= start:
            return 0
        if start.year == end.year:
            days = self.year_days(start.year)
            return bisect_right(days, end.toordinal()) - bisect_right(days, start.toordinal())
        first = self.year_days(start.year)
        total = len(first) - bisect_right(first, start.toordinal())
        for year in range(start.year + 1, end.year):
            total += len(self.year_days(year))
        return total + bisect_right(self.year_days(end.year), end.toordinal())

    def due_on(self, accepted_on: date, n: int) -> date:
        """The Nth working day after ``accepted_on`` (which is not counted)."""
        if n < 0:
            raise ValueError("working days must be >= 0")
        year = accepted_on.year
        days = self.year_days(year)  # even for n = 0: an uncovered year is refused, not guessed
        if n == 0:
            return accepted_on
        i = bisect_right(days, accepted_on.toordinal())
        while i + n > len(days):
            n -= len(days) - i
            year += 1
            days, i = self.year_days(year), 0
        return date.fromordinal(days[i + n - 1])

    def held_working_days(self, holds: Iterable[Hold], *, today: date) -> int:
        return sum(self.working_days(h.start, h.end if h.end is not None else today)
                   for h in holds)

    def elapsed_working_days(self, accepted_on: date, completed_on: date,
                             holds: Sequence[Hold] = (), *, today: date | None = None) -> int:
        return (self.working_days(accepted_on, completed_on)
                - self.held_working_days(holds, today=today or completed_on))

    def due_with_holds(self, accepted_on: date, n: int, holds: Sequence[Hold] = (), *,
                       today: date) -> date:
        """Holds push the due date by their working days."""
        return self.due_on(accepted_on, n + self.held_working_days(holds, today=today))

    def last_working_day(self, today: date) -> date:
        """The latest working day on or before ``today``: a case due before it is overdue."""
        year = today.year
        days = self.year_days(year)
        i = bisect_right(days, today.toordinal())
        while i == 0:
            year -= 1
            days = self.year_days(year)
            i = len(days)
        return date.fromordinal(days[i - 1])

    def working_days_left(self, due: date, today: date) -> int:
        """Working days from today to the due date: 0 on the due date, negative once past it."""
        if due >= today:
            return self.working_days(today, due)
        return -self.working_days(due, today)


def snapshot(session=None) -> WorkingCalendar:
    """The calendar as committed now (one small query for the years' revisions)."""
    session = session or db.session
    revisions = dict(session.execute(select(CalendarYear.year, CalendarYear.revision)).all())
    return WorkingCalendar(session, revisions)


def outcome(elapsed: int, promised: int) -> str:
    if elapsed < promised:
        return "early"
    return "on_time" if elapsed == promised else "overdue"


def light(days_left: int, *, yellow_days: int) -> str:
    """Traffic light of an open case: red when overdue, yellow with ≤ ``yellow_days`` left."""
    if days_left < 0:
        return "red"
    return "yellow" if days_left <= yellow_days else "green"


# Module-level shorthands on the current session's calendar.

def due_on(accepted_on: date, n: int) -> date:
    return snapshot().due_on(accepted_on, n)


def elapsed_working_days(accepted_on: date, completed_on: date, holds: Sequence[Hold] = (), *,
                         today: date | None = None) -> int:
    return snapshot().elapsed_working_days(accepted_on, completed_on, holds, today=today)
