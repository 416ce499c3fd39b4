"""The event log: every change others must see, numbered per hall with no gaps."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db


class Event(IdMixin, db.Model):
    __tablename__ = "events"
    # A township's events are recorded again in the county's log (renumbered there) so county
    # supervisors see township queues live; the county never sends events down.
    __sync__ = "up"
    __sync_handover__ = False
    __sync_snapshot__ = False
    __table_args__ = (UniqueConstraint("hall_id", "seq"),)

    hall_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    hall_code: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "public": safe for display boards and phones; "staff": staff of the hall only.
    audience: Mapped[str] = mapped_column(String(10), default="public")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Routing only, never sent in the envelope: the window and the ticket an event concerns.
    window_code: Mapped[Optional[str]] = mapped_column(String(40))
    track_token: Mapped[Optional[str]] = mapped_column(String(32))

    def envelope(self) -> dict:
        return {"seq": self.seq, "type": self.type, "hall": self.hall_code,
                "at": self.at.isoformat(), "data": self.data}


class EventCounter(db.Model):
    __tablename__ = "event_counters"

    hall_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
