"""Service windows (SPEC 3.3) and the items each serves."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db

WINDOW_STATES = ("closed", "idle", "serving", "paused", "away")
STATES_NEEDING_REASON = ("paused", "away")

window_items = Table(
    "window_items",
    db.metadata,
    Column("window_id", ForeignKey("windows.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("service_items.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Window(IdMixin, db.Model):
    __tablename__ = "windows"
    # Owned by the node serving the hall: state changes go up, with the items it serves.
    __sync__ = "up"
    __table_args__ = (UniqueConstraint("hall_id", "number"),)

    code: Mapped[str] = mapped_column(String(40), unique=True)
    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # None: a comprehensive window (综合窗口) serving items of several departments.
    department_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("departments.id"))
    state: Mapped[str] = mapped_column(String(10), default="closed")
    state_reason: Mapped[str] = mapped_column(String(200), default="")
    state_since: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    paused_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    signed_in_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id"))
    current_ticket_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("tickets.id", use_alter=True))
    # Position in the green/ordinary interleaving cycle (see windows.queue).
    mix_cycle: Mapped[int] = mapped_column(Integer, default=0)

    hall: Mapped[Hall] = relationship()
    department: Mapped[Optional[Department]] = relationship()
    items: Mapped[list[ServiceItem]] = relationship(secondary=window_items, order_by="ServiceItem.code")

    @property
    def comprehensive(self) -> bool:
        return self.department_id is None

    def public(self) -> dict:
        return {"code": self.code, "number": self.number,
                "department": self.department.name if self.department else "综合窗口",
                "state": self.state, "item_codes": [item.code for item in self.items]}
