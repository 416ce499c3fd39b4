"""Errand API (SPEC 3.7): agents log, submit and hand back; halls accept from their inbox;
villagers follow by the receipt's track token."""
from __future__ import annotations

import uuid

from flask import current_app, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service_hall.api import require_scope
from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import snapshot
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import hall_by_code
from service_hall.clock import now, service_day
from service_hall.errands import operations as ops
from service_hall.errands.models import ERRAND_STATUSES, Errand
from service_hall.documents import person_body
from service_hall.errors import bad_request, forbidden, not_found
from service_hall.extensions import db, limiter
from service_hall.schemas import DATE, DATETIME, NDATETIME, NSTR, STR, array, obj

HALL_READERS = ("admin", "supervisor", "clerk")
STATUS = {"enum": list(ERRAND_STATUSES)}
ERRAND = obj({"id": STR, "errand_no": STR, "status": STATUS, "point_code": STR,
              "item_code": STR, "logged_on": DATE},
             {"point_name": STR, "item_name": STR, "target_code": NSTR, "target_name": NSTR,
              "result": NSTR, "materials": array(STR), "note": STR, "track_token": STR,
              "track_url": STR, "logged_at": DATETIME, "submitted_at": NDATETIME,
              "accepted_at": NDATETIME, "completed_at": NDATETIME, "returned_at": NDATETIME,
              "case_id": NSTR, "case_no": NSTR, "villager": {"type": "object"}})
TRACKED = obj({"errand_no": STR, "status": STATUS, "status_label": STR, "item_name": STR,
               "point_name": STR, "logged_on": DATE},
              {"result": NSTR, "target_name": NSTR, "submitted_at": NDATETIME,
               "accepted_at": NDATETIME, "completed_at": NDATETIME, "returned_at": NDATETIME})
TEXT = {"type": "string", "maxLength": 500}
LOG_BODY = {
    "type": "object",
    "required": ["item_code", "villager"],
    "properties": {
        "item_code": {"type": "string", "minLength": 1, "maxLength": 40},
        "villager": person_body(),
        "materials": {"type": "array", "maxItems": 100,
                      "items": {"type": "string", "maxLength": 200}},
        "note": TEXT,
    },
    "additionalProperties": False,
}
SUBMIT_BODY = {"type": "object", "properties": {"hall_code": {"type": "string", "minLength": 1,
                                                              "maxLength": 32}},
               "additionalProperties": False}


def errand_json(errand: Errand, *, reveal: bool = False) -> dict:
    case = errand.case
    return {"id": str(errand.id), "errand_no": errand.errand_no, "status": errand.status,
            "result": errand.result, "point_code": errand.point.code,
            "point_name": errand.point.name, "item_code": errand.item.code,
            "item_name": errand.item.name,
            "target_code": errand.target.code if errand.target else None,
            "target_name": errand.target.name if errand.target else None,
            "materials": list(errand.materials or []), "note": errand.note,
            "track_token": errand.track_token,
            "track_url": url_for("errands.track_page", token=errand.track_token, _external=True),
            "logged_on": errand.logged_on.isoformat(), "logged_at": errand.logged_at.isoformat(),
            "submitted_at": _iso(errand.submitted_at), "accepted_at": _iso(errand.accepted_at),
            "completed_at": _iso(errand.completed_at), "returned_at": _iso(errand.returned_at),
            "case_id": str(case.id) if case else None, "case_no": case.case_no if case else None,
            "villager": ops.villager(errand, reveal=reveal)}


def tracked_json(errand: Errand) -> dict:
    """What the villager's QR page shows: status and dates, no personal data."""
    return {"errand_no": errand.errand_no, "status": errand.status,
            "status_label": ops.STATUS_LABELS[errand.status], "result": errand.result,
            "item_name": errand.item.name, "point_name": errand.point.name,
            "target_name": errand.target.name if errand.target else None,
            "logged_on": errand.logged_on.isoformat(),
            "submitted_at": _iso(errand.submitted_at), "accepted_at": _iso(errand.accepted_at),
            "completed_at": _iso(errand.completed_at), "returned_at": _iso(errand.returned_at)}


def _iso(value):
    return value.isoformat() if value is not None else None


def _yellow_days() -> int:
    return current_app.config["SERVICE_HALL"].yellow_days


def agent_point(actor: Actor) -> Hall:
    hall = db.session.get(Hall, actor.hall_id) if actor.hall_id else None
    if hall is None or hall.level != "village":
        raise forbidden("您不属于任何村便民服务站 (you belong to no village point)", "out_of_scope")
    return hall


def errand_by_id(errand_id: str) -> Errand:
    try:
        key = uuid.UUID(errand_id)
    except ValueError:
        raise not_found("没有这个代办件 (no such errand)", "unknown_errand")
    errand = db.session.get(Errand, key)
    if errand is None:
        raise not_found("没有这个代办件 (no such errand)", "unknown_errand")
    return errand


