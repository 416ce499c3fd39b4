"""Supervision API: the dashboard's tables and the three letters (SPEC 3.6)."""
from __future__ import annotations

import uuid

from flask import current_app, jsonify, request
from sqlalchemy import or_, select

from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import snapshot
from service_hall.catalog.models import Department, Hall
from service_hall.clock import now, service_day
from service_hall.errors import bad_request, not_found
from service_hall.extensions import db
from service_hall.schemas import DATE, INT, STR, array, obj
from service_hall.supervision import tables
from service_hall.supervision.letters import Rules, Subject, issue_letters, parse_month, subjects
from service_hall.supervision.models import LETTER_KINDS, Letter

SUPERVISORS = ("supervisor", "admin")
TABLE = obj({"name": STR, "title": STR, "columns": array({"type": "object"}),
             "rows": array({"type": "object"})}, {"drill": array({"type": ["object", "null"]})})
LETTER = obj({"id": STR, "kind": {"enum": list(LETTER_KINDS)}, "title": STR, "month": STR,
              "number": STR, "subject": STR, "cases": INT, "rectifications": INT,
              "created_at": STR}, {"created": {"type": "boolean"}, "content": {"type": "object"}})
ISSUE_BODY = {"type": "object", "additionalProperties": False, "required": ["month", "kind"],
              "properties": {"month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                             "kind": {"enum": list(LETTER_KINDS)},
                             "county": {"type": "string", "maxLength": 32},
                             "department": {"type": "string", "maxLength": 32},
                             "hall": {"type": "string", "maxLength": 32}}}


def context_for(actor: Actor, county_code: str | None) -> tables.Context:
    county = tables.county_for(actor, county_code)
    hall_ids = list(db.session.scalars(select(Hall.id).where(
        or_(Hall.id == county.id, Hall.county_id == county.id),
        Hall.level.in_(("county", "township")))))
    settings = current_app.config["SERVICE_HALL"]
    return tables.Context(actor=actor, county=county, hall_ids=hall_ids, cal=snapshot(),
                          today=service_day(), yellow_days=settings.yellow_days)


def letter_rules(ctx: tables.Context) -> Rules:
    settings = current_app.config["SERVICE_HALL"]
    return Rules(cal=ctx.cal, today=ctx.today, yellow_days=ctx.yellow_days,
                 target=settings.ontime_target, prefix=settings.letter_prefix)


def issue(ctx: tables.Context, month: str, kind: str, *, department: str | None,
          hall: str | None) -> list[tuple[Letter, bool]]:
    """Issue for one department, one township hall, or (neither given) every one that needs it."""
    parse_month(month)
    only = None
    if department:
        found = db.session.scalars(select(Department).where(
            Department.code == department, Department.hall_id == ctx.county.id)).first()
        if found is None:
            raise not_found("没有这个部门 (no such department)", "unknown_department")
        only = [Subject(f"department:{found.id}", found.name, department_id=found.id)]
    elif hall:
        only = [s for s in subjects(ctx.county) if s.hall_id is not None
                and db.session.get(Hall, s.hall_id).code == hall]
        if not only:
            raise not_found("没有这个乡镇大厅 (no such township hall)", "unknown_hall")
    return issue_letters(kind, month, ctx.county, letter_rules(ctx), actor=ctx.actor, now=now(),
                         only=only)


@endpoint("/supervision/tables/<name>", "GET", summary="A supervisors' table (the dashboard's data)",
          tag="supervision", allow=SUPERVISORS,
          query={"county": STR, "from": DATE, "to": DATE, "department": STR, "hall": STR,
                 "status": {"enum": ["open", "closed", "all"]}, "month": STR},
          responses={200: TABLE, 400: None, 403: None, 404: None, 422: None})
def get_table(actor: Actor, name: str):
    ctx = context_for(actor, request.args.get("county"))
    return jsonify(tables.build(name, ctx, request.args).json())


@endpoint("/letters", "GET", summary="Letters issued (三函)", tag="supervision", allow=SUPERVISORS,
          query={"county": STR, "month": STR, "kind": {"enum": list(LETTER_KINDS)}},
          responses={200: array(LETTER), 403: None, 404: None})
def list_letters(actor: Actor):
    ctx = context_for(actor, request.args.get("county"))
    stmt = select(Letter).where(Letter.county_id == ctx.county.id).order_by(
        Letter.month.desc(), Letter.kind, Letter.serial)
    if request.args.get("month"):
        stmt = stmt.where(Letter.month == request.args["month"])
    if request.args.get("kind"):
        if request.args["kind"] not in LETTER_KINDS:
            raise bad_request("kind: 须为 reminder、supervision 或 warning", "invalid_kind")
        stmt = stmt.where(Letter.kind == request.args["kind"])
    return jsonify([letter.summary() for letter in db.session.scalars(stmt)])


@endpoint("/letters", "POST", summary="Issue the letters of a month (kept ones are returned)",
          tag="supervision", allow=SUPERVISORS, body=ISSUE_BODY,
          responses={201: array(LETTER), 400: None, 403: None, 404: None, 422: None})
def post_letters(actor: Actor, body: dict):
    ctx = context_for(actor, body.get("county"))
    issued = issue(ctx, body["month"], body["kind"], department=body.get("department"),
                   hall=body.get("hall"))
    db.session.commit()
    return jsonify([{**letter.summary(), "created": created} for letter, created in issued]), 201


@endpoint("/letters/<letter_id>", "GET", summary="A letter with its kept content", tag="supervision",
          allow=SUPERVISORS, responses={200: LETTER, 403: None, 404: None})
def get_letter(actor: Actor, letter_id: str):
    letter = letter_in_scope(actor, letter_id)
    return jsonify({**letter.summary(), "content": letter.content})


def letter_in_scope(actor: Actor, letter_id: str) -> Letter:
    try:
        letter = db.session.get(Letter, uuid.UUID(letter_id))
    except ValueError:
        letter = None
    if letter is None:
        raise not_found("没有这份函 (no such letter)", "unknown_letter")
    tables.county_for(actor, letter.county.code)  # scope
    return letter
