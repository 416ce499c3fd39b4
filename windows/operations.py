"""What a window clerk does (SPEC 3.2–3.3): open, call, recall, no-show, start, finish,
transfer, pause and leave. Plain functions: they change state, flush, audit and record events;
the caller owns the transaction."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from kiosks.models import Ticket
from realtime.events import record_event
from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.catalog.models import ServiceItem
from service_hall.catalog.queries import hall_by_id, item_by_id
from service_hall.clock import service_day
from service_hall.db import lock_rows
from service_hall.errors import conflict, forbidden, unprocessable
from service_hall.extensions import db
from service_hall.voice.segments import announcement, call_voice
from windows.models import STATES_NEEDING_REASON, WINDOW_STATES, Window
from windows.queue import advance_cycle, claim_next

MAX_CALLS = 3
NO_SHOW_NOTICE = "叫号三次未到窗口办理，本单作废"


def lock_window(window: Window) -> Window:
    """Serialise actions on one window (a double click must not call two tickets)."""
    return db.session.scalars(lock_rows(select(Window).where(Window.id == window.id))
                              .execution_options(populate_existing=True)).one()


def assert_acts_for(actor: Actor, window: Window) -> None:
    """Only the clerk signed in at a window acts for it (SPEC 3.3)."""
    if actor.kind != "user" or actor.role != "clerk" or window.signed_in_user_id != actor.user_id:
        raise forbidden(f"您未在{window.number}号窗口登录 (you are not signed in at window "
                        f"{window.code})", "not_your_window")


def _ticket_event(window: Window, ticket: Ticket, type_: str, *, track_token: str | None = None,
                  **extra) -> None:
    data = {"number": ticket.number, "window_number": window.number,
            "item_code": item_by_id(ticket.item_id).code, "status": ticket.status, **extra}
    record_event(db.session, hall_by_id(window.hall_id), type_, data, window_code=window.code,
                 track_token=track_token or ticket.track_token)


def _set_window_state(window: Window, state: str, actor: Actor, *, now: datetime,
                      reason: str = "") -> None:
    before = window.state
    if before == state and window.state_reason == reason:
        return
    window.state, window.state_reason, window.state_since = state, reason, now
    audit(actor, "window.state", "window", window.id, hall_id=window.hall_id,
          from_state=before, to_state=state, details={"reason": reason} if reason else None)
    record_event(db.session, hall_by_id(window.hall_id), "window.state",
                 {"window_number": window.number, "window_code": window.code, "state": state},
                 window_code=window.code)


def _current(window: Window, *allowed: str) -> Ticket:
    ticket = db.session.get(Ticket, window.current_ticket_id) if window.current_ticket_id else None
    if ticket is None:
        raise conflict("窗口当前没有号 (the window has no current ticket)", "no_current_ticket")
    if ticket.status not in allowed:
        raise conflict(f"当前号状态为{ticket.status}，不能执行此操作 (ticket is {ticket.status})",
                       "invalid_ticket_state")
    return ticket


def _release(window: Window, actor: Actor, *, now: datetime) -> None:
    window.current_ticket_id = None
    _set_window_state(window, "idle", actor, now=now)


def _change_ticket(ticket: Ticket, status: str, actor: Actor, action: str, **details) -> None:
    before = ticket.status
    ticket.status = status
    audit(actor, action, "ticket", ticket.id, hall_id=ticket.hall_id, from_state=before,
          to_state=status, details=details or None)


def set_state(window: Window, state: str, *, actor: Actor, now: datetime, reason: str = "",
              pause_max_minutes: int = 15) -> Window:
    """Open (sign in), pause or leave with a reason, return, or close (sign out) a window."""
    if state not in WINDOW_STATES or state == "serving":
        raise unprocessable("状态须为 closed、idle、paused 或 away (state must be closed, idle, "
                            "paused or away)", "invalid_state")
    reason = (reason or "").strip()
    if state in STATES_NEEDING_REASON and not reason:
        raise unprocessable("暂停或离岗须填写原因 (a reason is required)", "reason_required")
    window = lock_window(window)
    if window.signed_in_user_id is None or window.state == "closed":
        if state == "closed":
            return window
        _sign_in(window, actor)
    else:
        assert_acts_for(actor, window)
    if window.current_ticket_id is not None and state != "idle":
        raise conflict("请先办结、转办或标记过号当前号 (finish, transfer or mark the current "
                       "ticket first)", "window_busy")
    if window.current_ticket_id is not None:  # idle requested while serving: nothing to change
        return window
    window.paused_until = now + timedelta(minutes=pause_max_minutes) if state == "paused" else None
    _set_window_state(window, state, actor, now=now, reason=reason)
    if state == "closed":
        window.signed_in_user_id = None
    return window


def _sign_in(window: Window, actor: Actor) -> None:
    if actor.kind != "user" or actor.role != "clerk" or actor.hall_id != window.hall_id:
        raise forbidden(f"只有本大厅的窗口人员可以登录{window.number}号窗口 "
                        f"(only a clerk of this hall may open window {window.code})",
                        "not_your_window")
    if actor.window_id is not None and actor.window_id != window.id:
        raise forbidden(f"您被分配在其他窗口，不能登录{window.number}号窗口 (you are assigned to "
                        f"another window)", "not_your_window")
    if window.signed_in_user_id not in (None, actor.user_id):
        raise conflict("该窗口已有其他人员登录 (another clerk is signed in here)", "window_taken")
    elsewhere = db.session.scalars(select(Window).where(
        Window.signed_in_user_id == actor.user_id, Window.id != window.id)).first()
    if elsewhere is not None:
        raise conflict(f"您已在{elsewhere.number}号窗口登录，请先关闭 (you are signed in at window "
                       f"{elsewhere.code}; close it first)", "signed_in_elsewhere")
    window.signed_in_user_id = actor.user_id


def _ready_to_call(window: Window, actor: Actor) -> None:
    assert_acts_for(actor, window)
    if window.current_ticket_id is not None:
        raise conflict("请先办结、转办或标记过号当前号 (finish, transfer or mark the current "
                       "ticket first)", "window_busy")
    if window.state not in ("idle", "serving"):
        raise conflict(f"窗口状态为{window.state}，不能叫号 (window is {window.state})",
                       "window_not_open")


def call_next(window: Window, *, actor: Actor, now: datetime,
              ratio: tuple[int, int] = (1, 2)) -> Ticket | None:
    """Call the next ticket by the rule in ``windows.queue``; None when nobody waits."""
    window = lock_window(window)
    _ready_to_call(window, actor)
    claimed = claim_next(window, now=now, ratio=ratio)
    if claimed is None:
        return None
    ticket, taken = claimed
    if taken in ("green", "ordinary"):
        window.mix_cycle = advance_cycle(window.mix_cycle, taken, ratio)
    _change_ticket(ticket, "called", actor, "ticket.call", window=window.code)
    ticket.window_id = window.id
    ticket.called_at = now
    ticket.first_called_at = ticket.first_called_at or now
    ticket.call_count = 1
    window.current_ticket_id = ticket.id
    _set_window_state(window, "serving", actor, now=now)
    _ticket_event(window, ticket, "ticket.called", call=1,
                  announcement=announcement(ticket.number, window.number),
                  **call_voice(ticket.number, window.number))
    return ticket


def recall(window: Window, *, actor: Actor, now: datetime) -> Ticket:
    """Call the current ticket again; a ticket already called 3 times becomes a no-show."""
    window = lock_window(window)
    assert_acts_for(actor, window)
    ticket = _current(window, "called")
    if ticket.call_count >= MAX_CALLS:
        return _no_show(window, ticket, actor, now=now, reason=NO_SHOW_NOTICE)
    ticket.call_count += 1
    ticket.called_at = now
    audit(actor, "ticket.recall", "ticket", ticket.id, hall_id=ticket.hall_id,
          from_state="called", to_state="called", details={"call": ticket.call_count})
    _ticket_event(window, ticket, "ticket.recalled", call=ticket.call_count,
                  announcement=announcement(ticket.number, window.number),
                  **call_voice(ticket.number, window.number, recall=True))
    return ticket


def mark_no_show(window: Window, *, actor: Actor, now: datetime) -> Ticket:
    window = lock_window(window)
    assert_acts_for(actor, window)
    return _no_show(window, _current(window, "called"), actor, now=now)


def _no_show(window: Window, ticket: Ticket, actor: Actor, *, now: datetime,
             reason: str = "") -> Ticket:
    _change_ticket(ticket, "no_show", actor, "ticket.no_show", reason=reason)
    ticket.finished_at = now
    _ticket_event(window, ticket, "ticket.no_show")
    _release(window, actor, now=now)
    return ticket


def start(window: Window, *, actor: Actor, now: datetime) -> Ticket:
    window = lock_window(window)
    assert_acts_for(actor, window)
    ticket = _current(window, "called")
    _change_ticket(ticket, "serving", actor, "ticket.start")
    ticket.started_at = now
    _ticket_event(window, ticket, "ticket.started")
    return ticket


def finish(window: Window, *, actor: Actor, now: datetime) -> Ticket:
    window = lock_window(window)
    assert_acts_for(actor, window)
    ticket = _current(window, "serving")
    _change_ticket(ticket, "done", actor, "ticket.finish")
    ticket.finished_at = now
    _ticket_event(window, ticket, "ticket.done")
    _release(window, actor, now=now)
    return ticket


def transfer(window: Window, *, actor: Actor, now: datetime, item: ServiceItem | None = None,
             target: Window | None = None) -> Ticket:
    """Hand the current ticket to another item or window: the old ticket becomes ``transferred``
    and a new waiting ticket with the same number goes ahead of the ordinary queue there."""
    window = lock_window(window)
    assert_acts_for(actor, window)
    ticket = _current(window, "called", "serving")
    if (item is None) == (target is None):
        raise unprocessable("须指定 item_code 或 window_number 之一 (give item_code or "
                            "window_number)", "transfer_target")
    if target is not None:
        if target.hall_id != window.hall_id:
            raise unprocessable("只能转到本大厅的窗口 (target window is in another hall)",
                                "transfer_target")
        if target.id == window.id:
            raise unprocessable("不能转给本窗口 (cannot transfer to the same window)",
                                "transfer_target")
    moved = Ticket(
        hall_id=ticket.hall_id, service_day=ticket.service_day, number=ticket.number,
        item_id=(item or ticket.item).id, status="waiting", green_channel=ticket.green_channel,
        transferred_in=True, transferred_from_id=ticket.id,
        target_window_id=target.id if target else None, queue_at=ticket.issued_at,
        issued_at=ticket.issued_at, track_token=_next_track_token(ticket),
        issued_by_user_id=actor.user_id)
    moved.item = item or ticket.item
    db.session.add(moved)
    _change_ticket(ticket, "transferred", actor, "ticket.transfer",
                   to_item=moved.item.code, to_window=target.code if target else None)
    ticket.finished_at = now
    db.session.flush()
    # Sent to the citizen's QR code, which now follows the moved ticket.
    _ticket_event(window, ticket, "ticket.transferred", track_token=moved.track_token,
                  to_item_code=moved.item.code,
                  to_window_number=target.number if target else None)
    _release(window, actor, now=now)
    return moved


def _next_track_token(ticket: Ticket) -> str:
    # The citizen keeps following the same QR code: the token moves to the new ticket.
    token, ticket.track_token = ticket.track_token, f"x{ticket.id.hex[:31]}"
    return token


def reactivate(ticket: Ticket, *, actor: Actor, now: datetime) -> Ticket:
    """A no-show may come back once that day, entering behind the next 3 waiting tickets."""
    if ticket.status != "no_show":
        raise conflict("只有过号的号可以恢复 (only a no-show can be reactivated)",
                       "invalid_ticket_state")
    if ticket.reactivated:
        raise conflict("此号今日已恢复过一次 (already reactivated once today)",
                       "already_reactivated")
    if ticket.service_day != service_day(now):
        raise conflict("只能恢复当天的号 (only today's tickets can be reactivated)",
                       "ticket_expired")
    ahead = list(db.session.scalars(
        select(Ticket.queue_at).where(
            Ticket.hall_id == ticket.hall_id, Ticket.service_day == ticket.service_day,
            Ticket.item_id == ticket.item_id, Ticket.status == "waiting",
            Ticket.green_channel.is_(ticket.green_channel),
            Ticket.transferred_in.is_(False), Ticket.appointment_at.is_(None))
        .order_by(Ticket.queue_at, Ticket.issued_at).limit(3)))
    _change_ticket(ticket, "waiting", actor, "ticket.reactivate")
    ticket.reactivated = True
    ticket.window_id = None
    ticket.call_count = 0
    ticket.finished_at = None
    ticket.queue_at = (ahead[-1] + timedelta(microseconds=1)) if len(ahead) == 3 else now
    record_event(db.session, ticket.hall, "ticket.reactivated",
                 {"number": ticket.number, "item_code": ticket.item.code},
                 track_token=ticket.track_token)
    return ticket
