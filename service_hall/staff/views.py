"""Public pages of staff presence: the whereabouts board, a village point's page and its
printable service card; and the small form where staff turn their own card."""
from __future__ import annotations

import os
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from service_hall.auth.operations import actor_for_user
from service_hall.catalog.queries import hall_by_code, offered_items
from service_hall.clock import now, service_day, tz
from service_hall.errors import ApiError
from service_hall.extensions import db, limiter
from service_hall.qrcodes import qr_response
from service_hall.staff import operations as ops
from service_hall.staff.models import WHEREABOUTS, WHEREABOUTS_LABELS

bp = Blueprint("staff", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/staff")
SOCKET_CLIENT = "vendor/socket.io/socket.io.min.js"


def _socket_client() -> str | None:
    """The locally served Socket.IO client, once the pages branch provides it."""
    path = os.path.join(current_app.static_folder or "", SOCKET_CLIENT)
    return url_for("static", filename=SOCKET_CLIENT) if os.path.exists(path) else None


def _village(hall_code: str):
    try:
        point = hall_by_code(hall_code)
    except ApiError:
        abort(404)
    if point.level != "village":
        abort(404)
    return point


@bp.route("/board/<hall_code>")
@limiter.limit("120/minute")
def board_page(hall_code: str):
    """The public 去向牌 of a hall: rendered here, then kept live by staff.whereabouts events."""
    try:
        hall = hall_by_code(hall_code)
    except ApiError:
        abort(404)
    return render_template("staff/board.html", hall=hall,
                           cards=ops.board(hall, today=service_day()),
                           socket_client=_socket_client())


@bp.route("/me/whereabouts", methods=["GET", "POST"])
@login_required
def whereabouts_page():
    user = current_user._get_current_object()
    if user.role not in ("clerk", "agent", "supervisor"):
        abort(403)
    today = service_day()
    if request.method == "POST":
        form = request.form
        try:
            status = form.get("status", "")
            expected = None
            if form.get("expected_return"):
                try:
                    expected = datetime.fromisoformat(form["expected_return"]).replace(tzinfo=tz())
                except ValueError:
                    raise ApiError(422, "invalid_datetime", "预计返回时间格式不正确 (bad time)")
            starts_on = today
            if form.get("from"):
                try:
                    starts_on = datetime.fromisoformat(form["from"]).date()
                except ValueError:
                    raise ApiError(422, "invalid_date", "开始日期格式不正确 (bad date)")
            ops.set_whereabouts(user, status=status, note=form.get("note", "")[:200],
                                expected_return=expected, starts_on=starts_on,
                                actor=actor_for_user(user), today=today, now=now())
        except ApiError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash("去向已更新 (whereabouts updated)", "info")
            return redirect(url_for("staff.whereabouts_page"))
    current = ops.status_on(ops.entries_for([user.id], today)[user.id], today)
    return render_template("staff/whereabouts.html", choices=WHEREABOUTS,
                           labels=WHEREABOUTS_LABELS,
                           card=ops.board_card(user, current, today=today),
                           board_url=url_for("staff.board_page", hall_code=user.hall.code)
                           if user.hall else None)


def _card_context(point) -> dict:
    today = service_day()
    township = point.parent
    return {"point": point, "township": township, "duty": ops.on_duty(point, today),
            "cadres": ops.cadres(point), "today": today,
            "items": [item for item in offered_items(point) if item.agent_loggable],
            "point_url": url_for("staff.village_page", hall_code=point.code, _external=True)}


@bp.route("/v/<hall_code>")
@limiter.limit("120/minute")
def village_page(hall_code: str):
    """A village point's public page, the one its service card's QR code opens: today's cadre
    on duty, what can be logged here, and how to follow an errand."""
    return render_template("staff/village.html", **_card_context(_village(hall_code)))


@bp.route("/v/<hall_code>/card")
def card_page(hall_code: str):
    """The printable 便民服务卡 of a village point."""
    return render_template("staff/card.html", **_card_context(_village(hall_code)))


@bp.route("/v/<hall_code>/qr.png")
@limiter.limit("120/minute")
def village_qr(hall_code: str):
    point = _village(hall_code)
    return qr_response(url_for("staff.village_page", hall_code=point.code, _external=True))
