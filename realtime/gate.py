"""The Socket.IO client manager: live events in seq order, and a gate that keeps a resume in
order.

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

from realtime.publish import NAMESPACE, hall_of
from realtime.replay import SharedReads
from realtime.sequencer import Sequencer


class ReplayGate:
    """Mixin for a python-socketio client manager (in-process or Redis).

    A lock makes "nothing was held back, so release" one step in threading mode too; under
    gevent it is never contended across a yield."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held: dict[str, dict[str, bool]] = {}  # sid -> hall code -> an event was held
        self._lock = threading.Lock()
        self._deliveries: dict[str, int] = {}  # hall code -> events delivered by this process
        self.shared_reads = SharedReads(self.deliveries)

    def deliveries(self, hall_code: str) -> int:
        """How many events of the hall this process has delivered (``realtime.replay``)."""
        return self._deliveries.get(hall_code, 0)

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
        if not isinstance(room, (list, tuple)):
            yield from participants
            return
        hall = hall_of(room)
        if hall is not None:
            self._deliveries[hall] = self._deliveries.get(hall, 0) + 1
        if not self._held:
            yield from participants
            return
        for sid, eio_sid in participants:
            with self._lock:
                halls = self._held.get(sid)
                held = halls is not None and hall in halls
                if held:
                    halls[hall] = True
            if not held:
                yield sid, eio_sid


class OrderedDelivery:
    """Mixin: live events of each hall reach this process's clients in seq order
    (``realtime.sequencer``); missing ones are read from the event log by ``log_reader``."""

    log_reader = None  # (manager, hall code, first, last) -> [(seq, deliver)]; set by the app
    _sequencer: Sequencer | None = None

    @property
    def sequencer(self) -> Sequencer:
        if self._sequencer is None:
            reader = self.log_reader
            self._sequencer = Sequencer(
                spawn=self.server.start_background_task, sleep=self.server.sleep,
                fetch=(lambda hall, first, last: reader(self, hall, first, last))
                if reader else None)
        return self._sequencer

    def deliver_here(self, event: str, data, rooms: list[str]) -> None:
        """Emit to this process's clients only (not through the message queue)."""
        python_socketio.Manager.emit(self, event, data, NAMESPACE, room=rooms)


def sequence_key(namespace, room, data) -> tuple[str, int] | None:
    """(hall, seq) of a published event (realtime.publish), None for anything else."""
    if namespace != NAMESPACE or not isinstance(room, (list, tuple)) or not isinstance(data, dict):
        return None
    hall, seq = hall_of(room), data.get("seq")
    if hall is None or isinstance(seq, bool) or not isinstance(seq, int):
        return None
    return hall, seq


class GatedManager(OrderedDelivery, ReplayGate, python_socketio.Manager):
    """One process, no message queue."""

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None,
             **kwargs):
        room = to or room
        key = sequence_key(namespace, room, data)
        if key is None:
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                callback=callback, **kwargs)
        self.sequencer.offer(*key, lambda: python_socketio.Manager.emit(
            self, event, data, namespace, room=room, skip_sid=skip_sid))


class GatedRedisManager(OrderedDelivery, ReplayGate, python_socketio.RedisManager):
    """Several processes sharing a Redis channel: every process orders what it delivers."""

    def _handle_emit(self, message):
        data = message.get("data")
        envelope = data[0] if isinstance(data, list) and len(data) == 1 else None
        key = None if message.get("binary") else sequence_key(
            message.get("namespace"), message.get("room"), envelope)
        if key is None:
            return super()._handle_emit(message)
        parent = super()._handle_emit
        self.sequencer.offer(*key, lambda: parent(message))


def client_manager(settings, log_reader=None):
    """The manager for ``SocketIO.init_app``: through Redis when ``SERVICE_HALL_REDIS_URL`` is
    set, on ``SERVICE_HALL_REDIS_CHANNEL`` so deployments (and test runs) sharing a Redis do
    not hear each other."""
    if settings.redis_url:
        manager = GatedRedisManager(settings.redis_url, channel=settings.redis_channel)
    else:
        manager = GatedManager()
    manager.log_reader = log_reader
    return manager
