"""The working-day calendar (SPEC 3.4): one row per date of every covered year."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service_hall.db import UTCDateTime
from service_hall.extensions import db

DAY_KINDS = ("workday", "holiday", "makeup_workday", "weekend")
WORKING_KINDS = ("workday", "makeup_workday")


class CalendarYear(db.Model):
    """A year is covered only when it has a row here (and then a row per date in
    ``calendar_days``). ``revision`` changes on every edit so that each process's cache of
    working days (``service_hall.calendar.rules``) notices edits made by any process."""

    __tablename__ = "calendar_years"
    __sync__ = "down"  # the county keeps the working-day calendar

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(40), default="chinesecalendar")
    updated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class CalendarDay(db.Model):
    __tablename__ = "calendar_days"
    __sync__ = "down"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")
