"""Sending committed events to Socket.IO rooms (through Redis when configured).

Rooms: ``hall:<code>`` public clients (display boards, phones) get public events;
``staff:<code>`` staff of the hall get every event; ``window:<code>`` a window's pads and LED;
``track:<token>`` the phone following one ticket.
"""
from __future__ import annotations

from flask import Flask
from sqlalchemy import and_, true

from realtime.events import set_publisher
from realtime.models import Event
from service_hall.extensions import socketio

NAMESPACE = "/live"


def hall_room(code: str) -> str:
    return f"hall:{code}"


def staff_room(code: str) -> str:
    return f"staff:{code}"


def window_room(code: str) -> str:
    return f"window:{code}"


def track_room(token: str) -> str:
    return f"track:{token}"


def rooms_for(event) -> list[str]:
    """The rooms a committed event goes to. The staff room comes first and is always there:
    ``realtime.gate`` reads the event's hall from it. :func:`replay_clause` is the inverse."""
    rooms = [staff_room(event.hall_code)]
    if event.audience == "public":
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
        return public
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


def install_publisher(app: Flask) -> None:
    set_publisher(publish)
