"""The landing page: links to every screen of the county hall."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, url_for
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from service_hall.catalog.models import Hall
from service_hall.extensions import db

bp = Blueprint("pages", __name__, template_folder="templates")


def page_links(hall: Hall | None) -> list[dict]:
    links = [{"label": "工作人员登录 Staff sign-in", "url": url_for("auth.login")},
             {"label": "事项目录（管理员） Item catalog (admin)",
              "url": url_for("catalog.catalog_page")},
             {"label": "接口文档 OpenAPI", "url": url_for("openapi.openapi_json")}]
    if hall is not None:
        links.insert(0, {"label": "取号机 Kiosk", "url": url_for("kiosks.kiosk_page",
                                                              hall_code=hall.code)})
    return links


@bp.route("/")
def index():
    county = db.session.scalars(select(Hall).where(Hall.level == "county")
                                .order_by(Hall.code)).first()
    return render_template("index.html", county=county, links=page_links(county))


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
