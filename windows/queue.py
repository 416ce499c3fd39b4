"""The next-ticket rule of SPEC 3.2 — the one place it lives.

Among waiting tickets of the items a window serves (or transferred to that window):
1. checked-in appointments whose slot has started;
2. tickets transferred in;
3. green channel and ordinary tickets interleaved G:O (default 1:2), never starving either;
within a class, earliest in the queue first. Claims use ``FOR UPDATE SKIP LOCKED`` so that
windows calling at once never get the same ticket.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, false, func, or_, select, true

from kiosks.models import Ticket
from service_hall.clock import service_day
from service_hall.db import lock_rows, param
from service_hall.extensions import db
from windows.models import Window, window_items

CLASSES = ("appointment", "transferred", "green", "ordinary")


def _class_filter(name: str):
    # "= true/false" rather than "IS": the form the indexes on tickets are written for (the
    # columns are NOT NULL, so both mean the same).
    not_special = and_(Ticket.appointment_at.is_(None), Ticket.transferred_in == false())
    return {
        "appointment": Ticket.appointment_at.is_not(None),
        "transferred": and_(Ticket.transferred_in == true(), Ticket.appointment_at.is_(None)),
        "green": and_(not_special, Ticket.green_channel == true()),
        "ordinary": and_(not_special, Ticket.green_channel == false()),
    }[name]


def pattern(ratio: tuple[int, int]) -> list[str]:
    green, ordinary = ratio
    return ["green"] * green + ["ordinary"] * ordinary


def mix_order(cycle: int, ratio: tuple[int, int]) -> tuple[str, str]:
    """The preferred class at this position of the cycle, then the other one."""
    slots = pattern(ratio)
    first = slots[cycle % len(slots)]
    return (first, "ordinary" if first == "green" else "green")


def advance_cycle(cycle: int, taken: str, ratio: tuple[int, int]) -> int:
    """Move past the next slot of the class actually taken, so a class that was empty does not
    lose its turn for ever and the ratio holds while both classes wait."""
    slots = pattern(ratio)
    n = len(slots)
    for step in range(n):
        position = (cycle + step) % n
        if slots[position] == taken:
            return (position + 1) % n
    return cycle % n


def _candidates():
    """Waiting tickets a window may call; parameters ``hall_id``, ``day``, ``window_id``,
    ``now``."""
    served = select(window_items.c.item_id).where(
        window_items.c.window_id == param(Window.id, "window_id"))
    now = param(Ticket.queue_at, "now")
    return (
        select(Ticket)
        .where(
            Ticket.hall_id == param(Ticket.hall_id, "hall_id"),
            Ticket.service_day == param(Ticket.service_day, "day"),
            Ticket.status == "waiting",
            or_(and_(Ticket.target_window_id.is_(None), Ticket.item_id.in_(served)),
                Ticket.target_window_id == param(Window.id, "window_id")),
            or_(Ticket.appointment_at.is_(None), Ticket.appointment_at <= now),
        )
        .order_by(Ticket.queue_at, Ticket.issued_at, Ticket.id)
        .limit(1)
    )


def _claims() -> dict:
    """The claiming statements, built once (call-next is a hot path)."""
    base = _candidates()
    # Appointments, then transfers: one query over both (they are rare, and a partial index
    # each makes finding none free), ordered appointment first, then queue order.
    special = (base.where(or_(_class_filter("appointment"), _class_filter("transferred")))
               .order_by(None)
               .order_by(Ticket.appointment_at.is_(None), Ticket.queue_at, Ticket.issued_at,
                         Ticket.id))
    claims = {"special": lock_rows(special, skip_locked=True)}
    for name in ("green", "ordinary"):
        claims[name] = lock_rows(base.where(_class_filter(name)), skip_locked=True)
    claims["count"] = select(func.count()).select_from(
        base.limit(None).order_by(None).subquery())
    return claims


_CLAIMS = _claims()


def _params(window: Window, now: datetime) -> dict:
    return {"hall_id": window.hall_id, "day": service_day(now), "window_id": window.id,
            "now": now}


def claim_next(window: Window, *, now: datetime, ratio: tuple[int, int]) -> tuple[Ticket, str] | None:
    """Lock and return the ticket this window must call next, with its class, or None."""
    params = _params(window, now)
    ticket = db.session.scalars(_CLAIMS["special"], params).first()
    if ticket is not None:
        return ticket, "appointment" if ticket.appointment_at is not None else "transferred"
    for name in mix_order(window.mix_cycle, ratio):
        ticket = db.session.scalars(_CLAIMS[name], params).first()
        if ticket is not None:
            return ticket, name
    return None


def waiting_for_window(window: Window, *, now: datetime) -> int:
    """How many tickets this window could call now (same rule as :func:`claim_next`)."""
    return db.session.scalar(_CLAIMS["count"], _params(window, now)) or 0
