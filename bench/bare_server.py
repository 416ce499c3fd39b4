"""Baseline for bench/fanout.py: a bare Flask-SocketIO gevent server that only broadcasts.

Clients connect to ``/live`` with ``auth = {hall}`` and join ``hall:<code>``; ``POST /emit``
with ``{hall, type, data}`` broadcasts one event to that room. No database, no checks: what
Flask-SocketIO itself costs per delivery. Served by gunicorn with docs/deploy/gunicorn.conf.py:

    SERVICE_HALL_BIND=127.0.0.1:8100 gunicorn -c docs/deploy/gunicorn.conf.py bench.bare_server:app
"""
from __future__ import annotations

from flask import Flask, jsonify, request
from flask_socketio import SocketIO, join_room

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins=None)


@socketio.on("connect", namespace="/live")
def connect(auth=None):
    join_room(f"hall:{(auth or {}).get('hall', '')}")


@app.post("/emit")
def emit():
    body = request.get_json()
    socketio.emit(body["type"], {"type": body["type"], "hall": body["hall"], "data": body["data"]},
                  to=f"hall:{body['hall']}", namespace="/live")
    return jsonify({"ok": True})


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})
