"""Ticket API: issue (kiosk, clerk, agent), track (anyone), list, cancel, reactivate (staff)."""
from __future__ import annotations

from datetime import date, datetime

from flask import current_app, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kiosks.models import TICKET_STATUSES, Ticket
from kiosks.operations import cancel_ticket, estimated_wait_minutes, issue_ticket, waiting_ahead
from kiosks.printing import TicketSlip, print_slip
from service_hall.api import endpoint, get_in_scope, require_scope
from service_hall.auth.actor import Actor
from service_hall.catalog.queries import hall_by_code, offered_item
from service_hall.clock import local, now, service_day
from service_hall.errors import bad_request, forbidden, not_found
from service_hall.extensions import db
from service_hall.schemas import ISSUED, TICKET, TRACK, array
from windows.operations import reactivate

ISSUE_BODY = {
    "type": "object",
    "required": ["item_code"],
    "properties": {
        "item_code": {"type": "string", "minLength": 1, "maxLength": 40},
        "green_channel": {"type": "boolean"},
        "appointment_at": {"type": "string", "format": "date-time", "maxLength": 40,
                           "description": "slot start of a checked-in appointment (staff only)"},
    },
    "additionalProperties": False,
}
ISSUERS = ("kiosk", "clerk", "agent")
HALL_STAFF = ("admin", "supervisor", "clerk")


