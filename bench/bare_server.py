"""Baseline for bench/fanout.py: a bare Flask-SocketIO gevent server that only broadcasts.

Clients connect to ``/live`` with ``auth = {hall}`` and join ``hall:<code>``; ``POST /emit``
with ``{hall, events: [{type, data}, ...]}`` broadcasts those events to that room, in order, each
in the app's envelope ``{seq, type, hall, at, data}``. No database, no checks, stock
Flask-SocketIO transport: what the framework itself costs per delivery.

``POST /api/v1/halls/<code>/tickets`` with ``{item_code, green_channel}`` is the ceiling of the
stack for bench/tickets.py: a plain Flask view that sends the app's INSERTs for one ticket through
psycopg (bench/raw_ticket.py) on a connection of its own and answers the number as JSON: no ORM,
no authentication, no validation, no events published. Needs ``SERVICE_HALL_DATABASE_URL``.

Served by gunicorn with docs/deploy/gunicorn.conf.py:

    SERVICE_HALL_BIND=127.0.0.1:8100 gunicorn -c docs/deploy/gunicorn.conf.py bench.bare_server:app
"""
from __future__ import annotations

import itertools
import os
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Flask, abort, jsonify, request
from flask_socketio import SocketIO, join_room
from gevent.queue import LifoQueue

from bench import raw_ticket

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins=None)
_seq = itertools.count(1)


@socketio.on("connect", namespace="/live")
def connect(auth=None):
    join_room(f"hall:{(auth or {}).get('hall', '')}")


@app.post("/emit")
def emit():
    body = request.get_json()
    at = datetime.now(timezone.utc).isoformat()
    for event in body["events"]:
        socketio.emit(event["type"], {"seq": next(_seq), "type": event["type"],
                                      "hall": body["hall"], "at": at, "data": event["data"]},
                      to=f"hall:{body['hall']}", namespace="/live")
    return jsonify({"ok": True})


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


_free: LifoQueue = LifoQueue()   # connections to the benchmark database, opened on first use
_catalog: dict = {}


def _connection():
    if not _free.empty():
        return _free.get()
    import psycopg   # here, not at the top: it picks a gevent-friendly wait only if imported late
    conn = psycopg.connect(os.environ["SERVICE_HALL_DATABASE_URL"]
                           .replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    if not _catalog:
        halls, items, device = raw_ticket.catalog(conn)
        _catalog.update(halls=halls, items={code: (i, code, p) for i, code, p in items},
                        device=device)
    return conn


@app.post("/api/v1/halls/<code>/tickets")  # the path of the app's, for the same requests
def ticket(code: str):
    body = request.get_json()
    conn = _connection()
    try:
        halls, items = _catalog["halls"], _catalog["items"]
        if code not in halls or body.get("item_code") not in items:
            abort(404)
        number = raw_ticket.issue(conn, hall_id=halls[code], hall_code=code,
                                  item=items[body["item_code"]],
                                  green=bool(body.get("green_channel")), device=_catalog["device"],
                                  day=datetime.now(ZoneInfo("Asia/Shanghai")).date(),
                                  key=request.headers.get("Idempotency-Key"))
    finally:
        _free.put(conn)
    return jsonify({"hall_code": code, "number": number}), 201
