"""Seeding the calendar from ``chinesecalendar`` and administrators' edits."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import delete, insert, select

from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.calendar.models import DAY_KINDS, CalendarDay, CalendarYear
from service_hall.calendar.rules import calendar_missing, invalidate
from service_hall.db import utcnow
from service_hall.errors import unprocessable
from service_hall.extensions import db

# The make-up workday and holiday notes are recorded in English by chinesecalendar.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
# The record id of a calendar year in the audit log (audit rows need a UUID).
CALENDAR_NS = uuid.UUID("6f0b7d8e-3c59-4d7e-9a43-cc1a2b5e0f11")


def _dates(year: int):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def kind_from_chinesecalendar(day: date) -> tuple[str, str]:
    """(kind, note) of a date by the State Council's notice as packaged in chinesecalendar."""
    import chinese_calendar
    working = chinese_calendar.is_workday(day)
    _, name = chinese_calendar.get_holiday_detail(day)
    note = HOLIDAY_NAMES.get(name, name or "")
    weekend = day.weekday() >= 5
    if working:
        return ("makeup_workday", f"{note}调休上班" if note else "") if weekend else ("workday", "")
    if name:
        return "holiday", note
    return "weekend", ""


def kind_by_weekday(day: date) -> tuple[str, str]:
    return ("weekend", "") if day.weekday() >= 5 else ("workday", "")


def supported_years() -> tuple[int, int]:
    import chinese_calendar
    years = sorted({d.year for d in chinese_calendar.holidays})
    return years[0], years[-1]


def seed_year(year: int, *, weekends_only: bool = False, replace: bool = False) -> bool:
    """Write every date of ``year``; False when the year is present and ``replace`` is off.

    ``weekends_only`` writes Monday–Friday as workdays and Saturday–Sunday as weekend, for an
    administrator to add the holidays of a year chinesecalendar does not know yet."""
    existing = db.session.get(CalendarYear, year)
    if existing is not None and not replace:
        return False
    if weekends_only:
        rule, source = kind_by_weekday, "weekdays"
    else:
        low, high = supported_years()
        if not low <= year <= high:
            raise unprocessable(f"chinesecalendar 只有 {low}–{high} 年的数据 (chinesecalendar "
                                f"covers {low}–{high} only; use --weekends-only and edit the "
                                f"holidays by hand)", "calendar_unavailable")
        rule, source = kind_from_chinesecalendar, "chinesecalendar"
    db.session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                 CalendarDay.day <= date(year, 12, 31)))
    rows = []
    for day in _dates(year):
        kind, note = rule(day)
        rows.append({"day": day, "kind": kind, "note": note})
    db.session.execute(insert(CalendarDay), rows)
    if existing is None:
        existing = CalendarYear(year=year)
        db.session.add(existing)
    existing.revision, existing.source, existing.updated_at = uuid.uuid4().hex, source, utcnow()
    db.session.flush()
    invalidate()
    return True


def seed_calendar(from_year: int | None = None, to_year: int | None = None, **kw) -> list[int]:
    """Seed the given years (default: every year chinesecalendar covers); returns those written."""
    low, high = supported_years()
    first = from_year or low
    last = to_year or max(high, first)
    if last < first:
        raise unprocessable("结束年份早于开始年份 (to-year is before from-year)", "invalid_years")
    return [year for year in range(first, last + 1) if seed_year(year, **kw)]


def set_day(day: date, kind: str, note: str, *, actor: Actor) -> CalendarDay:
    """An administrator sets a date's kind (e.g. a new make-up workday)."""
    if kind not in DAY_KINDS:
        raise unprocessable(f"kind 须为 {', '.join(DAY_KINDS)} 之一", "invalid_kind")
    year = db.session.get(CalendarYear, day.year)
    row = db.session.get(CalendarDay, day)
    if year is None or row is None:
        raise calendar_missing(day.year)
    before = row.kind
    row.kind, row.note = kind, note
    year.revision, year.updated_at = uuid.uuid4().hex, utcnow()
    audit(actor, "calendar.set_day", "calendar_day", uuid.uuid5(CALENDAR_NS, day.isoformat()),
          from_state=before, to_state=kind, details={"day": day.isoformat(), "note": note})
    db.session.flush()
    return row


def year_days(year: int) -> list[CalendarDay]:
    if db.session.get(CalendarYear, year) is None:
        raise calendar_missing(year)
    return list(db.session.scalars(select(CalendarDay).where(
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)))
