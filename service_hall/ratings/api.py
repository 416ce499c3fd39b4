"""Ratings API: reasons (anyone), rate by QR track token (public) or window pad; rectifications."""
from __future__ import annotations

import uuid

from flask import current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service_hall.api import require_scope
from kiosks.models import Ticket
from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import snapshot
from service_hall.cases.models import Case
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import hall_by_code
from service_hall.clock import now, service_day
from service_hall.errors import ApiError, bad_request, forbidden, not_found
from service_hall.extensions import db
from service_hall.ratings.models import LEVELS, RECTIFICATION_STATUSES, Rectification
from service_hall.ratings.operations import active_reasons, close_rectification, rate
from service_hall.schemas import DATE, INT, NSTR, STR, array, obj

SUPERVISORS = ("supervisor", "admin")
QR_ACTOR = Actor(kind="public", role="public", hall_id=None, label="qr")  # a citizen's phone
ID = {"type": "string", "maxLength": 40}
RATE_BODY = {
    "type": "object",
    "required": ["level"],
    "properties": {
        "track_token": {"type": "string", "minLength": 1, "maxLength": 40},
        "subject": {"enum": ["ticket", "case"]},
        "ticket_id": ID, "case_id": ID,
        "level": {"type": "integer", "minimum": 1, "maximum": 5},
        "reasons": {"type": "array", "maxItems": 10, "items": ID},
        "comment": {"type": "string", "maxLength": 500},
    },
    "additionalProperties": False,
}
CLOSE_BODY = {"type": "object", "required": ["result"],
              "properties": {"result": {"type": "string", "minLength": 1, "maxLength": 2000}},
              "additionalProperties": False}
RATING = obj({"id": STR, "level": INT, "reasons": array(STR)},
             {"label": STR, "rectification_id": NSTR, "rectification_due_on": NSTR})
RECTIFICATION = obj({"id": STR, "status": STR, "department": STR, "opened_on": DATE,
                     "due_on": {"type": ["string", "null"], "format": "date"}}, {"hall_code": STR, "level": INT, "result": STR})


def _uuid(text: str, what: str):
    try:
        return uuid.UUID(text)
    except ValueError:
        raise not_found(f"没有这个{what} (no such {what})", "not_found")


def _subject(actor: Actor | None, body: dict) -> tuple[str, Ticket | None, Case | None]:
    """The track token identifies the visit for anyone; a pad names the ticket or case."""
    if body.get("track_token"):
        ticket = db.session.scalars(select(Ticket).where(
            Ticket.track_token == body["track_token"])).first()
        if ticket is None:
            raise not_found("没有这张号 (no such ticket)", "unknown_ticket")
        if body.get("subject") == "case":
            case = db.session.scalars(select(Case).where(Case.ticket_id == ticket.id)).first()
            if case is None:
                raise not_found("这张号没有办件 (no case for this ticket)", "unknown_case")
            return "qr", None, case
        return "qr", ticket, None
    if actor is None or actor.role != "pad":
        raise ApiError(401, "unauthenticated", "须扫码评价或在窗口评价器上评价 (rate with the "
                                               "ticket's QR code or on the window's pad)")
    if bool(body.get("ticket_id")) == bool(body.get("case_id")):
        raise bad_request("须给出 ticket_id 或 case_id 之一 (give ticket_id or case_id)",
                          "invalid_subject")
    if body.get("ticket_id"):
        ticket = db.session.get(Ticket, _uuid(body["ticket_id"], "ticket"))
        if ticket is None:
            raise not_found("没有这张号 (no such ticket)", "unknown_ticket")
        hall_id, window_id, case = ticket.hall_id, ticket.window_id, None
    else:
        case = db.session.get(Case, _uuid(body["case_id"], "case"))
        if case is None:
            raise not_found("没有这个办件 (no such case)", "unknown_case")
        hall_id, window_id, ticket = case.hall_id, case.window_id, None
    if hall_id != actor.hall_id or (actor.window_id and actor.window_id != window_id):
        raise forbidden("评价器只能评价本窗口的办理 (a pad rates its own window's service)",
                        "out_of_scope")
    return "pad", ticket, case


