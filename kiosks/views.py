"""Citizen-facing pages: the kiosk, the ticket tracking page, the printable ticket, its QR code."""
from __future__ import annotations

import os
from itertools import groupby

from flask import Blueprint, Response, abort, render_template, url_for
from sqlalchemy import func, select
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kiosks.api import ticket_by_track_token, track_json
from realtime.models import Event
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import hall_by_code, offered_items
from service_hall.clock import local
from service_hall.errors import ApiError
from service_hall.extensions import db
from service_hall.qrcodes import qr_png, qr_svg
from windows.operations import NO_SHOW_NOTICE

bp = Blueprint("kiosks", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/kiosks")

STATUS_LABELS = {
    "waiting": _l("等候中"), "called": _l("已叫号"), "serving": _l("正在办理"),
    "done": _l("已办结"), "no_show": _l("已过号"), "transferred": _l("已转办"),
    "cancelled": _l("已取消"),
}


def page_hall(code: str) -> Hall:
    try:
        return hall_by_code(code)
    except ApiError:
        abort(404)


def page_ticket(token: str):
    try:
        return ticket_by_track_token(token)
    except ApiError:
        abort(404)


@bp.app_template_filter("short_department")
def short_department(name: str, hall_name: str) -> str:
    """"绥德县公安局" in "绥德县政务服务中心" → "公安局": the county's name is on the screen already."""
    common = os.path.commonprefix([name, hall_name])
    return name[len(common):] if len(common) >= 2 and len(name) - len(common) >= 2 else name


def last_seq(hall: Hall) -> int:
    """The hall's latest event: live clients resume after the state the page was drawn from."""
    return db.session.scalar(select(func.max(Event.seq)).where(Event.hall_id == hall.id)) or 0


def status_labels() -> dict[str, str]:
    return {key: str(label) for key, label in STATUS_LABELS.items()}


@bp.route("/kiosk/<hall_code>")
def kiosk_page(hall_code: str):
    hall = page_hall(hall_code)
    items = offered_items(hall)
    departments = [(department, list(group)) for department, group in
                   groupby(sorted(items, key=lambda i: (i.department.code, i.code)),
                           key=lambda i: i.department)]
    strings = {
        "no_device": _("本机未登记为取号机，请联系管理员。"),
        "taking": _("正在取号，请稍候…"),
        "retrying": _("网络中断，正在重试…请勿离开"),
        "failed": _("取号失败："),
        "printed": _("请取走打印的号票"),
        "not_printed": _("未能打印号票，请记住号码或用手机扫码"),
    }
    return render_template("kiosks/kiosk.html", hall=hall, departments=departments,
                           item_count=len(items), strings=strings)


@bp.route("/t/<token>")
def track_page(token: str):
    ticket = page_ticket(token)
    state = track_json(ticket)
    return render_template("kiosks/track.html", token=token, state=state, seq=last_seq(ticket.hall),
                           labels=status_labels(), notice=NO_SHOW_NOTICE,
                           qr_url=url_for("kiosks.ticket_qr", token=token))


@bp.route("/t/<token>/qr.svg")
def ticket_qr(token: str):
    page_ticket(token)
    svg = qr_svg(url_for("kiosks.track_page", token=token, _external=True), border=2)
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=86400"})


@bp.route("/t/<token>/qr.png")
def ticket_qr_png(token: str):
    page_ticket(token)
    png = qr_png(url_for("kiosks.track_page", token=token, _external=True), border=2)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=86400"})


@bp.route("/ticket/<token>/print")
def ticket_print(token: str):
    """Print-ready paper ticket (80 mm), the fallback when no ESC/POS printer is configured."""
    ticket = page_ticket(token)
    state = track_json(ticket)
    return render_template("kiosks/ticket_print.html", state=state, notice=NO_SHOW_NOTICE,
                           issued_at=local(ticket.issued_at),
                           qr_url=url_for("kiosks.ticket_qr", token=token))
