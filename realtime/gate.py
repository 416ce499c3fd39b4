"""The Socket.IO client manager, with a gate that keeps a resume in order.

A client resuming with ``since`` must get the events it missed, in order, before any live one.
Its replay is read from the event log while live events keep arriving, so while a client's
replay of a hall is being sent, live events of that hall are not delivered to it; the gate only
notes that one went by, and the replay reads the log again until a whole read passed with
nothing held back. Only then is the client released, in the same step as that check, so no
event can fall between the replay and live delivery (see docs/realtime.md).

The gate sits in ``get_participants``, which every emission to a room goes through, both for
events published in this process and for those arriving from others through Redis.
"""
from __future__ import annotations

import threading

import socketio as python_socketio

from realtime.publish import hall_of


class ReplayGate:
    """Mixin for a python-socketio client manager (in-process or Redis).

    A lock makes "nothing was held back, so release" one step in threading mode too; under
    gevent it is never contended across a yield."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held: dict[str, dict[str, bool]] = {}  # sid -> hall code -> an event was held
        self._lock = threading.Lock()

    def hold(self, sid: str, hall_code: str) -> None:
        with self._lock:
            self._held.setdefault(sid, {})[hall_code] = False

    def start_round(self, sid: str, hall_code: str) -> None:
        """Forget what was held so far: the read that follows will include it."""
        with self._lock:
            halls = self._held.get(sid)
            if halls is not None and hall_code in halls:
                halls[hall_code] = False

    def release_if_caught_up(self, sid: str, hall_code: str) -> bool:
        """Release the client unless a live event was held back since :meth:`start_round`."""
        with self._lock:
            halls = self._held.get(sid, {})
            if halls.get(hall_code):
                return False
            self._release(sid, hall_code)
            return True

    def release(self, sid: str, hall_code: str) -> None:
        with self._lock:
            self._release(sid, hall_code)

    def _release(self, sid: str, hall_code: str) -> None:
        halls = self._held.get(sid)
        if halls is not None:
            halls.pop(hall_code, None)
            if not halls:
                del self._held[sid]

    def forget(self, sid: str) -> None:
        with self._lock:
            self._held.pop(sid, None)

    def get_participants(self, namespace, room):
        participants = super().get_participants(namespace, room)
        # Published events go to a list of rooms; a single room or sid (a replay, a close)
        # is never held back.
        if not self._held or not isinstance(room, (list, tuple)):
            yield from participants
            return
        hall = hall_of(room)
        for sid, eio_sid in participants:
            with self._lock:
                halls = self._held.get(sid)
                held = halls is not None and hall in halls
                if held:
                    halls[hall] = True
            if not held:
                yield sid, eio_sid


class GatedManager(ReplayGate, python_socketio.Manager):
    """One process, no message queue."""


class GatedRedisManager(ReplayGate, python_socketio.RedisManager):
    """Several processes sharing a Redis channel."""


def client_manager(settings):
    """The manager for ``SocketIO.init_app``: through Redis when ``SERVICE_HALL_REDIS_URL`` is
    set, on ``SERVICE_HALL_REDIS_CHANNEL`` so deployments (and test runs) sharing a Redis do
    not hear each other."""
    if settings.redis_url:
        return GatedRedisManager(settings.redis_url, channel=settings.redis_channel)
    return GatedManager()
