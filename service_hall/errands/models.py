"""Errands (代办): one villager's request carried by an agent from a village point to a hall."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.cases.models import Case
from service_hall.catalog.models import Hall, ServiceItem
from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db

ERRAND_STATUSES = ("logged", "submitted", "accepted", "completed", "returned")
# The case's end: completed (办结) or refused (不予办理); either way the result goes back.
ERRAND_RESULTS = ("completed", "rejected")


class Errand(IdMixin, db.Model):
    __tablename__ = "errands"
    # Owned by the node serving the village point (its township node, if it runs one).
    __sync__ = "up"
    __sync_hall__ = "point_hall_id"
    # Handed to the county, it becomes a county case: the township node gets a copy of it.
    __sync_carry__ = ("case_id",)
    __table_args__ = (
        Index("ix_errands_point_status", "point_hall_id", "status"),
        Index("ix_errands_target_status", "target_hall_id", "status"),
    )

    errand_no: Mapped[str] = mapped_column(String(60), unique=True)
    # The village point where it was logged: the only point whose agents see it.
    point_hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"))
    # The township or county hall it was handed to (set at submission).
    target_hall_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("halls.id"))
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_items.id"))
    status: Mapped[str] = mapped_column(String(10), default="logged")
    result: Mapped[Optional[str]] = mapped_column(String(10))
    track_token: Mapped[str] = mapped_column(String(32), unique=True)
    materials: Mapped[list] = mapped_column(JSON, default=list)   # materials received
    note: Mapped[str] = mapped_column(String(500), default="")
    logged_by_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    logged_on: Mapped[date] = mapped_column(Date)
    logged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    accepted_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    completed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    returned_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    case_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("cases.id"), unique=True)
    # Personal information (SPEC 7), exactly as for case applicants (service_hall.privacy).
    villager_name_enc: Mapped[str] = mapped_column(Text)
    villager_id_enc: Mapped[str] = mapped_column(Text)
    villager_id_hash: Mapped[str] = mapped_column(String(64), index=True)
    villager_phone_enc: Mapped[str] = mapped_column(Text)

    point: Mapped[Hall] = relationship(foreign_keys=[point_hall_id])
    target: Mapped[Optional[Hall]] = relationship(foreign_keys=[target_hall_id])
    item: Mapped[ServiceItem] = relationship()
    case: Mapped[Optional[Case]] = relationship()


class ErrandCounter(db.Model):
    """Serials of errand numbers per village point per day, bumped by upsert."""

    __tablename__ = "errand_counters"

    hall_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
