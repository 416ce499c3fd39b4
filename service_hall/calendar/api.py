"""Calendar API: the year's days (anyone), an administrator's edit, the due-date rule."""
from __future__ import annotations

from datetime import date

from flask import jsonify, request

from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.calendar.models import DAY_KINDS
from service_hall.calendar.operations import set_day, year_days
from service_hall.calendar.rules import snapshot
from service_hall.errors import bad_request
from service_hall.extensions import db
from service_hall.schemas import DATE, INT, STR, array, obj

DAY = obj({"date": DATE, "kind": {"enum": list(DAY_KINDS)}, "note": STR})
DAY_BODY = {
    "type": "object",
    "required": ["kind"],
    "properties": {"kind": {"enum": list(DAY_KINDS)}, "note": {"type": "string", "maxLength": 200}},
    "additionalProperties": False,
}
MAX_WORKING_DAYS = 3650


def parse_date(text: str | None, field: str) -> date:
    if not text:
        raise bad_request(f"{field}: 必填，格式 YYYY-MM-DD ({field} is required, YYYY-MM-DD)",
                          "invalid_date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{field}: 须为 YYYY-MM-DD ({field} must be a date YYYY-MM-DD)",
                          "invalid_date")


def parse_int(text: str | None, field: str, low: int, high: int) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise bad_request(f"{field}: 须为整数 ({field} must be an integer)", "invalid_number")
    if not low <= value <= high:
        raise bad_request(f"{field}: 须在 {low}–{high} 之间 ({field} must be {low}–{high})",
                          "invalid_number")
    return value


def day_json(row) -> dict:
    return {"date": row.day.isoformat(), "kind": row.kind, "note": row.note}


@endpoint("/calendar", "GET", summary="Every date of a year with its kind", tag="calendar",
          query={"year": INT},
          responses={200: obj({"year": INT, "days": array(DAY)}), 400: None, 422: None})
def get_year(actor):
    year = parse_int(request.args.get("year"), "year", 1900, 2200)
    return jsonify({"year": year, "days": [day_json(row) for row in year_days(year)]})


@endpoint("/calendar/days/<day>", "PUT", summary="Set a date's kind (holiday, make-up workday…)",
          tag="calendar", allow=("admin",), body=DAY_BODY, responses={200: DAY, 400: None})
def put_day(actor: Actor, day: str, body: dict):
    row = set_day(parse_date(day, "date"), body["kind"], body.get("note", "").strip(), actor=actor)
    db.session.commit()
    return jsonify(day_json(row))


@endpoint("/calendar/due", "GET", summary="Due date: the Nth working day after a date",
          tag="calendar", query={"from": DATE, "working_days": INT},
          responses={200: obj({"due_on": DATE}, {"from": DATE, "working_days": INT}),
                     400: None, 422: None})
def get_due(actor):
    start = parse_date(request.args.get("from"), "from")
    n = parse_int(request.args.get("working_days"), "working_days", 0, MAX_WORKING_DAYS)
    due = snapshot().due_on(start, n)
    return jsonify({"due_on": due.isoformat(), "from": start.isoformat(), "working_days": n})
