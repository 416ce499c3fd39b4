"""Errand pages: the agent's phone page and receipt, the hall's inbox, the villager's QR page."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from service_hall.api import require_scope
from service_hall.auth.operations import actor_for_user
from service_hall.calendar.rules import snapshot
from service_hall.catalog.queries import hall_by_code, offered_items
from service_hall.clock import local, now, service_day
from service_hall.errands import operations as ops
from service_hall.errands.api import agent_point, errand_by_token, errand_in_scope
from service_hall.errands.models import Errand
from service_hall.errors import ApiError
from service_hall.extensions import db, limiter
from service_hall.qrcodes import qr_response

bp = Blueprint("errands", __name__, template_folder="templates")


def _actor(*roles: str):
    if current_user.role not in roles:
        abort(403)
    return actor_for_user(current_user._get_current_object())


def _done(exc: ApiError | None, target: str):
    if exc is not None:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(target)


@bp.app_template_filter("local_time")
def local_time(value) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.route("/agent", methods=["GET", "POST"])
@login_required
def agent_page():
    """Phone-first: the point's errands, and a form to log one (pick the item, then tick the
    materials received from its checklist)."""
    actor = _actor("agent")
    try:
        point = agent_point(actor)
    except ApiError:
        abort(403)
    items = [item for item in offered_items(point) if item.agent_loggable]
    chosen = next((i for i in items if i.code == (request.values.get("item") or "")), None)
    if request.method == "POST":
        form = request.form
        try:
            if chosen is None:
                raise ApiError(422, "unknown_item", "请选择事项 (choose an item)")
            errand = ops.log_errand(point, chosen, {"name": form.get("name", ""),
                                                    "id_number": form.get("id_number", ""),
                                                    "phone": form.get("phone", "")},
                                    materials=form.getlist("materials"),
                                    note=form.get("note", "")[:500], actor=actor,
                                    today=service_day(), now=now())
        except ApiError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            return redirect(url_for("errands.receipt_page", errand_id=errand.id))
    errands = list(db.session.scalars(
        select(Errand).where(Errand.point_hall_id == point.id)
        .options(joinedload(Errand.item), joinedload(Errand.target), joinedload(Errand.case))
        .order_by(Errand.logged_at.desc()).limit(100)))
    return render_template("errands/agent.html", point=point, items=items, chosen=chosen,
                           errands=errands, villager=ops.villager, labels=ops.STATUS_LABELS,
                           targets=ops.targets(point))


@bp.route("/agent/errands/<errand_id>/<action>", methods=["POST"])
@login_required
def agent_action(errand_id: str, action: str):
    actor = _actor("agent")
    error = None
    try:
        errand = errand_in_scope(actor, errand_id)
        if action == "submit":
            ops.submit_errand(errand, hall_by_code(request.form.get("hall_code", "")),
                              actor=actor, now=now())
        elif action == "return":
            ops.return_errand(errand, actor=actor, now=now())
        else:
            abort(404)
        db.session.commit()
    except ApiError as exc:
        error = exc
    return _done(error, url_for("errands.agent_page"))


@bp.route("/agent/errands/<errand_id>/receipt")
@login_required
def receipt_page(errand_id: str):
    """Print-ready receipt (回执) for the villager: what was received, and the QR to follow it."""
    actor = _actor("agent", "admin", "supervisor")
    try:
        errand = errand_in_scope(actor, errand_id)
    except ApiError as exc:
        abort(exc.status)
    return render_template("errands/receipt.html", errand=errand, villager=ops.villager(errand),
                           track_url=url_for("errands.track_page", token=errand.track_token,
                                             _external=True))


@bp.route("/halls/<hall_code>/inbox", methods=["GET"])
@login_required
def inbox_page(hall_code: str):
    actor = _actor("clerk", "supervisor", "admin")
    hall = hall_by_code(hall_code)
    try:
        require_scope(actor, hall)
    except ApiError:
        abort(403)
    errands = list(db.session.scalars(
        select(Errand).where(Errand.target_hall_id == hall.id, Errand.status == "submitted")
        .options(joinedload(Errand.item), joinedload(Errand.point))
        .order_by(Errand.submitted_at)))
    return render_template("errands/inbox.html", hall=hall, errands=errands,
                           villager=ops.villager, may_accept=actor.role == "clerk"
                           and actor.hall_id == hall.id)


@bp.route("/halls/<hall_code>/inbox/<errand_id>/accept", methods=["POST"])
@login_required
def inbox_accept(hall_code: str, errand_id: str):
    actor = _actor("clerk")
    error = None
    try:
        errand = errand_in_scope(actor, errand_id)
        case = ops.accept_errand(errand, actor=actor, cal=snapshot(), today=service_day(),
                                 now=now(), yellow_days=current_app.config["SERVICE_HALL"].yellow_days)
        db.session.commit()
        flash(f"已受理，办件编号 {case.case_no} (accepted as case {case.case_no})", "info")
    except ApiError as exc:
        error = exc
    return _done(error, url_for("errands.inbox_page", hall_code=hall_code))


@bp.route("/e/<token>")
@limiter.limit("120/minute")
def track_page(token: str):
    """The villager's page behind the receipt's QR code: status only, no personal data."""
    try:
        errand = errand_by_token(token)
    except ApiError:
        abort(404)
    return render_template("errands/track.html", errand=errand, labels=ops.STATUS_LABELS)


@bp.route("/e/<token>/qr.png")
@limiter.limit("120/minute")
def track_qr(token: str):
    try:
        errand = errand_by_token(token)
    except ApiError:
        abort(404)
    return qr_response(url_for("errands.track_page", token=errand.track_token, _external=True))
