"""Errand figures per village point and township (SPEC 3.7): logged, completed, returned, and
the mean days from logging to handing the result back."""
from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import case, func, select

from service_hall.api import require_scope
from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import hall_by_code
from service_hall.errands.models import Errand
from service_hall.errors import bad_request
from service_hall.extensions import db
from service_hall.schemas import INT, STR, array, obj

NNUM = {"type": ["number", "null"]}
FIGURES = {"logged": INT, "completed": INT, "returned": INT, "mean_days": NNUM}
ERRAND_STATS = obj({"hall_code": STR, **FIGURES},
                   {"hall_name": STR, "groups": array(obj({"hall_code": STR, **FIGURES},
                                                          {"hall_name": STR}))})


def point_figures(point_ids: list) -> dict:
    """Per village point id: counts, and the sum and number of days to return."""
    if not point_ids:
        return {}
    rows = db.session.execute(
        select(Errand.point_hall_id, func.count(),
               func.sum(case((Errand.status.in_(("completed", "returned")), 1), else_=0)),
               func.sum(case((Errand.status == "returned", 1), else_=0)))
        .where(Errand.point_hall_id.in_(point_ids)).group_by(Errand.point_hall_id))
    figures = {pid: {"logged": 0, "completed": 0, "returned": 0, "days": 0.0}
               for pid in point_ids}
    for pid, logged, completed, returned in rows:
        figures[pid].update(logged=logged, completed=int(completed or 0),
                            returned=int(returned or 0))
    # Days are measured in Python from the two timestamps: portable across SQLite and PostgreSQL.
    for pid, logged_at, returned_at in db.session.execute(
            select(Errand.point_hall_id, Errand.logged_at, Errand.returned_at)
            .where(Errand.point_hall_id.in_(point_ids), Errand.status == "returned")):
        figures[pid]["days"] += (returned_at - logged_at).total_seconds() / 86400
    return figures


def total(figures: list[dict]) -> dict:
    answer = {"logged": sum(f["logged"] for f in figures),
              "completed": sum(f["completed"] for f in figures),
              "returned": sum(f["returned"] for f in figures)}
    days = sum(f["days"] for f in figures)
    answer["mean_days"] = round(days / answer["returned"], 1) if answer["returned"] else None
    return answer


def villages_under(hall: Hall) -> dict:
    """Village point ids under a hall, grouped by the child hall they report through."""
    if hall.level == "village":
        return {hall: [hall.id]}
    children = list(db.session.scalars(select(Hall).where(Hall.parent_id == hall.id)
                                       .order_by(Hall.code)))
    groups: dict = {}
    for child in children:
        if child.level == "village":
            groups[child] = [child.id]
        else:
            groups[child] = list(db.session.scalars(select(Hall.id).where(
                Hall.parent_id == child.id, Hall.level == "village")))
    return groups


@endpoint("/stats/errands", "GET", summary="Errands per village point or township: logged, "
          "completed, returned, mean days", tag="stats", allow=("supervisor", "admin"),
          query={"hall": {"type": "string", "minLength": 1, "maxLength": 32}},
          responses={200: ERRAND_STATS, 400: None, 403: None, 404: None})
def errand_stats(actor: Actor):
    code = request.args.get("hall")
    if not code:
        raise bad_request("hall: 必填 (hall is required)", "hall_required")
    hall = hall_by_code(code)
    require_scope(actor, hall)
    groups = villages_under(hall)
    figures = point_figures([pid for ids in groups.values() for pid in ids])
    answer = {"hall_code": hall.code, "hall_name": hall.name, **total(list(figures.values()))}
    answer["groups"] = [{"hall_code": child.code, "hall_name": child.name,
                         **total([figures[pid] for pid in ids])}
                        for child, ids in groups.items()]
    return jsonify(answer)
