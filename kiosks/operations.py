"""Issuing tickets (SPEC 3.2): numbering, green channel, idempotency, daily cap, wait estimate."""
from __future__ import annotations

import functools
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kiosks.models import OPEN_STATUSES, IdempotencyKey, Ticket, TicketCounter
from realtime.events import record_event
from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.caching import ProcessCache, process_cache, register
from service_hall.catalog.models import Hall, ServiceItem
from service_hall.clock import service_day
from service_hall.db import bump_counter, execute_direct, new_id, param
from service_hall.errors import ApiError, conflict
from service_hall.extensions import db
from windows.models import Window, window_items

GREEN_PREFIX, APPOINTMENT_PREFIX = "V", "Y"
DEFAULT_SERVICE_MINUTES = 5.0
RECENT_SAMPLE = 50
ESTIMATES, ESTIMATE_TTL = "service_estimates", 30.0


def format_number(prefix: str, serial: int) -> str:
    return f"{prefix}{serial:03d}"


def _claim_idempotency_key(hall: Hall, key: str, now: datetime, ticket_id) -> Ticket | None:
    """Insert the key first, naming the ticket this transaction will issue; if another request
    holds it (even uncommitted), wait for it and return the ticket it issued."""
    claimed = execute_direct(db.session, _claim_statement(db.session.get_bind().dialect.name), {
        "hall_id": hall.id, "key": key, "created_at": now, "ticket_id": ticket_id}).first()
    if claimed is not None:
        return None
    existing = db.session.get(IdempotencyKey, (hall.id, key), populate_existing=True)
    ticket = db.session.get(Ticket, existing.ticket_id) if existing and existing.ticket_id else None
    if ticket is None:
        raise conflict("该请求正在处理，请稍后重试 (request with this Idempotency-Key in progress)",
                       "idempotency_in_progress")
    return ticket


@functools.lru_cache(maxsize=None)
def _claim_statement(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(IdempotencyKey)
            .values({column.key: param(column) for column in (
                IdempotencyKey.hall_id, IdempotencyKey.key, IdempotencyKey.created_at,
                IdempotencyKey.ticket_id)})
            .on_conflict_do_nothing().returning(IdempotencyKey.key))


def issue_ticket(hall: Hall, item: ServiceItem, *, actor: Actor, now: datetime,
                 green_channel: bool = False, appointment_at: datetime | None = None,
                 idempotency_key: str | None = None) -> tuple[Ticket, bool]:
    """Issue the next number for the item's prefix at this hall today (``V`` for the green
    channel, ``Y`` for a checked-in appointment). Returns the ticket and whether it is a replay
    of an earlier request with the same ``Idempotency-Key``."""
    day = service_day(now)
    ticket_id = new_id()
    if idempotency_key:
        earlier = _claim_idempotency_key(hall, idempotency_key, now, ticket_id)
        if earlier is not None:
            return earlier, True
    if item.daily_cap is not None:
        taken = bump_counter(db.session, TicketCounter,
                             {"hall_id": hall.id, "key": f"cap:{item.code}", "day": day})
        if taken > item.daily_cap:
            raise ApiError(409, "daily_cap_reached",
                           f"“{item.name}”今日号源已满 (daily cap of {item.daily_cap} reached)")
    prefix = (APPOINTMENT_PREFIX if appointment_at else GREEN_PREFIX if green_channel
              else item.prefix)
    serial = bump_counter(db.session, TicketCounter,
                          {"hall_id": hall.id, "key": f"no:{prefix}", "day": day})
    ticket = Ticket(
        id=ticket_id, hall_id=hall.id, service_day=day, number=format_number(prefix, serial), item_id=item.id,
        status="waiting", green_channel=green_channel, appointment_at=appointment_at,
        queue_at=now, issued_at=now, track_token=secrets.token_urlsafe(16),
        issued_by_user_id=actor.user_id, issued_by_device_id=actor.device_id)
    ticket.item = item
    db.session.add(ticket)
    db.session.flush()
    audit(actor, "ticket.issue", "ticket", ticket.id, hall_id=hall.id, to_state="waiting",
          details={"number": ticket.number, "item": item.code})
    waiting, ahead = _queue_counts(ticket)
    ticket.ahead_at_issue = ahead
    record_event(db.session, hall, "ticket.issued",
                 {"number": ticket.number, "item_code": item.code, "waiting": waiting},
                 track_token=ticket.track_token)
    return ticket, False


def waiting_count(hall: Hall, item: ServiceItem, day: date) -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == hall.id, Ticket.service_day == day, Ticket.item_id == item.id,
        Ticket.status == "waiting")) or 0


def _ahead_of(queue_at):
    """Waiting tickets of the same item that will be called first: earlier in the queue, or
    transferred in (they go ahead of the ordinary queue)."""
    return or_(Ticket.queue_at < queue_at, Ticket.transferred_in.is_(True))