@endpoint("/ratings/reasons", "GET", summary="The reasons to choose from, per level",
          tag="ratings", responses={200: array(obj({"level": INT, "label": STR,
                                                    "reasons": array({"type": "object"})}))})
def reasons(actor):
    by_level = {level: [] for level in LEVELS}
    for reason in active_reasons():
        by_level[reason.level].append({"id": str(reason.id), "text": reason.text})
    return jsonify([{"level": level, "label": label, "reasons": by_level[level]}
                    for level, label in LEVELS.items()])


@endpoint("/ratings", "POST", summary="Rate a visit or a case (QR track token or window pad)",
          tag="ratings", body=RATE_BODY,
          responses={201: RATING, 401: None, 403: None, 404: None, 409: None},
          limit="20/minute", limit_exempt_when=lambda: request.headers.get(
              "Authorization", "").startswith("Bearer "))  # public QR ratings only; pads share a NAT
def create_rating(actor: Actor | None, body: dict):
    channel, ticket, case = _subject(actor, body)
    settings = current_app.config["SERVICE_HALL"]
    who = actor or QR_ACTOR
    rating = rate(level=body["level"], reason_ids=body.get("reasons", []),
                  comment=body.get("comment", ""), channel=channel, actor=who, cal=snapshot(),
                  today=service_day(), now=now(), rectify_days=settings.rectify_days,
                  ticket=ticket, case=case)
    rect = db.session.scalars(select(Rectification).where(
        Rectification.rating_id == rating.id)).first()
    answer = {"id": str(rating.id), "level": rating.level, "label": LEVELS[rating.level],
              "reasons": rating.reasons, "rectification_id": str(rect.id) if rect else None,
              "rectification_due_on": rect.due_on.isoformat() if rect and rect.due_on else None}
    db.session.commit()
    return jsonify(answer), 201


def rectification_json(rect: Rectification) -> dict:
    return {"id": str(rect.id), "status": rect.status, "hall_code": rect.hall.code,
            "department": rect.department.name, "department_code": rect.department.code,
            "level": rect.rating.level, "reasons": rect.rating.reasons,
            "comment": rect.rating.comment, "opened_on": rect.opened_on.isoformat(),
            "due_on": rect.due_on.isoformat() if rect.due_on else None, "result": rect.result,
            "closed_on": rect.closed_on.isoformat() if rect.closed_on else None}


@endpoint("/rectifications", "GET", summary="Rectifications of bad ratings", tag="ratings",
          allow=SUPERVISORS, query={"hall": STR, "status": {"enum": list(RECTIFICATION_STATUSES)}},
          responses={200: array(RECTIFICATION), 403: None})
def list_rectifications(actor: Actor):
    stmt = (select(Rectification).join(Hall, Hall.id == Rectification.hall_id)
            .options(joinedload(Rectification.hall), joinedload(Rectification.department),
                     joinedload(Rectification.rating))
            .order_by(Rectification.due_on, Rectification.id))
    if request.args.get("hall"):
        hall = hall_by_code(request.args["hall"])
        require_scope(actor, hall)
        stmt = stmt.where(Rectification.hall_id == hall.id)
    elif actor.hall_id is not None:
        stmt = stmt.where((Hall.id == actor.hall_id) | (Hall.county_id == actor.hall_id)
                          if actor.hall_level == "county" else Hall.id == actor.hall_id)
    status = request.args.get("status")
    if status:
        if status not in RECTIFICATION_STATUSES:
            raise bad_request("status: 须为 open 或 closed", "invalid_status")
        stmt = stmt.where(Rectification.status == status)
    return jsonify([rectification_json(r) for r in db.session.scalars(stmt)])


@endpoint("/rectifications/<rect_id>/close", "POST", summary="Close with the written result",
          tag="ratings", allow=SUPERVISORS, body=CLOSE_BODY,
          responses={200: RECTIFICATION, 404: None, 409: None})
def close(actor: Actor, rect_id: str, body: dict):
    rect = db.session.get(Rectification, _uuid(rect_id, "rectification"))
    if rect is None:
        raise not_found("没有这项整改 (no such rectification)", "unknown_rectification")
    require_scope(actor, rect.hall)
    close_rectification(rect, result=body["result"], actor=actor, today=service_day())
    db.session.commit()
    return jsonify(rectification_json(rect))
