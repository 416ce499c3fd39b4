"""Sending committed events to Socket.IO rooms (through Redis when configured).

Rooms: ``hall:<code>`` public clients (display boards, phones) get public events, except the
window states; ``staff:<code>`` staff of the hall get every event; ``window:<code>`` a window's
pads and LED; ``track:<token>`` the phone following one ticket.
"""
from __future__ import annotations

from functools import partial

from flask import Flask
from sqlalchemy import and_, select, true

from realtime.events import set_publisher
from realtime.models import Event
from service_hall.catalog.models import Hall
from service_hall.extensions import db, socketio

NAMESPACE = "/live"


def hall_room(code: str) -> str:
    return f"hall:{code}"


def staff_room(code: str) -> str:
    return f"staff:{code}"


def window_room(code: str) -> str:
    return f"window:{code}"


def track_room(token: str) -> str:
    return f"track:{token}"


# Public events that no hall screen uses: the display board and a phone's follow of the hall
# ignore window states (the board shows calls and waiting counts; a window's own pad and the
# staff get its state, the clerk's console and the supervisors' dashboard through staff rooms). Every call cycle changes a window's state twice (serving, then idle), so
# sending them to the hall room would triple the messages each display receives per call.
NOT_FOR_HALL_SCREENS = frozenset({"window.state"})


def rooms_for(event) -> list[str]:
    """The rooms a committed event goes to. The staff room comes first and is always there:
    ``realtime.gate`` reads the event's hall from it. :func:`replay_clause` is the inverse."""
    rooms = [staff_room(event.hall_code)]
    if event.audience == "public":
        if event.type not in NOT_FOR_HALL_SCREENS:
            rooms.append(hall_room(event.hall_code))
        if event.window_code:
            rooms.append(window_room(event.window_code))
        if event.track_token:
            rooms.append(track_room(event.track_token))
    return rooms


def replay_clause(room: str):
    """Which logged events of a hall a member of ``room`` receives: must agree with
    :func:`rooms_for` (a replay sends what the client would have got live)."""
    kind, _, key = room.partition(":")
    public = Event.audience == "public"
    if kind == "staff":
        return true()
    if kind == "hall":
        return and_(public, Event.type.not_in(NOT_FOR_HALL_SCREENS))
    if kind == "window":
        return and_(public, Event.window_code == key)
    if kind == "track":
        return and_(public, Event.track_token == key)
    raise ValueError(room)


def hall_of(rooms) -> str | None:
    """The hall of an emission to :func:`rooms_for` rooms (None for anything else)."""
    for room in rooms:
        if room.startswith("staff:"):
            return room[len("staff:"):]
    return None


def publish(events) -> None:
    for event in events:
        socketio.emit(event.type, event.envelope, to=rooms_for(event), namespace=NAMESPACE)


def read_log(app: Flask, manager, hall_code: str, first: int, last: int) -> list:
    """Events ``first``..``last`` of a hall from the log, each with how to deliver it to this
    process's clients (for ``realtime.sequencer`` when a published event went missing)."""
    with app.app_context():
        try:
            # Through the hall's id: (hall_id, seq) is the log's index.
            rows = db.session.scalars(select(Event).join(Hall, Hall.id == Event.hall_id).where(
                Hall.code == hall_code, Event.seq >= first, Event.seq <= last)
                .order_by(Event.seq)).all()
            found = [(row.seq, row.type, row.envelope(), rooms_for(row)) for row in rows]
        finally:
            db.session.remove()
    return [(seq, partial(manager.deliver_here, type_, envelope, rooms))
            for seq, type_, envelope, rooms in found]


def install_publisher(app: Flask) -> None:
    set_publisher(publish)
