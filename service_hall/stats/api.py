"""Statistics API for supervisors: completion by the rules of SPEC 3.4, and live queues."""
from __future__ import annotations

from datetime import date

from flask import jsonify, request
from sqlalchemy import or_, select

from service_hall.api import require_scope
from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.calendar.api import parse_date
from service_hall.calendar.rules import snapshot
from service_hall.catalog.models import Department, Hall
from service_hall.catalog.queries import hall_by_code
from service_hall.clock import service_day
from service_hall.errors import bad_request, not_found
from service_hall.extensions import db
from service_hall.schemas import DATE, INT, STR, array, obj
from service_hall.stats.queries import GROUPS, completion, live

SUPERVISORS = ("supervisor", "admin")
NRATE = {"type": ["number", "null"]}
COMPLETION = obj({"completed": INT, "early": INT, "on_time": INT, "overdue": INT,
                  "on_time_rate": NRATE, "open": INT, "open_overdue": INT},
                 {"early_rate": NRATE, "overdue_rate": NRATE, "from": DATE, "to": DATE,
                  "groups": array({"type": "object"})})


def scope_hall_ids(actor: Actor) -> list | None:
    """The halls a supervisor sees: None = all (deployment-wide), else the ids."""
    if actor.hall_id is None:
        return None
    if actor.hall_level == "county":
        return list(db.session.scalars(select(Hall.id).where(
            or_(Hall.id == actor.hall_id, Hall.county_id == actor.hall_id))))
    return [actor.hall_id]


@endpoint("/stats/completion", "GET", summary="On-time completion (按时办结率)", tag="stats",
          allow=SUPERVISORS,
          query={"hall": STR, "department": STR, "from": DATE, "to": DATE,
                 "group_by": {"enum": list(GROUPS)}},
          responses={200: COMPLETION, 400: None, 403: None, 404: None, 422: None})
def get_completion(actor: Actor):
    today = service_day()
    end = parse_date(request.args["to"], "to") if request.args.get("to") else today
    start = (parse_date(request.args["from"], "from") if request.args.get("from")
             else date(end.year, 1, 1))
    if start > end:
        raise bad_request("from 不能晚于 to (from must not be after to)", "invalid_period")
    group_by = request.args.get("group_by") or None
    if group_by is not None and group_by not in GROUPS:
        raise bad_request(f"group_by: 须为 {', '.join(GROUPS)} 之一", "invalid_group_by")
    hall_ids = scope_hall_ids(actor)
    if request.args.get("hall"):
        hall = hall_by_code(request.args["hall"])
        require_scope(actor, hall)
        hall_ids = [hall.id]
    department_id = None
    if request.args.get("department"):
        department = db.session.scalars(select(Department).where(
            Department.code == request.args["department"])).first()
        if department is None:
            raise not_found("没有这个部门 (no such department)", "unknown_department")
        require_scope(actor, department.hall)
        department_id = department.id
    answer = completion(hall_ids=hall_ids, department_id=department_id, start=start, end=end,
                        group_by=group_by, cal=snapshot(), today=today)
    return jsonify({"from": start.isoformat(), "to": end.isoformat(), **answer})


@endpoint("/stats/live", "GET", summary="Live queues: waiting per item, windows, mean wait",
          tag="stats", allow=SUPERVISORS, query={"hall": STR},
          responses={200: {"type": "object"}, 400: None, 403: None, 404: None})
def get_live(actor: Actor):
    if not request.args.get("hall"):
        raise bad_request("hall: 必填 (hall is required)", "invalid_hall")
    hall = hall_by_code(request.args["hall"])
    require_scope(actor, hall)
    return jsonify(live(hall, today=service_day()))
