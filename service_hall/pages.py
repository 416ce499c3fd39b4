"""The landing page: links to every screen of the county hall and its township halls."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from service_hall.catalog.models import Hall
from service_hall.extensions import db

bp = Blueprint("pages", __name__, template_folder="templates")


def hall_screens(hall: Hall) -> list[dict]:
    return [
        {"label": _("自助取号机"), "hint": _("触摸屏取号、打印号票"),
         "url": url_for("kiosks.kiosk_page", hall_code=hall.code)},
        {"label": _("叫号显示屏"), "hint": _("最近叫号、等候人数、语音播报"),
         "url": url_for("windows.display", hall_code=hall.code)},
    ]


def staff_links() -> list[dict]:
    return [
        {"label": _("窗口工作台"), "hint": _("叫号、重呼、过号、办理、转办、暂停"),
         "url": url_for("windows.console")},
        {"label": _("工作人员登录"), "hint": _("窗口人员、督查、管理员"), "url": url_for("auth.login")},
        {"label": _("督查工作台"), "hint": _("实时排队、按时办结率、预警、三函"),
         "url": url_for("supervision.dashboard")},
        {"label": _("事项目录"), "hint": _("管理员维护部门、事项、窗口"),
         "url": url_for("catalog.catalog_page")},
        {"label": _("叫号语音包"), "hint": _("录制、试听、导入导出各大厅的叫号语音"),
         "url": url_for("voice.pick_hall")},
        {"label": _("接口文档"), "hint": "OpenAPI 3", "url": url_for("openapi.openapi_json")},
    ]


@bp.route("/")
def index():
    county = db.session.scalars(select(Hall).where(Hall.level == "county")
                                .order_by(Hall.code)).first()
    townships = []
    if county is not None:
        townships = db.session.scalars(select(Hall).where(
            Hall.parent_id == county.id, Hall.level == "township").order_by(Hall.code)).all()
    return render_template("index.html", county=county,
                           screens=hall_screens(county) if county else [],
                           staff=staff_links(),
                           townships=[(hall, hall_screens(hall)) for hall in townships])


@bp.route("/healthz")
def healthz():
    """Liveness for the proxy, systemd and monitoring: the process answers and reaches its
    database. No session, no template, nothing written."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()  # end the read-only transaction (on SQLite: release the lock)
    except SQLAlchemyError as exc:
        db.session.rollback()
        return jsonify({"status": "error", "database": type(exc).__name__}), 503
    return jsonify({"status": "ok", "database": "ok"})
