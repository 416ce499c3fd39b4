"""Users (staff) and devices (kiosks, displays, pads), each scoped to a hall."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.catalog.models import Hall
from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db

ROLES = ("admin", "supervisor", "clerk", "agent")
DEVICE_KINDS = ("kiosk", "display", "pad")


class User(IdMixin, db.Model):
    __tablename__ = "users"
    # Accounts are kept at the county; a township node gets those of its halls.
    __sync__ = "down"
    __sync_scope__ = "hall"
    __sync_exclude__ = ("failed_logins", "locked_until")  # lockout is per node

    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(12))
    # None for county-wide supervisors and admins of the whole deployment.
    hall_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("halls.id"), index=True)
    # A clerk assigned to one window may sign in only there.
    window_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("windows.id", use_alter=True))
    phone: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # Bumped to revoke every bearer token issued so far.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)

    hall: Mapped[Optional[Hall]] = relationship()

    # Flask-Login
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.token_generation}"


class Device(IdMixin, db.Model):
    __tablename__ = "devices"
    __sync__ = "down"
    __sync_scope__ = "hall"

    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))
    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"), index=True)
    window_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("windows.id", use_alter=True))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    hall: Mapped[Hall] = relationship()
