"""Window API: the clerk's actions on the window they are signed in at."""
from __future__ import annotations

from flask import current_app, jsonify
from sqlalchemy import select

from service_hall.api import endpoint
from service_hall.auth.actor import Actor
from service_hall.catalog.queries import offered_item
from service_hall.clock import now
from service_hall.errors import not_found
from service_hall.extensions import db
from service_hall.schemas import TICKET, WINDOW, obj
from windows import operations as ops
from windows.models import Window

CLERK = ("clerk",)
TICKET_ANSWER = obj({"ticket": TICKET})
TRANSFER_BODY = {
    "type": "object",
    "properties": {"item_code": {"type": "string", "minLength": 1, "maxLength": 40},
                   "window_number": {"type": "integer", "minimum": 1, "maximum": 9999}},
    "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
}
STATE_BODY = {
    "type": "object",
    "required": ["state"],
    "properties": {"state": {"enum": ["closed", "idle", "paused", "away"]},
                   "reason": {"type": "string", "maxLength": 200}},
    "additionalProperties": False,
}


def window_by_code(code: str) -> Window:
    window = db.session.scalars(select(Window).where(Window.code == code)).first()
    if window is None:
        raise not_found(f"没有编码为 {code} 的窗口 (no window {code!r})", "unknown_window")
    return window


def _ratio() -> tuple[int, int]:
    return current_app.config["SERVICE_HALL"].green_ratio


def _answer(ticket):
    answer = {"ticket": ticket.staff_json()}  # before commit: nothing expires, nothing reloads
    db.session.commit()
    return jsonify(answer)


@endpoint("/windows/<window_code>/call-next", "POST", summary="Call the next ticket",
          tag="windows", allow=CLERK, responses={200: TICKET_ANSWER, 204: None, 403: None,
                                                  404: None, 409: None})
def call_next(actor: Actor, window_code: str):
    ticket = ops.call_next(window_by_code(window_code), actor=actor, now=now(), ratio=_ratio())
    if ticket is None:
        db.session.commit()
        return "", 204
    return _answer(ticket)


def _simple(action: str, summary: str):
    operation = {"recall": ops.recall, "no-show": ops.mark_no_show, "start": ops.start,
                 "finish": ops.finish}[action]

    def view(actor: Actor, window_code: str):
        return _answer(operation(window_by_code(window_code), actor=actor, now=now()))

    view.__name__ = f"window_{action.replace('-', '_')}"
    endpoint(f"/windows/<window_code>/{action}", "POST", summary=summary, tag="windows",
             allow=CLERK, responses={200: TICKET_ANSWER, 403: None, 404: None, 409: None})(view)


_simple("recall", "Call the current ticket again (after 3 calls it becomes a no-show)")
_simple("no-show", "Mark the current ticket as not having come")
_simple("start", "Start serving the current ticket")
_simple("finish", "Finish the current ticket")


@endpoint("/windows/<window_code>/transfer", "POST",
          summary="Transfer the current ticket to another item or window", tag="windows",
          allow=CLERK, body=TRANSFER_BODY,
          responses={200: TICKET_ANSWER, 403: None, 404: None, 409: None, 422: None})
def transfer(actor: Actor, window_code: str, body: dict):
    window = window_by_code(window_code)
    ops.assert_acts_for(actor, window)
    item = offered_item(window.hall, body["item_code"]) if "item_code" in body else None
    target = None
    if "window_number" in body:
        target = db.session.scalars(select(Window).where(
            Window.hall_id == window.hall_id, Window.number == body["window_number"])).first()
        if target is None:
            raise not_found(f"本大厅没有{body['window_number']}号窗口 (no such window)",
                            "unknown_window")
    return _answer(ops.transfer(window, actor=actor, now=now(), item=item, target=target))


@endpoint("/windows/<window_code>/state", "PUT",
          summary="Open, pause, leave or close the window (reason required for pause/away)",
          tag="windows", allow=CLERK, body=STATE_BODY,
          responses={200: WINDOW, 403: None, 404: None, 409: None, 422: None})
def set_state(actor: Actor, window_code: str, body: dict):
    settings = current_app.config["SERVICE_HALL"]
    window = ops.set_state(window_by_code(window_code), body["state"], actor=actor, now=now(),
                           reason=body.get("reason", ""),
                           pause_max_minutes=settings.pause_max_minutes)
    answer = window.public()
    db.session.commit()
    return jsonify(answer)
