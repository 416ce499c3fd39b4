"""The audit log: who did what to which record, when, from which state to which."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db


class AuditEntry(IdMixin, db.Model):
    __tablename__ = "audit_log"
    __sync__ = "up"
    __table_args__ = (Index("ix_audit_log_record", "record_type", "record_id"),)

    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    hall_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    actor_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    actor_device_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(40))
    record_type: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    from_state: Mapped[Optional[str]] = mapped_column(String(20))
    to_state: Mapped[Optional[str]] = mapped_column(String(20))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
