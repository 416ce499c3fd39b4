"""Tickets (SPEC 3.2), their per-hall per-prefix per-day counters and idempotency keys."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.catalog.models import Hall, ServiceItem
from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db

TICKET_STATUSES = ("waiting", "called", "serving", "done", "no_show", "transferred", "cancelled")
OPEN_STATUSES = ("waiting", "called", "serving")


class Ticket(IdMixin, db.Model):
    __tablename__ = "tickets"
    __sync__ = "up"  # owned by the node serving the hall (realtime.sync.registry)
    __table_args__ = (
        # The call-next scan: waiting tickets of a hall's day, in queue order.
        Index("ix_tickets_queue", "hall_id", "service_day", "status", "item_id", "queue_at"),
        Index("ix_tickets_hall_day_number", "hall_id", "service_day", "number"),
        # call-next (windows/queue.py) walks a class of waiting tickets in queue order and stops
        # at the first one the window serves: green/ordinary by this index, no sort...
        Index("ix_tickets_call_order", "hall_id", "service_day", "status", "green_channel",
              "queue_at", "issued_at", "id"),
        # ...and the rare classes by partial indexes, so that finding none costs nothing.
        Index("ix_tickets_appointments", "hall_id", "service_day", "status", "queue_at",
              postgresql_where=text("appointment_at IS NOT NULL"),
              sqlite_where=text("appointment_at IS NOT NULL")),
        Index("ix_tickets_transfers", "hall_id", "service_day", "status", "queue_at",
              postgresql_where=text("transferred_in = true"),
              sqlite_where=text("transferred_in = 1")),
        # The wait estimate's "recent service times": latest finished tickets of a hall first.
        Index("ix_tickets_recent_done", "hall_id", "status", "finished_at"),
    )

    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"))
    service_day: Mapped[date] = mapped_column(Date)
    number: Mapped[str] = mapped_column(String(8))
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_items.id"))
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    green_channel: Mapped[bool] = mapped_column(Boolean, default=False)
    # A checked-in appointment: callable first once its slot has started.
    appointment_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    transferred_in: Mapped[bool] = mapped_column(Boolean, default=False)
    transferred_from_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    # Set when transferred to one window: only that window may call it.
    target_window_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("windows.id"))
    window_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("windows.id"), index=True)
    queue_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    called_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    first_called_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    reactivated: Mapped[bool] = mapped_column(Boolean, default=False)
    track_token: Mapped[str] = mapped_column(String(32), unique=True)
    issued_by_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    issued_by_device_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)

    hall: Mapped[Hall] = relationship()
    item: Mapped[ServiceItem] = relationship()
    # Not a column: the waiting-ahead count taken while issuing, so the kiosk's answer needs no
    # second query (set by ``kiosks.operations.issue_ticket`` on the new instance only).
    ahead_at_issue = None
    window: Mapped[Optional["Window"]] = relationship(foreign_keys=[window_id])  # noqa: F821

    def staff_json(self) -> dict:
        return {"id": str(self.id), "number": self.number, "status": self.status,
                "item_code": self.item.code,
                "window_number": self.window.number if self.window else None,
                "issued_at": self.issued_at.isoformat(),
                "called_at": self.called_at.isoformat() if self.called_at else None,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "green_channel": self.green_channel, "call_count": self.call_count,
                "transferred_in": self.transferred_in,
                "service_day": self.service_day.isoformat()}

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketCounter(db.Model):
    """One row per (hall, key, day), bumped by upsert: ticket serials per prefix, daily caps per item."""

    __tablename__ = "ticket_counters"

    hall_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(db.Model):
    """A kiosk's ``Idempotency-Key``: a retry returns the ticket the first request issued."""

    __tablename__ = "idempotency_keys"

    hall_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    ticket_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