def _parse_datetime(text: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{field}: 不是有效的时间 (not an ISO 8601 date-time)", "invalid_datetime")
    if value.tzinfo is None:
        raise bad_request(f"{field}: 时间须带时区 (a timezone is required)", "invalid_datetime")
    return value


def issued_json(ticket: Ticket, *, at: datetime) -> dict:
    ahead = waiting_ahead(ticket)
    return {"id": str(ticket.id), "number": ticket.number, "status": ticket.status,
            "item_code": ticket.item.code, "item_name": ticket.item.name,
            "hall_code": ticket.hall.code, "hall_name": ticket.hall.name,
            "waiting_ahead": ahead,
            "estimated_wait_minutes": estimated_wait_minutes(ticket, ahead, now=at),
            "track_token": ticket.track_token,
            "track_url": url_for("kiosks.track_page", token=ticket.track_token, _external=True),
            "issued_at": ticket.issued_at.isoformat()}


@endpoint("/halls/<hall_code>/tickets", "POST", summary="Take a ticket", tag="tickets",
          allow=ISSUERS, body=ISSUE_BODY,
          headers={"Idempotency-Key": {"type": "string", "maxLength": 100}},
          responses={201: ISSUED, 404: None, 409: None}, limit="600/minute")
def create_ticket(actor: Actor, hall_code: str, body: dict):
    hall = hall_by_code(hall_code)
    require_scope(actor, hall)
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key is not None and len(key) > 100:
        raise bad_request("Idempotency-Key 过长 (at most 100 characters)", "invalid_header")
    appointment_at = None
    if body.get("appointment_at") is not None:
        if actor.role == "kiosk":
            raise forbidden("预约签到须由工作人员办理 (appointments are checked in by staff)")
        appointment_at = _parse_datetime(body["appointment_at"], "appointment_at")
    item = offered_item(hall, body["item_code"])
    at = now()
    ticket, replayed = issue_ticket(hall, item, actor=actor, now=at,
                                    green_channel=bool(body.get("green_channel")),
                                    appointment_at=appointment_at, idempotency_key=key)
    answer = issued_json(ticket, at=at)  # before commit: nothing expires, nothing is reloaded
    db.session.commit()
    if actor.role == "kiosk":
        # After the commit, from plain values; a retry (replay) does not print a second slip.
        printer = current_app.config["SERVICE_HALL"].printer
        answer["printed"] = bool(printer) and not replayed and print_slip(printer, slip_for(answer))
    return jsonify(answer), 201


def slip_for(answer: dict) -> TicketSlip:
    return TicketSlip(hall_name=answer["hall_name"], number=answer["number"],
                      item_name=answer["item_name"], waiting_ahead=answer["waiting_ahead"],
                      estimated_wait_minutes=answer["estimated_wait_minutes"],
                      issued_at=local(datetime.fromisoformat(answer["issued_at"])),
                      track_url=answer["track_url"])


def ticket_by_track_token(token: str) -> Ticket:
    ticket = None
    if len(token) <= 40:
        ticket = db.session.scalars(select(Ticket).where(Ticket.track_token == token)
                                    .options(joinedload(Ticket.window), joinedload(Ticket.item),
                                             joinedload(Ticket.hall))).first()
    if ticket is None:
        raise not_found("没有这张号 (no such ticket)", "unknown_ticket")
    return ticket


def track_json(ticket: Ticket) -> dict:
    """What anyone holding the QR code may see: no personal information."""
    ahead = waiting_ahead(ticket)
    return {"number": ticket.number, "status": ticket.status, "waiting_ahead": ahead,
            "estimated_wait_minutes": estimated_wait_minutes(ticket, ahead, now=now()),
            "window_number": ticket.window.number if ticket.window else None,
            "item_code": ticket.item.code, "item_name": ticket.item.name,
            "hall_name": ticket.hall.name, "hall_code": ticket.hall.code,
            "call_count": ticket.call_count, "issued_at": ticket.issued_at.isoformat()}


@endpoint("/track/<token>", "GET", summary="Follow a ticket by its QR code (no personal data)",
          tag="tickets", responses={200: TRACK, 404: None}, limit="120/minute")
def track(actor, token: str):
    return jsonify(track_json(ticket_by_track_token(token)))


@endpoint("/halls/<hall_code>/tickets", "GET", summary="A hall's tickets of a day",
          tag="tickets", allow=HALL_STAFF,
          query={"date": {"type": "string", "format": "date"},
                 "status": {"enum": list(TICKET_STATUSES)}},
          responses={200: array(TICKET), 400: None, 403: None, 404: None})
def list_tickets(actor: Actor, hall_code: str):
    hall = hall_by_code(hall_code)
    require_scope(actor, hall)
    day = service_day()
    if request.args.get("date"):
        try:
            day = date.fromisoformat(request.args["date"])
        except ValueError:
            raise bad_request("date: 须为 YYYY-MM-DD (date must be YYYY-MM-DD)", "invalid_date")
    stmt = (select(Ticket).where(Ticket.hall_id == hall.id, Ticket.service_day == day)
            .options(joinedload(Ticket.item), joinedload(Ticket.window))
            .order_by(Ticket.issued_at, Ticket.number))
    status = request.args.get("status")
    if status:
        if status not in TICKET_STATUSES:
            raise bad_request(f"status: 须为 {', '.join(TICKET_STATUSES)} 之一", "invalid_status")
        stmt = stmt.where(Ticket.status == status)
    return jsonify([ticket.staff_json() for ticket in db.session.scalars(stmt)])


def ticket_in_scope(actor: Actor, ticket_id: str) -> Ticket:
    return get_in_scope(actor, Ticket, ticket_id,
                        missing=not_found("没有这张号 (no such ticket)", "unknown_ticket"))


@endpoint("/tickets/<ticket_id>/reactivate", "POST",
          summary="Bring a no-show back once, behind the next 3 waiting", tag="tickets",
          allow=("clerk",), responses={200: TICKET, 404: None, 409: None})
def reactivate_ticket(actor: Actor, ticket_id: str):
    ticket = reactivate(ticket_in_scope(actor, ticket_id), actor=actor, now=now())
    db.session.commit()
    return jsonify(ticket.staff_json())


@endpoint("/tickets/<ticket_id>/cancel", "POST", summary="Cancel a waiting ticket",
          tag="tickets", allow=("clerk", "admin"), responses={200: TICKET, 404: None, 409: None})
def cancel(actor: Actor, ticket_id: str):
    ticket = cancel_ticket(ticket_in_scope(actor, ticket_id), actor=actor)
    db.session.commit()
    return jsonify(ticket.staff_json())