def errand_in_scope(actor: Actor, errand_id: str) -> Errand:
    """Agents: their own village point's errands only. Hall staff: errands handed to a hall in
    their scope. Supervisors and admins: errands of points in their scope."""
    errand = errand_by_id(errand_id)
    if actor.role == "agent":
        if actor.hall_id != errand.point_hall_id:
            raise forbidden("只能查看本服务站的代办件 (only your own village point's errands)",
                            "out_of_scope")
    elif actor.role == "clerk":
        if errand.target is None or not actor.may_see_hall(errand.target):
            raise forbidden("该代办件未送交本大厅 (errand not handed to your hall)",
                            "out_of_scope")
    else:
        require_scope(actor, errand.point)
    return errand


def _status_arg() -> str | None:
    status = request.args.get("status")
    if status and status not in ERRAND_STATUSES:
        raise bad_request(f"status: 须为 {', '.join(ERRAND_STATUSES)} 之一", "invalid_status")
    return status or None


def _listing(stmt):
    return (stmt.options(joinedload(Errand.item), joinedload(Errand.point),
                         joinedload(Errand.target), joinedload(Errand.case))
            .order_by(Errand.logged_at.desc()).limit(500))


@endpoint("/errands", "POST", summary="Log an errand for a villager (代办登记)", tag="errands",
          allow=("agent",), body=LOG_BODY,
          responses={201: ERRAND, 403: None, 404: None, 422: None})
def log(actor: Actor, body: dict):
    point = agent_point(actor)
    item = ops.loggable_item(point, body["item_code"])
    errand = ops.log_errand(point, item, body["villager"], materials=body.get("materials", []),
                            note=body.get("note", ""), actor=actor, today=service_day(),
                            now=now())
    db.session.commit()
    return jsonify(errand_json(errand)), 201


@endpoint("/errands", "GET", summary="My village point's errands", tag="errands",
          allow=("agent",), query={"status": STATUS}, responses={200: array(ERRAND), 403: None})
def list_own(actor: Actor):
    point = agent_point(actor)
    stmt = select(Errand).where(Errand.point_hall_id == point.id)
    status = _status_arg()
    if status:
        stmt = stmt.where(Errand.status == status)
    return jsonify([errand_json(e) for e in db.session.scalars(_listing(stmt)).unique()])


@endpoint("/errands/<errand_id>", "GET", summary="An errand (villager masked)", tag="errands",
          allow=("agent",) + HALL_READERS, responses={200: ERRAND, 403: None, 404: None})
def get_errand(actor: Actor, errand_id: str):
    return jsonify(errand_json(errand_in_scope(actor, errand_id)))


@endpoint("/errands/<errand_id>/submit", "POST", summary="Hand the errand to the township hall "
          "(default) or the county", tag="errands", allow=("agent",), body=SUBMIT_BODY,
          responses={200: ERRAND, 403: None, 404: None, 409: None, 422: None})
def submit(actor: Actor, errand_id: str, body: dict):
    errand = errand_in_scope(actor, errand_id)
    if body.get("hall_code"):
        target = hall_by_code(body["hall_code"])
    else:
        choices = ops.targets(errand.point)
        if not choices:
            raise bad_request("该服务站没有上级大厅 (the point has no township or county hall)",
                              "invalid_target")
        target = choices[0]
    ops.submit_errand(errand, target, actor=actor, now=now())
    db.session.commit()
    return jsonify(errand_json(errand))


@endpoint("/errands/<errand_id>/accept", "POST", summary="Accept a submitted errand: a case is "
          "created at this hall (受理)", tag="errands", allow=("clerk",),
          responses={200: ERRAND, 403: None, 404: None, 409: None, 422: None})
def accept(actor: Actor, errand_id: str):
    errand = errand_in_scope(actor, errand_id)
    ops.accept_errand(errand, actor=actor, cal=snapshot(), today=service_day(), now=now(),
                      yellow_days=_yellow_days())
    db.session.commit()
    return jsonify(errand_json(errand))


@endpoint("/errands/<errand_id>/return", "POST", summary="Hand the result back to the villager "
          "(送达)", tag="errands", allow=("agent",),
          responses={200: ERRAND, 403: None, 404: None, 409: None})
def hand_back(actor: Actor, errand_id: str):
    errand = ops.return_errand(errand_in_scope(actor, errand_id), actor=actor, now=now())
    db.session.commit()
    return jsonify(errand_json(errand))


@endpoint("/halls/<hall_code>/errands", "GET", summary="A hall's errand inbox (submitted by "
          "default)", tag="errands", allow=HALL_READERS, query={"status": STATUS},
          responses={200: array(ERRAND), 400: None, 403: None, 404: None})
def inbox(actor: Actor, hall_code: str):
    hall = hall_by_code(hall_code)
    require_scope(actor, hall)
    status = _status_arg() or "submitted"
    stmt = select(Errand).where(Errand.target_hall_id == hall.id, Errand.status == status)
    return jsonify([errand_json(e) for e in db.session.scalars(_listing(stmt)).unique()])


@endpoint("/errands/track/<token>", "GET", summary="Follow an errand by the receipt's QR code "
          "(no personal data)", tag="errands", responses={200: TRACKED, 404: None})
@limiter.limit("120/minute")
def track(actor, token: str):
    return jsonify(tracked_json(errand_by_token(token)))


def errand_by_token(token: str) -> Errand:
    errand = None
    if len(token) <= 32:
        errand = db.session.scalars(select(Errand).where(Errand.track_token == token)).first()
    if errand is None:
        raise not_found("没有这个代办件 (no such errand)", "unknown_errand")
    return errand