_QUEUE_COUNTS = (   # built once: it runs for every ticket issued
    select(func.count(), func.coalesce(func.sum(case(
        (_ahead_of(param(Ticket.queue_at)), 1), else_=0)), 0))
    .where(Ticket.hall_id == param(Ticket.hall_id),
           Ticket.service_day == param(Ticket.service_day),
           Ticket.item_id == param(Ticket.item_id), Ticket.status == "waiting",
           Ticket.id != param(Ticket.id)))


def _queue_counts(ticket: Ticket) -> tuple[int, int]:
    """One scan of the item's waiting queue: (waiting including this ticket, waiting ahead)."""
    waiting, ahead = execute_direct(db.session, _QUEUE_COUNTS, {
        "hall_id": ticket.hall_id, "service_day": ticket.service_day, "item_id": ticket.item_id,
        "id": ticket.id, "queue_at": ticket.queue_at}).one()
    return waiting + 1, ahead


def waiting_ahead(ticket: Ticket) -> int:
    """Waiting tickets of the same item that will be called first: earlier in the queue, or
    transferred in (they go ahead of the ordinary queue)."""
    if ticket.status != "waiting":
        return 0
    if ticket.ahead_at_issue is not None:   # counted in the issuing transaction
        return ticket.ahead_at_issue
    return db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == ticket.hall_id, Ticket.service_day == ticket.service_day,
        Ticket.item_id == ticket.item_id, Ticket.status == "waiting", Ticket.id != ticket.id,
        _ahead_of(ticket.queue_at))) or 0


def mean_service_minutes(item: ServiceItem, hall_id, *, now: datetime) -> float:
    """Recent mean service time (start → done) at the windows serving this item, recomputed at
    most every ``ESTIMATE_TTL`` seconds per hall and item in each process (it is an estimate)."""
    return process_cache(ESTIMATES).get(db.session, (hall_id, item.id),
                                        lambda: _mean_service_minutes(item, hall_id, now=now))


def _mean_service_minutes(item: ServiceItem, hall_id, *, now: datetime) -> float:
    windows = select(window_items.c.window_id).where(window_items.c.item_id == item.id)
    latest = (select(Ticket.id)
              .where(Ticket.hall_id == hall_id, Ticket.status == "done",
                     Ticket.window_id.in_(windows), Ticket.started_at.is_not(None),
                     Ticket.service_day >= service_day(now) - timedelta(days=7))
              .order_by(Ticket.finished_at.desc()).limit(RECENT_SAMPLE))
    rows = db.session.execute(select(Ticket.finished_at, Ticket.started_at)
                              .where(Ticket.id.in_(latest))).all()
    if not rows:
        return DEFAULT_SERVICE_MINUTES
    total = sum((done - start).total_seconds() for done, start in rows)
    return total / len(rows) / 60


def init_estimate_cache(app) -> None:
    register(app, ProcessCache(ESTIMATES, (), ESTIMATE_TTL))


def estimated_wait_minutes(ticket: Ticket, ahead: int, *, now: datetime) -> int:
    """SPEC 3.2: waiting ahead × recent mean service time of the windows serving the item."""
    if ahead == 0:
        return 0
    return round(ahead * mean_service_minutes(ticket.item, ticket.hall_id, now=now))


def cancel_ticket(ticket: Ticket, *, actor: Actor) -> Ticket:
    """A waiting ticket may be cancelled (the citizen leaves)."""
    if ticket.status != "waiting":
        raise conflict(f"只能取消等候中的号 (ticket is {ticket.status}, not waiting)",
                       "invalid_ticket_state")
    ticket.status = "cancelled"
    audit(actor, "ticket.cancel", "ticket", ticket.id, hall_id=ticket.hall_id,
          from_state="waiting", to_state="cancelled")
    record_event(db.session, ticket.hall, "ticket.cancelled",
                 {"number": ticket.number, "item_code": ticket.item.code},
                 track_token=ticket.track_token)
    return ticket


def rollover(*, before: date, actor: Actor) -> int:
    """Daily rollover: open tickets of earlier days close as ``no_show``; windows are freed."""
    stale = list(db.session.scalars(select(Ticket).where(
        Ticket.service_day < before, Ticket.status.in_(OPEN_STATUSES))))
    for ticket in stale:
        audit(actor, "ticket.rollover", "ticket", ticket.id, hall_id=ticket.hall_id,
              from_state=ticket.status, to_state="no_show")
        ticket.status = "no_show"
    ids = [t.id for t in stale]
    if ids:
        db.session.execute(update(Window).where(Window.current_ticket_id.in_(ids))
                           .values(current_ticket_id=None, state="idle"))
    return len(stale)
