"""The ``/live`` Socket.IO namespace (SPEC 5): connect, subscribe, resume from ``since``.

A client connects with ``auth = {token?, hall?, track?, window?, since?}`` and is put in the
rooms ``realtime.access`` allows, or refused (``connect_error`` with ``{message, data: {code}}``).
With ``since`` it first gets every event of that hall with a greater seq from the event log, in
order, then ``ready`` ``{hall, seq, replayed}``, then live ones (without ``since``: ``ready``
with the hall's current seq at once). Too much missed, or a ``since`` ahead of the log, gets
``resync`` ``{hall, seq, missed}`` instead: reload the state, then go on from ``seq``. An event
may arrive twice around a resume: clients drop any seq <= the last one they saw.

``subscribe`` (same fields, no token) joins more rooms after connect, with the same checks, and
ends the same way (``ready`` or ``resync``); it answers (acknowledgement) ``{hall, rooms}`` or
``{error: {code, message}}``, and emits ``error`` on refusal.

Handlers own their database session: nothing is held across a connection (``db.session.remove``
at the end of each handler and of each replay).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask, current_app, request
from flask_socketio import ConnectionRefusedError, Namespace, join_room
from sqlalchemy import func, or_, select

from realtime.access import Follow, Refused, Request, plan
from realtime.models import Event, EventCounter
from realtime.publish import NAMESPACE, replay_clause
from service_hall.auth.actor import Actor
from service_hall.auth.operations import actor_from_bearer
from service_hall.extensions import db, socketio

log = logging.getLogger(__name__)
CONNECT_WAIT_SECONDS = 5.0
MAX_ROUNDS = 50  # re-reads of the log while live events keep coming during a replay
BATCH = 500


@dataclass
class Client:
    actor: Actor | None
    follows: dict[str, Follow] = field(default_factory=dict)  # by hall code

    def add(self, follow: Follow) -> Follow:
        known = self.follows.setdefault(follow.hall_code, Follow(follow.hall_code, follow.hall_id))
        known.rooms.extend(r for r in follow.rooms if r not in known.rooms)
        return known


_clients: dict[str, Client] = {}  # this process's connections, by sid


def _actor(token: str | None) -> Actor | None:
    """No token: a public client, even from a browser with a staff login (a public screen must
    never get staff events because someone signed in on it)."""
    if token is None:
        return None
    settings = current_app.config["SERVICE_HALL"]
    actor = actor_from_bearer(token, secret=settings.secret_key, hours=settings.token_hours)
    if actor is None:
        raise Refused("invalid_token", "令牌无效或已过期 (invalid or expired token)")
    return actor


class LiveNamespace(Namespace):
    def on_connect(self, auth=None):
        try:
            want = Request.parse(auth, allow_token=True)
            actor = _actor(want.token)
            follow = plan(actor, want)
        except Refused as refused:
            raise ConnectionRefusedError(refused.message, {"code": refused.code})
        except Exception:
            log.exception("refusing a /live connection after an unexpected error")
            raise ConnectionRefusedError("服务器内部错误 (internal error)",
                                         {"code": "internal_error"})
        finally:
            db.session.remove()
        sid = request.sid
        _clients[sid] = client = Client(actor)
        _join(sid, client, follow, want.since)
        # The client is told it is connected only after this handler returns: replay then.
        socketio.start_background_task(_resume, current_app._get_current_object(), sid,
                                       follow.hall_code, follow.hall_id, want.since)

    def on_subscribe(self, data=None):
        sid = request.sid
        client = _clients.get(sid)
        try:
            if client is None:
                raise Refused("not_connected", "未连接 (not connected)")
            want = Request.parse(data, allow_token=False)
            follow = plan(client.actor, want)
        except Refused as refused:
            _send(sid, "error", refused.payload())
            return {"error": refused.payload()}
        finally:
            db.session.remove()
        rooms = _join(sid, client, follow, want.since).rooms
        _resume(current_app._get_current_object(), sid, follow.hall_code, follow.hall_id,
                want.since)
        return {"hall": follow.hall_code, "rooms": list(rooms)}

    def on_disconnect(self, reason=None):
        _clients.pop(request.sid, None)
        _gate().forget(request.sid)


def _gate():
    return socketio.server.manager


def _join(sid: str, client: Client, follow: Follow, since: int | None) -> Follow:
    if since is not None:
        _gate().hold(sid, follow.hall_code)  # before joining: nothing live overtakes the replay
    for room in follow.rooms:
        join_room(room, sid=sid, namespace=NAMESPACE)
    return client.add(follow)


def _send(sid: str, event: str, data: dict) -> None:
    # Straight to this process's client: a replay is not broadcast through the message queue.
    socketio.server.emit(event, data, to=sid, namespace=NAMESPACE, ignore_queue=True)


def _current_seq(hall_id) -> int:
    return db.session.scalar(select(EventCounter.value).where(EventCounter.hall_id == hall_id)) or 0


def _seq_now(gate, hall_code: str, hall_id) -> int:
    """For ``ready`` without ``since``: the hall's logged seq, read once for all the clients
    connecting while this process delivers no event of the hall (``realtime.replay``: any
    event logged after the read reaches them live, as they are in the room already)."""
    return gate.shared_reads.get(hall_code, (hall_id, "seq"), lambda: _fresh_current(hall_id))


def _resume(app: Flask, sid: str, hall_code: str, hall_id, since: int | None) -> None:
    """Send the events of a hall after ``since`` that this client may see, then ``ready``."""
    gate = _gate()
    with app.app_context():
        try:
            _resume_in_context(gate, app, sid, hall_code, hall_id, since)
        except Exception:
            log.exception("resuming %s on %s failed; disconnecting it", sid, hall_code)
            socketio.server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
        finally:
            gate.release(sid, hall_code)
            db.session.remove()


def _resume_in_context(gate, app: Flask, sid: str, hall_code: str, hall_id,
                       since: int | None) -> None:
    if not _wait_connected(sid):
        return
    if since is None:
        _send(sid, "ready", {"hall": hall_code, "seq": _seq_now(gate, hall_code, hall_id),
                             "replayed": 0})
        return
    rooms = tuple(_clients[sid].follows[hall_code].rooms)
    wanted = or_(*(replay_clause(room) for room in rooms))
    limit = app.config["SERVICE_HALL"].replay_limit
    last, sent, current, missed = since, 0, None, 0
    for _round in range(MAX_ROUNDS):
        gate.start_round(sid, hall_code)
        logged, envelopes = gate.shared_reads.get(
            hall_code, (hall_id, rooms, last), lambda after=last: _read_after(hall_id, wanted,
                                                                               after))
        if current is None:  # the first read decides: replay, or reload (resync)
            current = logged
            if since > current:
                # A shared read may predate what the client saw through another process
                # (events this process has not delivered yet): ask the log itself.
                current = max(current, _fresh_current(hall_id))
            missed = len(envelopes) if len(envelopes) < BATCH else _count_after(
                hall_id, wanted, since)
            if since > current or missed > limit:
                gate.release(sid, hall_code)  # a reload follows: live events from here on
                _send(sid, "resync", {"hall": hall_code, "seq": _fresh_current(hall_id),
                                      "missed": missed})
                return
        for envelope in envelopes:
            _send(sid, envelope["type"], envelope)
        if envelopes:
            last, sent = envelopes[-1]["seq"], sent + len(envelopes)
        if len(envelopes) == BATCH:
            last, sent = _replay(sid, hall_id, wanted, last, sent)  # a long gap: the rest
        if gate.release_if_caught_up(sid, hall_code):
            _send(sid, "ready", {"hall": hall_code, "seq": max(last, current),
                                 "replayed": sent})
            return
        # A live event went by during the read: read again, still holding.
    gate.release(sid, hall_code)  # the hall is too busy to catch up: reload instead
    _send(sid, "resync", {"hall": hall_code, "seq": _fresh_current(hall_id),
                          "missed": missed})


def _read_after(hall_id, wanted, after: int) -> tuple[int, list[dict]]:
    """The hall's logged seq, then (a later snapshot: it covers every seq up to that one) the
    first ``BATCH`` events after ``after`` for these rooms, as envelopes."""
    try:
        current = _current_seq(hall_id)
        rows = db.session.scalars(select(Event).where(
            Event.hall_id == hall_id, Event.seq > after, wanted)
            .order_by(Event.seq).limit(BATCH)).all()
        return current, [row.envelope() for row in rows]
    finally:
        db.session.rollback()  # end the read at once: SQLite readers hold the write lock


def _count_after(hall_id, wanted, since: int) -> int:
    try:
        return db.session.scalar(select(func.count()).select_from(Event).where(
            Event.hall_id == hall_id, Event.seq > since, wanted))
    finally:
        db.session.rollback()


def _fresh_current(hall_id) -> int:
    try:
        return _current_seq(hall_id)
    finally:
        db.session.rollback()


def _replay(sid: str, hall_id, wanted, last: int, sent: int) -> tuple[int, int]:
    """Send the logged events after ``last`` in seq order; the new last seq and count."""
    while True:
        _current, envelopes = _read_after(hall_id, wanted, last)
        for envelope in envelopes:
            _send(sid, envelope["type"], envelope)
        if envelopes:
            last, sent = envelopes[-1]["seq"], sent + len(envelopes)
        if len(envelopes) < BATCH:
            return last, sent


def _wait_connected(sid: str) -> bool:
    waited = 0.0
    while not socketio.server.manager.is_connected(sid, NAMESPACE):
        if sid not in _clients or waited >= CONNECT_WAIT_SECONDS:
            return False
        socketio.sleep(0.005)
        waited += 0.005
    return True


def register(sio) -> None:
    """Register the namespace once (``create_app`` may run several times in one process)."""
    if not any(isinstance(h, LiveNamespace) for h in sio.namespace_handlers):
        sio.on_namespace(LiveNamespace(NAMESPACE))
