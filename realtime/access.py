"""Who may follow what on ``/live`` (SPEC 5): the rooms a client asks for, checked.

- No token: a public client (display board, phone) may follow ``hall:<code>`` of a known hall
  and ``track:<token>`` of a known ticket: public events only.
- A staff user's bearer token: ``staff:<code>`` of a hall in scope
  (``Actor.may_see_hall``); a clerk also ``window:<code>`` of the window they are assigned to
  or signed in at.
- A device token: a display or kiosk follows the public room of its own hall, a pad its window.

Every follow concerns one hall, because ``since`` counts that hall's events.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select

from kiosks.models import Ticket
from realtime.publish import hall_room, staff_room, track_room, window_room
from service_hall.auth.actor import Actor
from service_hall.catalog.models import Hall
from service_hall.extensions import db
from windows.models import Window

MAX_TEXT = 100


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def payload(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass
class Request:
    """What a client asks for, from the connect ``auth`` or a ``subscribe`` message."""

    token: str | None = None
    hall: str | None = None
    track: str | None = None
    window: str | None = None
    since: int | None = None

    @classmethod
    def parse(cls, data, *, allow_token: bool) -> "Request":
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise Refused("bad_request", "请求须为对象 (expected an object)")
        keys = {"hall", "track", "window", "since"} | ({"token"} if allow_token else set())
        unknown = sorted(set(data) - keys)
        if unknown:
            raise Refused("bad_request", f"不支持的字段 (unknown fields): {', '.join(unknown)}")
        texts = {}
        for key in ("token", "hall", "track", "window"):
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not value
                                      or len(value) > (1000 if key == "token" else MAX_TEXT)):
                raise Refused("bad_request", f"{key}: 须为非空字符串 (must be a non-empty string)")
            texts[key] = value
        since = data.get("since")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)
                                  or since < 0):
            raise Refused("bad_request", "since: 须为非负整数 (must be a whole number ≥ 0)")
        return cls(since=since, **texts)


@dataclass
class Follow:
    """One hall followed by a connection, and through which rooms."""

    hall_code: str
    hall_id: object
    rooms: list[str] = field(default_factory=list)


def out_of_scope(code: str) -> Refused:
    return Refused("out_of_scope", f"您无权访问大厅 {code} (hall {code} is outside your scope)")


def _unknown_hall(code: str) -> Refused:
    return Refused("unknown_hall", f"没有编码为 {code} 的大厅 (no hall with code {code!r})")


def _hall(code: str) -> Hall:
    hall = db.session.scalars(select(Hall).where(Hall.code == code)).first()
    if hall is None:
        raise _unknown_hall(code)
    return hall


class HallRef(NamedTuple):
    id: object
    code: str


def _hall_ref(code: str) -> HallRef:
    """A public screen's hall by code: its id and code only (one indexed read, no ORM object).
    Not cached across requests: a per-process cache would outlive a hall deleted and made
    again elsewhere (the database is the one place that knows)."""
    row = db.session.execute(select(Hall.id, Hall.code).where(Hall.code == code)).first()
    if row is None:
        raise _unknown_hall(code)
    return HallRef(*row)


def _ticket_hall(track: str) -> Hall:
    ticket = db.session.scalars(select(Ticket).where(Ticket.track_token == track)).first()
    if ticket is None:
        raise Refused("unknown_ticket", "没有这张号 (no such ticket)")
    return ticket.hall


def _same_hall(first: Hall | HallRef | None, second: Hall | HallRef) -> Hall | HallRef:
    if first is not None and first.id != second.id:
        raise Refused("bad_request", "一次只能跟随一个大厅 (hall, window and ticket must be of "
                                     "one hall)")
    return second


def plan(actor: Actor | None, want: Request) -> Follow:
    """Check a request against the rules above; the hall and rooms to join, or Refused."""
    if actor is None:
        return _public(want)
    if actor.kind == "device":
        return _device(actor, want)
    if actor.kind == "user":
        return _staff(actor, want)
    raise Refused("forbidden", "此令牌不能用于实时连接 (this token cannot follow a hall)")


def _public(want: Request) -> Follow:
    if want.window:
        raise Refused("forbidden", "窗口频道需要令牌 (a window room needs a token)")
    hall, rooms = None, []
    if want.track:
        hall = _ticket_hall(want.track)
        rooms.append(track_room(want.track))
    if want.hall:
        hall = _same_hall(hall, _hall_ref(want.hall))
        rooms.insert(0, hall_room(hall.code))
    if hall is None:
        raise Refused("bad_request", "请指定大厅或取号凭证 (give hall or track)")
    return Follow(hall.code, hall.id, rooms)


def _device(actor: Actor, want: Request) -> Follow:
    own = db.session.get(Hall, actor.hall_id)
    if want.hall and want.hall != own.code:
        raise out_of_scope(want.hall)
    if want.track:
        raise Refused("forbidden", "设备只跟随本大厅或本窗口 (devices follow their own hall or "
                                   "window)")
    if actor.role == "pad":
        window = db.session.get(Window, actor.window_id) if actor.window_id else None
        if window is None:
            raise Refused("forbidden", "此窗口屏未绑定窗口 (this pad is not attached to a window)")
        if want.window and want.window != window.code:
            raise Refused("not_your_window", f"此窗口屏属于{window.code}号窗口 (this pad belongs "
                                             f"to window {window.code})")
        return Follow(own.code, own.id, [window_room(window.code)])
    if want.window:
        raise Refused("forbidden", "此设备不能跟随窗口频道 (this device cannot follow a window)")
    return Follow(own.code, own.id, [hall_room(own.code)])


def _staff(actor: Actor, want: Request) -> Follow:
    if want.hall:
        hall = _hall(want.hall)
    elif actor.hall_id is not None:
        hall = db.session.get(Hall, actor.hall_id)
    else:
        raise Refused("bad_request", "请指定大厅 (give hall)")
    if not actor.may_see_hall(hall):
        raise out_of_scope(hall.code)
    rooms = [staff_room(hall.code)]
    if want.window:
        window = db.session.scalars(select(Window).where(Window.code == want.window)).first()
        mine = (window is not None and window.hall_id == hall.id and actor.role == "clerk"
                and actor.user_id is not None
                and (window.id == actor.window_id or window.signed_in_user_id == actor.user_id))
        if not mine:
            raise Refused("not_your_window", f"您未在窗口 {want.window} 登录 (window "
                                             f"{want.window} is not yours)")
        rooms.append(window_room(window.code))
    if want.track:
        _same_hall(hall, _ticket_hall(want.track))
        rooms.append(track_room(want.track))
    return Follow(hall.code, hall.id, rooms)
