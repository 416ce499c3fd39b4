"""Case API (SPEC 4): accept, hold, resume, complete, reject, read, list, import."""
from __future__ import annotations

import uuid

from flask import current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kiosks.models import Ticket
from service_hall.api import endpoint, get_in_scope, require_scope
from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import LIGHTS, WorkingCalendar, snapshot
from service_hall.cases import operations as ops
from service_hall.cases.importer import MAX_ROWS, import_cases
from service_hall.cases.models import CASE_STATUSES, HOLD_KINDS, Case
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import hall_by_code, offered_item
from service_hall.clock import now, service_day
from service_hall.documents import person_body
from service_hall.errors import bad_request, forbidden, not_found
from service_hall.extensions import db
from service_hall.schemas import BOOL, DATE, INT, NINT, NSTR, STR, array, obj
from windows.models import Window

STAFF_READERS = ("admin", "supervisor", "clerk")
TEXT = {"type": "string", "minLength": 1, "maxLength": 500}
APPLICANT = obj({"name": STR, "id_number": STR, "phone": STR}, {"document": {"type": "object"}})
CASE = obj({"id": STR, "case_no": STR, "status": {"enum": list(CASE_STATUSES)},
            "accepted_on": DATE, "due_on": DATE},
           {"hall_code": STR, "item_code": STR, "item_name": STR, "kind": STR,
            "promised_days": INT, "completed_on": {"type": ["string", "null"]},
            "elapsed_working_days": NINT, "outcome": NSTR, "light": NSTR,
            "working_days_left": NINT, "window_number": NINT, "imported": BOOL,
            "applicant": {"type": ["object", "null"]}, "holds": array({"type": "object"})})
ACCEPT_BODY = {
    "type": "object",
    "required": ["item_code", "applicant"],
    "properties": {
        "item_code": {"type": "string", "minLength": 1, "maxLength": 40},
        "ticket_id": {"type": "string", "maxLength": 40},
        "applicant": person_body(),
    },
    "additionalProperties": False,
}
HOLD_BODY = {"type": "object", "required": ["reason", "kind"],
             "properties": {"reason": TEXT, "kind": {"enum": list(HOLD_KINDS)}},
             "additionalProperties": False}
REJECT_BODY = {"type": "object", "required": ["reason"], "properties": {"reason": TEXT},
               "additionalProperties": False}
EMPTY_BODY = {"type": "object", "additionalProperties": False}
DATE_TEXT = {"type": "string", "maxLength": 10}
IMPORT_BODY = {
    "type": "array", "minItems": 1, "maxItems": MAX_ROWS,
    "items": {"type": "object", "required": ["item_code", "hall_code", "accepted_on"],
              "properties": {
                  "item_code": {"type": "string", "minLength": 1, "maxLength": 40},
                  "hall_code": {"type": "string", "minLength": 1, "maxLength": 32},
                  "accepted_on": DATE_TEXT,
                  "completed_on": {"type": ["string", "null"], "maxLength": 10},
                  "holds": {"type": "array", "maxItems": 50, "items": {
                      "type": "object", "required": ["from"],
                      "properties": {"from": DATE_TEXT,
                                     "to": {"type": ["string", "null"], "maxLength": 10}},
                      "additionalProperties": False}}},
              "additionalProperties": False},
}


def _yellow_days() -> int:
    return current_app.config["SERVICE_HALL"].yellow_days


def case_json(case: Case, cal: WorkingCalendar, *, reveal: bool = False) -> dict:
    today = service_day()
    due = ops.effective_due_on(case, cal, today) if case.open else case.due_on
    window = db.session.get(Window, case.window_id) if case.window_id else None
    return {"id": str(case.id), "case_no": case.case_no, "status": case.status,
            "hall_code": case.hall.code, "item_code": case.item.code,
            "item_name": case.item.name, "kind": case.kind, "promised_days": case.promised_days,
            "accepted_on": case.accepted_on.isoformat(), "due_on": due.isoformat(),
            "completed_on": case.completed_on.isoformat() if case.completed_on else None,
            "elapsed_working_days": case.elapsed_days, "outcome": case.outcome,
            "light": ops.case_light(case, cal, today, _yellow_days()),
            "working_days_left": cal.working_days_left(due, today) if case.open else None,
            "window_number": window.number if window else None, "imported": case.imported,
            "reject_reason": case.reject_reason or None,
            "holds": [{"kind": h.kind, "reason": h.reason, "from": h.start_on.isoformat(),
                       "to": h.end_on.isoformat() if h.end_on else None,
                       "working_days": h.working_days} for h in case.holds],
            "applicant": ops.applicant(case, reveal=reveal)}


def case_in_scope(actor: Actor, case_id: str) -> Case:
    return get_in_scope(actor, Case, case_id,
                        missing=not_found("没有这个办件 (no such case)", "unknown_case"))


def _clerk_case(actor: Actor, case_id: str) -> Case:
    """Clerks act on the cases of their own hall only."""
    case = case_in_scope(actor, case_id)
    if actor.hall_id != case.hall_id:
        raise forbidden("只有本大厅的窗口人员可以办理 (only a clerk of the case's hall may act)",
                        "out_of_scope")
    return case


def _clerk_hall(actor: Actor) -> Hall:
    hall = db.session.get(Hall, actor.hall_id) if actor.hall_id else None
    if hall is None:
        raise forbidden("您没有所属大厅 (you belong to no hall)", "out_of_scope")
    return hall


@endpoint("/cases", "POST", summary="Accept a case (受理)", tag="cases", allow=("clerk",),
          body=ACCEPT_BODY, responses={201: CASE, 404: None, 409: None, 422: None})
