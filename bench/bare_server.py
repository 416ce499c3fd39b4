"""Baseline for bench/fanout.py: a bare Flask-SocketIO gevent server that only broadcasts.

Clients connect to ``/live`` with ``auth = {hall}`` and join ``hall:<code>``; ``POST /emit``
with ``{hall, events: [{type, data}, ...]}`` broadcasts those events to that room, in order, each
in the app's envelope ``{seq, type, hall, at, data}``. No database, no checks, stock
Flask-SocketIO transport: what the framework itself costs per delivery. Served by gunicorn with
docs/deploy/gunicorn.conf.py:

    SERVICE_HALL_BIND=127.0.0.1:8100 gunicorn -c docs/deploy/gunicorn.conf.py bench.bare_server:app
"""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

from flask import Flask, jsonify, request
from flask_socketio import SocketIO, join_room

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
