"""Staff presence API (SPEC 3.8): whereabouts board, village cadres and duty roster."""
from __future__ import annotations

from datetime import date, datetime

from flask import jsonify, request
from sqlalchemy import select

from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.auth.models import User
from service_hall.calendar.rules import snapshot
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import hall_by_code
from service_hall.clock import now, service_day
from service_hall.errors import bad_request, forbidden, not_found, unprocessable
from service_hall.extensions import db
from service_hall.schemas import BOOL, DATE, NSTR, STR, array, obj
from service_hall.staff import operations as ops
from service_hall.staff.models import WHEREABOUTS

CARD = obj({"name": STR, "status": {"enum": list(WHEREABOUTS)}, "status_label": STR},
           {"user_id": STR, "role": STR, "note": STR, "expected_return": NSTR,
            "expected_return_text": STR})
CADRE = obj({"username": STR, "name": STR}, {"phone": STR, "hall_code": STR})
ROSTER = obj({"hall_code": STR, "month": STR, "days": array(obj(
    {"day": DATE, "username": STR, "name": STR}, {"phone": STR, "edited": BOOL}))})
MONTH = {"type": "string", "pattern": r"^\d{4}-\d{2}$"}
WHEREABOUTS_BODY = {
    "type": "object", "required": ["status"],
    "properties": {"status": {"enum": list(WHEREABOUTS)},
                   "note": {"type": "string", "maxLength": 200},
                   "expected_return": {"type": ["string", "null"], "format": "date-time",
                                       "maxLength": 40},
                   "from": {"type": "string", "format": "date", "maxLength": 10}},
    "additionalProperties": False}
CADRES_BODY = {"type": "object", "required": ["usernames"],
               "properties": {"usernames": {"type": "array", "maxItems": 50, "items": {
                   "type": "string", "minLength": 1, "maxLength": 80}}},
               "additionalProperties": False}
DAY_BODY = {"type": "object", "required": ["username"],
            "properties": {"username": {"type": "string", "minLength": 1, "maxLength": 80}},
            "additionalProperties": False}
MANAGERS = ("admin", "supervisor", "clerk", "agent")


def village_point(hall_code: str) -> Hall:
    point = hall_by_code(hall_code)
    if point.level != "village":
        raise not_found(f"{hall_code} 不是村便民服务站 (not a village point)", "not_a_village_point")
    return point


def require_manager(actor: Actor, point: Hall) -> None:
    """Admins and supervisors in scope; the point's own agents and its township's staff."""
    if actor.role in ("admin", "supervisor"):
        allowed = actor.may_see_hall(point)
    else:
        allowed = actor.hall_id is not None and actor.hall_id in (point.id, point.parent_id)
    if not allowed:
        raise forbidden(f"您无权安排 {point.code} 的坐班 (the roster of {point.code} is outside "
                        "your scope)", "out_of_scope")


def cadre_json(user: User) -> dict:
    return {"username": user.username, "name": user.name or user.username,
            "phone": user.phone or "", "hall_code": user.hall.code if user.hall else ""}


def roster_json(point: Hall, month: str) -> dict:
    first, last = ops.month_days(month)
    return {"hall_code": point.code, "month": month,
            "days": [{"day": row.day.isoformat(), "username": row.user.username,
                      "name": row.user.name or row.user.username, "phone": row.user.phone or "",
                      "edited": row.edited} for row in ops.roster(point, first, last)]}


def user_by_username(username: str) -> User:
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise unprocessable(f"没有用户 {username} (no user {username!r})", "unknown_user")
    return user


def _month_arg() -> str:
    month = request.args.get("month", "")
    if not month:
        return service_day().strftime("%Y-%m")
    ops.month_days(month)  # 422 for anything but YYYY-MM
    return month


@endpoint("/staff/whereabouts", "PUT", summary="Set my card on the whereabouts board (去向牌)",
          tag="staff", allow=("clerk", "agent", "supervisor"), body=WHEREABOUTS_BODY,
          responses={200: CARD, 422: None})
def set_mine(actor: Actor, body: dict):
    user = db.session.get(User, actor.user_id)
    today = service_day()
    expected = None
    if body.get("expected_return"):
        try:
            expected = datetime.fromisoformat(body["expected_return"])
        except ValueError:
            raise bad_request("expected_return: 不是有效的时间 (not an ISO 8601 date-time)",
                              "invalid_datetime")
        if expected.tzinfo is None:
            raise bad_request("expected_return: 时间须带时区 (a timezone is required)",
                              "invalid_datetime")
    starts_on = today
    if body.get("from"):
        try:
            starts_on = date.fromisoformat(body["from"])
        except ValueError:
            raise bad_request("from: 须为 YYYY-MM-DD (date must be YYYY-MM-DD)", "invalid_date")
    entry = ops.set_whereabouts(user, status=body["status"], note=body.get("note", ""),
                                expected_return=expected, starts_on=starts_on, actor=actor,
                                today=today, now=now())
    db.session.commit()
    return jsonify(ops.board_card(user, entry, today=today))


@endpoint("/halls/<hall_code>/board", "GET", summary="A hall's public whereabouts board",
          tag="staff", responses={200: array(CARD), 404: None})
def get_board(actor, hall_code: str):
    return jsonify(ops.board(hall_by_code(hall_code), today=service_day()))


@endpoint("/villages/<hall_code>/cadres", "PUT", summary="Assign township cadres to a village "
          "point's rotation (its agents always take turns)", tag="staff", allow=MANAGERS,
          body=CADRES_BODY, responses={200: array(CADRE), 403: None, 404: None, 422: None})
def put_cadres(actor: Actor, hall_code: str, body: dict):
    point = village_point(hall_code)
    require_manager(actor, point)
    people = ops.assign_cadres(point, [user_by_username(u) for u in body["usernames"]],
                               actor=actor)
    db.session.commit()
    return jsonify([cadre_json(u) for u in people])


@endpoint("/villages/<hall_code>/roster", "POST", summary="Generate a month's duty roster "
          "(轮流坐班)", tag="staff", allow=MANAGERS, query={"month": MONTH},
          responses={201: ROSTER, 403: None, 404: None, 409: None, 422: None})
def post_roster(actor: Actor, hall_code: str):
    point = village_point(hall_code)
    require_manager(actor, point)
    month = _month_arg()
    ops.generate_roster(point, month, cal=snapshot(), actor=actor)
    db.session.commit()
    return jsonify(roster_json(point, month)), 201


@endpoint("/villages/<hall_code>/roster", "GET", summary="A village point's duty roster "
          "(public)", tag="staff", query={"month": MONTH},
          responses={200: ROSTER, 404: None, 422: None})
def get_roster(actor, hall_code: str):
    point = village_point(hall_code)
    return jsonify(roster_json(point, _month_arg()))


@endpoint("/villages/<hall_code>/roster/<day>", "PUT", summary="Put another cadre on duty for "
          "one day", tag="staff", allow=MANAGERS, body=DAY_BODY,
          responses={200: ROSTER, 403: None, 404: None, 409: None, 422: None})
def put_roster_day(actor: Actor, hall_code: str, day: str, body: dict):
    point = village_point(hall_code)
    require_manager(actor, point)
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise bad_request("day: 须为 YYYY-MM-DD (date must be YYYY-MM-DD)", "invalid_date")
    ops.set_roster_day(point, when, user_by_username(body["username"]), cal=snapshot(),
                       actor=actor)
    db.session.commit()
    return jsonify(roster_json(point, when.strftime("%Y-%m")))
