"""Kiosk and ticket-tracking pages."""
from __future__ import annotations

from flask import Blueprint, render_template

from service_hall.catalog.queries import hall_by_code, offered_items

bp = Blueprint("kiosks", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/kiosks")


@bp.route("/kiosk/<hall_code>")
def kiosk_page(hall_code: str):
    hall = hall_by_code(hall_code)
    return render_template("kiosks/kiosk.html", hall=hall, items=offered_items(hall))


@bp.route("/t/<token>")
def track_page(token: str):
    return render_template("kiosks/track.html", token=token)
