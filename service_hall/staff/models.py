"""Whereabouts entries (去向牌), the cadres of each village point and its duty roster."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.auth.models import User
from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db

WHEREABOUTS = ("at_post", "meeting", "out", "leave", "villages")
WHEREABOUTS_LABELS = {"at_post": "在岗", "meeting": "开会", "out": "外出办事", "leave": "请假",
                      "villages": "下村"}


class WhereaboutsEntry(IdMixin, db.Model):
    """One turn of a staff member's card on the board, effective from ``starts_on`` (a leave can
    be marked ahead) until the next entry or, when given, the expected return."""

    __tablename__ = "whereabouts"
    __table_args__ = (Index("ix_whereabouts_user_start", "user_id", "starts_on", "set_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    hall_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid, index=True)
    status: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(200), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    expected_return: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class VillageCadre(db.Model):
    """A township cadre assigned to take turns at a village point (its agents take turns too)."""

    __tablename__ = "village_cadres"

    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)

    user: Mapped[User] = relationship()


class RosterDay(db.Model):
    """Who sits at a village point on a working day (exactly one cadre per point and day)."""

    __tablename__ = "roster_days"

    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship()
