"""Window pages: the clerk's console and the hall display board."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from kiosks.models import Ticket
from kiosks.views import last_seq, page_hall, short_department, status_labels
from service_hall.auth.operations import issue_token
from service_hall.catalog.models import Hall
from service_hall.catalog.queries import offered_items
from service_hall.clock import local, now, service_day
from service_hall.extensions import db, limiter
from service_hall.voice.segments import announcement
from windows.models import Window
from windows.queue import waiting_for_window

bp = Blueprint("windows", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/windows")

STATE_LABELS = {"closed": _l("未开窗"), "idle": _l("空闲"), "serving": _l("办理中"),
                "paused": _l("暂停"), "away": _l("离岗")}
LATEST_CALLS = 8
SPECIAL_CATEGORIES = {"V": _l("绿色通道"), "Y": _l("预约")}


# --- window console -----------------------------------------------------------------------

def _console_window() -> Window | None:
    """The clerk's window: assigned, else where signed in, else the one picked (?window=)."""
    user = current_user
    if user.window_id:
        return db.session.get(Window, user.window_id)
    signed_in = db.session.scalars(select(Window).where(
        Window.signed_in_user_id == user.id)).first()
    if signed_in is not None:
        return signed_in
    code = request.args.get("window", "")
    if code:
        window = db.session.scalars(select(Window).where(
            Window.code == code, Window.hall_id == user.hall_id)).first()
        if window is None:
            abort(404)
        return window
    return None


def console_state(window: Window) -> dict:
    ticket = db.session.get(Ticket, window.current_ticket_id) if window.current_ticket_id else None
    current = None
    if ticket is not None:
        current = {**ticket.staff_json(), "item_name": ticket.item.name}
    return {
        "window": {"code": window.code, "number": window.number, "state": window.state,
                   "reason": window.state_reason,
                   "signed_in": window.signed_in_user_id == current_user.id},
        "ticket": current,
        "waiting": waiting_for_window(window, now=now()),
    }


def _require_clerk() -> None:
    if current_user.role != "clerk":
        abort(403)


@bp.route("/console")
@login_required
def console():
    _require_clerk()
    window = _console_window()
    if window is None:
        windows = db.session.scalars(select(Window).where(Window.hall_id == current_user.hall_id)
                                     .order_by(Window.number)).all()
        return render_template("windows/pick_window.html", windows=windows)
    hall = window.hall
    settings = current_app.config["SERVICE_HALL"]
    token, _expires = issue_token(current_user, secret=settings.secret_key,
                                  hours=settings.token_hours, now=now())
    api = {action: url_for(f"api.windows_api_window_{action.replace('-', '_')}",
                           window_code=window.code)
           for action in ("recall", "no-show", "start", "finish")}
    api.update({"call-next": url_for("api.windows_api_call_next", window_code=window.code),
                "transfer": url_for("api.windows_api_transfer", window_code=window.code),
                "state": url_for("api.windows_api_set_state", window_code=window.code),
                "status": url_for("windows.console_status", window=window.code)})
    other_windows = db.session.scalars(select(Window).where(
        Window.hall_id == hall.id, Window.id != window.id).order_by(Window.number)).all()
    return render_template(
        "windows/console.html", window=window, hall=hall, state=console_state(window),
        seq=last_seq(hall), live_token=token, api=api, items=offered_items(hall),
        other_windows=other_windows, ticket_labels=status_labels(),
        state_labels={k: str(v) for k, v in STATE_LABELS.items()},
        strings={"nobody": _("当前没有等候的号"), "failed": _("操作失败："),
                 "reason_needed": _("请填写原因"), "offline": _("网络中断，请稍后重试")})


@bp.route("/console/status.json")
@login_required
def console_status():
    _require_clerk()
    window = _console_window()
    if window is None:
        abort(404)
    return jsonify(console_state(window))


# --- hall display board ---------------------------------------------------------------------

def latest_calls(hall: Hall, limit: int = LATEST_CALLS) -> list[dict]:
    tickets = db.session.scalars(
        select(Ticket).where(Ticket.hall_id == hall.id, Ticket.service_day == service_day(),
                             Ticket.called_at.is_not(None), Ticket.window_id.is_not(None))
        .options(joinedload(Ticket.window))
        .order_by(Ticket.called_at.desc()).limit(limit))
    return [{"number": t.number, "window_number": t.window.number, "status": t.status,
             "at": local(t.called_at).strftime("%H:%M")} for t in tickets]


def waiting_by_category(hall: Hall) -> list[dict]:
    """Waiting tickets per queue category (the number's prefix letter), every category shown."""
    labels: dict[str, list[str]] = {}
    for item in offered_items(hall):
        names = labels.setdefault(item.prefix, [])
        short = short_department(item.department.name, hall.name)
        if short not in names:
            names.append(short)
    prefix = func.substr(Ticket.number, 1, 1)
    counts = dict(db.session.execute(
        select(prefix, func.count()).where(Ticket.hall_id == hall.id,
                                           Ticket.service_day == service_day(),
                                           Ticket.status == "waiting")
        .group_by(prefix)).all())
    rows = []
    for letter in sorted(set(labels) | set(counts) | {"V"}):  # green channel always shown
        if letter in SPECIAL_CATEGORIES:
            label = str(SPECIAL_CATEGORIES[letter])
        else:
            names = labels.get(letter, [])
            label = "、".join(names[:2]) + (_("等") if len(names) > 2 else "")
        rows.append({"category": letter, "label": label, "waiting": counts.get(letter, 0)})
    return rows


def board_state(hall: Hall) -> dict:
    return {"calls": latest_calls(hall), "waiting": waiting_by_category(hall)}


@bp.route("/display/<hall_code>")
def display(hall_code: str):
    hall = page_hall(hall_code)
    board = board_state(hall)
    latest = board["calls"][0] if board["calls"] else None
    return render_template("windows/display.html", hall=hall, board=board, seq=last_seq(hall),
                           caption=announcement(latest["number"], latest["window_number"])
                           if latest else None)


@bp.route("/display/<hall_code>/board.json")
@limiter.limit("300/minute")  # several boards of a hall may share one address
def display_board(hall_code: str):
    return jsonify(board_state(page_hall(hall_code)))