def accept(actor: Actor, body: dict):
    hall = _clerk_hall(actor)
    item = offered_item(hall, body["item_code"])
    ticket = None
    if body.get("ticket_id"):
        try:
            ticket = db.session.get(Ticket, uuid.UUID(body["ticket_id"]))
        except ValueError:
            ticket = None
        if ticket is None:
            raise not_found("没有这张号 (no such ticket)", "unknown_ticket")
    cal = snapshot()
    case = ops.accept_case(hall, item, body["applicant"], actor=actor, cal=cal,
                           today=service_day(), now=now(), yellow_days=_yellow_days(),
                           ticket=ticket)
    db.session.commit()
    return jsonify(case_json(case, cal)), 201


@endpoint("/cases/<case_id>", "GET", summary="A case (personal data masked; ?reveal=1 for the "
          "handling clerk, audited)", tag="cases", allow=STAFF_READERS,
          query={"reveal": {"enum": ["0", "1"]}}, responses={200: CASE, 403: None, 404: None})
def get_case(actor: Actor, case_id: str):
    case = case_in_scope(actor, case_id)
    reveal = request.args.get("reveal") == "1"
    if reveal:
        if actor.user_id is None or actor.user_id != case.handled_by_user_id:
            raise forbidden("只有经办人可以查看完整个人信息 (only the handling clerk may reveal "
                            "the applicant's data)", "reveal_forbidden")
        audit(actor, "case.reveal", "case", case.id, hall_id=case.hall_id)
        db.session.commit()
    return jsonify(case_json(case, snapshot(), reveal=reveal))


@endpoint("/cases/<case_id>/hold", "POST", summary="Stop the clock (补正 / 特别程序)",
          tag="cases", allow=("clerk",), body=HOLD_BODY, responses={200: CASE, 409: None})
def hold(actor: Actor, case_id: str, body: dict):
    case = ops.hold_case(_clerk_case(actor, case_id), kind=body["kind"], reason=body["reason"],
                         actor=actor, today=service_day())
    db.session.commit()
    return jsonify(case_json(case, snapshot()))


@endpoint("/cases/<case_id>/resume", "POST", summary="Restart the clock", tag="cases",
          allow=("clerk",), responses={200: CASE, 409: None, 422: None})
def resume(actor: Actor, case_id: str):
    cal = snapshot()
    case = ops.resume_case(_clerk_case(actor, case_id), actor=actor, cal=cal,
                           today=service_day(), yellow_days=_yellow_days())
    db.session.commit()
    return jsonify(case_json(case, cal))


@endpoint("/cases/<case_id>/complete", "POST", summary="Complete (办结): the case with its outcome",
          tag="cases", allow=("clerk",), responses={200: CASE, 409: None, 422: None})
def complete(actor: Actor, case_id: str):
    cal = snapshot()
    case = ops.complete_case(_clerk_case(actor, case_id), actor=actor, cal=cal,
                             today=service_day(), now=now())
    db.session.commit()
    return jsonify(case_json(case, cal))


@endpoint("/cases/<case_id>/reject", "POST", summary="Refuse the case with a reason",
          tag="cases", allow=("clerk",), body=REJECT_BODY, responses={200: CASE, 409: None})
def reject(actor: Actor, case_id: str, body: dict):
    cal = snapshot()
    case = ops.reject_case(_clerk_case(actor, case_id), reason=body["reason"], actor=actor,
                           today=service_day(), cal=cal)
    db.session.commit()
    return jsonify(case_json(case, cal))


@endpoint("/halls/<hall_code>/cases", "GET", summary="A hall's cases", tag="cases",
          allow=STAFF_READERS,
          query={"status": {"enum": list(CASE_STATUSES)}, "light": {"enum": list(LIGHTS)},
                 "limit": INT, "offset": INT},
          responses={200: array(CASE), 400: None, 403: None, 404: None})
def list_cases(actor: Actor, hall_code: str):
    hall = hall_by_code(hall_code)
    require_scope(actor, hall)
    stmt = (select(Case).where(Case.hall_id == hall.id)
            .options(joinedload(Case.item), joinedload(Case.hall))
            .order_by(Case.accepted_on.desc(), Case.case_no.desc()))
    status, wanted_light = request.args.get("status"), request.args.get("light")
    if status:
        if status not in CASE_STATUSES:
            raise bad_request(f"status: 须为 {', '.join(CASE_STATUSES)} 之一", "invalid_status")
        stmt = stmt.where(Case.status == status)
    if wanted_light:
        if wanted_light not in LIGHTS:
            raise bad_request(f"light: 须为 {', '.join(LIGHTS)} 之一", "invalid_light")
        stmt = stmt.where(Case.status.in_(("accepted", "on_hold")))
    try:
        limit = min(max(int(request.args.get("limit", 100)), 1), 500)
        offset = max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        raise bad_request("limit/offset: 须为整数 (must be integers)", "invalid_number")
    cal = snapshot()
    if wanted_light:  # lights move with the calendar day: computed, not read from a column
        answer = [case_json(c, cal) for c in db.session.scalars(stmt)]
        answer = [c for c in answer if c["light"] == wanted_light][offset:offset + limit]
    else:
        answer = [case_json(c, cal) for c in db.session.scalars(stmt.limit(limit).offset(offset))]
    return jsonify(answer)


@endpoint("/cases/import", "POST", summary="Import past cases (all or nothing)", tag="cases",
          allow=("admin",), body=IMPORT_BODY,
          responses={201: array(obj({"case_no": STR, "due_on": DATE},
                                    {"outcome": NSTR, "elapsed_working_days": NINT})),
                     422: None})
def import_view(actor: Actor, body: list):
    answer = import_cases(body, actor=actor, cal=snapshot(), today=service_day(),
                          yellow_days=_yellow_days())
    db.session.commit()
    return jsonify(answer), 201
