"""A hall's voice pack: one recorded clip per announcement segment (``segments.SEGMENTS``)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db


class VoiceSegment(IdMixin, db.Model):
    """Recorded at the county by an administrator and copied down to the node serving the hall
    (like the catalog), so a township's boards speak with its own pack when the link is down."""

    __tablename__ = "voice_segments"
    __sync__ = "down"
    __sync_scope__ = "hall"
    __sync_hall__ = "hall_id"
    __table_args__ = (UniqueConstraint("hall_id", "key", name="uq_voice_segments_hall_key"),)

    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"), index=True)
    key: Mapped[str] = mapped_column(String(20))
    mime: Mapped[str] = mapped_column(String(40))
    audio: Mapped[bytes] = mapped_column(LargeBinary)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
