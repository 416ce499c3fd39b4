"""Sending committed events to Socket.IO rooms (through Redis when configured).

Rooms: ``hall:<code>`` public clients (display boards, phones) get public events;
``staff:<code>`` staff of the hall get every event; ``window:<code>`` a window's pads and LED;
``track:<token>`` the phone following one ticket.
"""
from __future__ import annotations

from flask import Flask

from realtime.events import set_publisher
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
    rooms = [staff_room(event.hall_code)]
    if event.audience == "public":
        rooms.append(hall_room(event.hall_code))
        if event.window_code:
            rooms.append(window_room(event.window_code))
        if event.track_token:
            rooms.append(track_room(event.track_token))
    return rooms


def publish(events) -> None:
    for event in events:
        socketio.emit(event.type, event.envelope, to=rooms_for(event), namespace=NAMESPACE)


def install_publisher(app: Flask) -> None:
    set_publisher(publish)
