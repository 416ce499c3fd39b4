"""Ratings (好差评, SPEC 3.5), their configurable reasons, and rectifications (整改)."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.catalog.models import Department, Hall
from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
RECTIFY_LEVELS = (1, 2)
RECTIFICATION_STATUSES = ("open", "closed")


class RatingReason(IdMixin, db.Model):
    __tablename__ = "rating_reasons"
    __sync__ = "down"

    level: Mapped[int] = mapped_column(Integer, index=True)
    text: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Rating(IdMixin, db.Model):
    """One per ticket (visit) and one per case: the unique columns refuse a second one."""

    __tablename__ = "ratings"
    __sync__ = "up"

    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"), index=True)
    department_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("departments.id"))
    window_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    ticket_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid, unique=True)
    case_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid, unique=True)
    level: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(String(500), default="")
    channel: Mapped[str] = mapped_column(String(10))  # "pad" or "qr"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rectification(IdMixin, db.Model):
    """A bad rating (2 or 1) to be rectified by the window's department by ``due_on``."""

    __tablename__ = "rectifications"
    __sync__ = "up"
    __table_args__ = (Index("ix_rectifications_hall_status", "hall_id", "status", "due_on"),)

    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    rating_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ratings.id"), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="open")
    opened_on: Mapped[date] = mapped_column(Date)
    # None while the calendar of the due year is not loaded yet (filled by `hall cases-warn`).
    due_on: Mapped[Optional[date]] = mapped_column(Date)
    result: Mapped[str] = mapped_column(Text, default="")
    closed_on: Mapped[Optional[date]] = mapped_column(Date)
    closed_by_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)

    hall: Mapped[Hall] = relationship()
    department: Mapped[Department] = relationship()
    rating: Mapped[Rating] = relationship()
