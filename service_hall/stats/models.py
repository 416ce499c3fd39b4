"""The completion roll-up (SPEC 3.4 figures over millions of cases): counts of completed cases,
derived from ``cases`` and kept by ``service_hall.stats.rollup`` (read its docstring first).

Two grains, each a plain count per key:
- ``completion_days``: per (hall, completion day, department, item, window, outcome); answers
  every grouping of ``GET /stats/completion`` (department, item, window, hall, month) for any
  period;
- ``completion_months``: the same summed per (hall, month, department, outcome); answers the
  whole months of a long period (a province's year is a few tens of thousands of rows).

Derived data: no foreign keys, never synced (each node derives its own from its cases), and
rebuilt from the cases by ``flask --app wsgi hall stats-rollup --rebuild``.
"""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Date, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from service_hall.extensions import db

# A case completed without a window (imported from an old system) counts under this window id:
# a primary-key column cannot be null.
NO_WINDOW = uuid.UUID(int=0)


class CompletionDay(db.Model):
    __tablename__ = "completion_days"
    __table_args__ = (
        # Deployment-wide periods (no hall filter) and one department across halls.
        Index("ix_completion_days_completed_on", "completed_on"),
        Index("ix_completion_days_department", "department_id", "completed_on"),
    )

    hall_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    completed_on: Mapped[date] = mapped_column(Date, primary_key=True)
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    window_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(8), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)


class CompletionMonth(db.Model):
    __tablename__ = "completion_months"
    __table_args__ = (
        Index("ix_completion_months_month", "month"),
    )

    hall_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the first day of the month
    department_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(8), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
