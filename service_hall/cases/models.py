"""Cases (办件, SPEC 3.4): accepted at a window, put on hold, completed or rejected.

Designed for tens of millions of rows across many counties. Completion statistics read the
completion roll-up (``service_hall.stats.models``), which ``service_hall.stats.rollup`` keeps
from every write to this table, recomputing a hall's day through
``ix_cases_hall_completed (hall_id, completed_on, outcome)``. Open and open-overdue cases are
found through ``ix_cases_hall_open``, a partial index over open cases only: a small set (the
last weeks' promise cases) however many cases the table holds, so even a deployment-wide count
of them reads a few tens of thousands of index entries.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Optional

from sqlalchemy import (Boolean, Date, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, Uuid, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db

CASE_STATUSES = ("accepted", "on_hold", "completed", "rejected")
OPEN_STATUSES = ("accepted", "on_hold")
IS_OPEN = text("status IN ('accepted', 'on_hold')")  # the predicate of ix_cases_hall_open
HOLD_KINDS = ("materials", "special_procedure")
LIGHT_LEVELS = {"green": 0, "yellow": 1, "red": 2}


class Case(IdMixin, db.Model):
    __tablename__ = "cases"
    __sync__ = "up"  # owned by the node serving the hall (realtime.sync.registry)
    __table_args__ = (
        UniqueConstraint("hall_id", "case_no", name="uq_cases_hall_case_no"),
        Index("ix_cases_hall_completed", "hall_id", "completed_on", "outcome"),
        Index("ix_cases_department_completed", "department_id", "completed_on", "outcome"),
        Index("ix_cases_hall_open", "hall_id", "status", "due_on", postgresql_where=IS_OPEN,
              sqlite_where=IS_OPEN),
        # The month's due cases of a hall (reminder letters, 工作提示函).
        Index("ix_cases_hall_due", "hall_id", "due_on"),
    )

    case_no: Mapped[str] = mapped_column(String(60))
    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"))
    # Copied from the item at acceptance: statistics group by it without a join.
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"))
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_items.id"))
    window_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    ticket_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid, index=True)
    handled_by_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(10), default="accepted")
    kind: Mapped[str] = mapped_column(String(10))
    promised_days: Mapped[int] = mapped_column(Integer)
    accepted_on: Mapped[date] = mapped_column(Date)
    accepted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Due date including the working days of closed holds; an open hold pushes it further
    # while it lasts (computed, see operations.effective_due_on).
    due_on: Mapped[date] = mapped_column(Date)
    held_days: Mapped[int] = mapped_column(Integer, default=0)
    held_since: Mapped[Optional[date]] = mapped_column(Date)
    completed_on: Mapped[Optional[date]] = mapped_column(Date)
    completed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    elapsed_days: Mapped[Optional[int]] = mapped_column(Integer)
    outcome: Mapped[Optional[str]] = mapped_column(String(8))
    light: Mapped[Optional[str]] = mapped_column(String(6))
    warned_level: Mapped[int] = mapped_column(Integer, default=0)
    reject_reason: Mapped[str] = mapped_column(String(500), default="")
    imported: Mapped[bool] = mapped_column(Boolean, default=False)
    # Personal information (SPEC 7): encrypted, with a keyed hash of the ID number for look-ups.
    applicant_name_enc: Mapped[Optional[str]] = mapped_column(Text)
    applicant_id_enc: Mapped[Optional[str]] = mapped_column(Text)
    applicant_id_hash: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    applicant_phone_enc: Mapped[Optional[str]] = mapped_column(Text)

    hall: Mapped[Hall] = relationship()
    item: Mapped[ServiceItem] = relationship()
    department: Mapped[Department] = relationship()
    holds: Mapped[list["CaseHold"]] = relationship(order_by="CaseHold.start_on",
                                                   back_populates="case")

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseHold(IdMixin, db.Model):
    """A stop of the clock (补正 or 特别程序): working days in (start_on, end_on] do not count."""

    __tablename__ = "case_holds"
    __sync__ = "up"
    __sync_parent__ = ("case_id", "cases")  # belongs to the hall of its case

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="materials")
    reason: Mapped[str] = mapped_column(String(500), default="")
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[Optional[date]] = mapped_column(Date)
    working_days: Mapped[Optional[int]] = mapped_column(Integer)

    case: Mapped[Case] = relationship(back_populates="holds")


class CaseCounter(db.Model):
    """Serials of case numbers per hall per acceptance day, bumped by upsert (no duplicates)."""

    __tablename__ = "case_counters"

    hall_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
