"""Real servers and real Socket.IO clients for tests.

``python -m service_hall.server`` runs as a subprocess (gevent) on a free port against the test
database; the fixtures stop every process they started. Plugged into every test by
``tests/conftest.py`` (``pytest_plugins``):

- ``live_server``: one process without Redis, shared by the whole session;
- ``start_servers(n, redis_url=None, channel=None, **env)``: processes for one test (several
  processes share Redis on their own channel), stopped after the test;
- :class:`LiveClient`: a ``socketio.Client`` on ``/live`` that records what it receives.

On SQLite every transaction starts with BEGIN IMMEDIATE, reads included: end the test's own
transaction (``db.session.commit()``) before driving a server, or the server waits for the lock.
Servers keep their rate limits (e.g. 600 tickets a minute per client address).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import socketio
import websocket

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "/live"
START_TIMEOUT = 30.0

# websocket-client's close() waits up to 3 s for the server's close frame, which the Engine.IO
# client's own read-loop thread often takes first: without this each closed client could stall
# a test for 3 s. Clients in tests need no graceful close.
websocket.WebSocket.close.__defaults__ = (websocket.STATUS_NORMAL, b"", 0.2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """One server process."""

    def __init__(self, database_url: str, *, redis_url: str | None = None,
                 channel: str | None = None, secret_key: str = "test-secret", **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.environ = {k: v for k, v in os.environ.items() if not k.startswith("SERVICE_HALL_")}
        self.environ.update({
            "SERVICE_HALL_DATABASE_URL": database_url,
            "SERVICE_HALL_SECRET_KEY": secret_key,
            "SERVICE_HALL_ASYNC_MODE": "gevent",
            "SERVICE_HALL_MODE": "demo",
            # Tests empty the tables and make rows again with the same codes and tokens: a
            # server kept for the whole session must not answer from its caches.
            "SERVICE_HALL_CACHE_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        })
        if redis_url:
            self.environ["SERVICE_HALL_REDIS_URL"] = redis_url
            self.environ["SERVICE_HALL_REDIS_CHANNEL"] = channel or f"test-{uuid.uuid4().hex}"
        self.environ.update({f"SERVICE_HALL_{k.upper()}": str(v) for k, v in env.items()})
        self.log = tempfile.NamedTemporaryFile(prefix="service-hall-live-", suffix=".log",
                                               delete=False)
        self.process: subprocess.Popen | None = None
        self.http = requests.Session()  # keep-alive: fewer connections per test

    def start(self) -> "LiveServer":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service_hall.server", "--host", "127.0.0.1",
             "--port", str(self.port)],
            cwd=ROOT, env=self.environ, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT) -> "LiveServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not listening after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.http.close()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    # HTTP helpers for driving the API of this process
    def post(self, path: str, token: str, json: dict | None = None) -> requests.Response:
        return self.http.post(self.url + path, json=json or {}, timeout=10,
                             headers={"Authorization": f"Bearer {token}"})

    def put(self, path: str, token: str, json: dict) -> requests.Response:
        return self.http.put(self.url + path, json=json, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})


def start_many(n: int, database_url: str, **options) -> list[LiveServer]:
    """Start ``n`` processes; with ``redis_url`` they share one fresh channel (or ``channel``)."""
    if options.get("redis_url") and not options.get("channel"):
        options["channel"] = f"test-{uuid.uuid4().hex}"
    servers = [LiveServer(database_url, **options).start() for _ in range(n)]
    try:
        for server in servers:  # they boot in parallel
            server.wait_ready()
    except Exception:
        for server in servers:
            server.stop()
        raise
    return servers


@pytest.fixture(scope="session")
def live_server(_schema, database_url):
    (server,) = start_many(1, database_url)
    yield server
    server.stop()


@pytest.fixture()
def start_servers(_schema, database_url):
    started: list[LiveServer] = []

    def start(n: int = 1, **options) -> list[LiveServer]:
        servers = start_many(n, database_url, **options)
        started.extend(servers)
        return servers

    yield start
    for server in started:
        server.stop()


class LiveClient:
    """A real Socket.IO client on ``/live`` that keeps every event it receives, in order."""

    def __init__(self, server: LiveServer | str, **auth):
        self.url = server if isinstance(server, str) else server.url
        self.auth = {k: v for k, v in auth.items() if v is not None}
        self.events: list[tuple[str, object]] = []
        self.refusal: dict | None = None
        self._changed = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self._in_wire_order(self.sio)
        self.sio.on("*", self._record, namespace=NAMESPACE)
        self.sio.on("connect_error", self._refused, namespace=NAMESPACE)

    @staticmethod
    def _in_wire_order(sio: socketio.Client) -> None:
        """The threaded client runs each incoming message in a thread of its own, so handlers
        can see events out of the order they came in (a browser's client does not). Order is
        what these tests check: handle messages on the read loop, one after the other."""
        trigger = sio.eio._trigger_event

        def in_order(event, *args, run_async=False, **kwargs):
            return trigger(event, *args, run_async=False, **kwargs)

        sio.eio._trigger_event = in_order

    def _record(self, event, data=None):
        with self._changed:
            self.events.append((event, data))
            self._changed.notify_all()

    def _refused(self, data=None):
        self.refusal = data

    def connect(self) -> "LiveClient":
        self.sio.connect(self.url, auth=self.auth, namespaces=[NAMESPACE],
                         transports=["websocket"], wait_timeout=10)
        return self

    def try_connect(self) -> dict | None:
        """Connect, expecting a refusal: its ``{message, data: {code}}``, or None if accepted."""
        try:
            self.connect()
        except socketio.exceptions.ConnectionError:
            return self.refusal or {"message": "refused"}
        return None

    def wait_for(self, predicate, timeout: float = 10.0) -> list[tuple[str, object]]:
        """Wait until ``predicate(events)`` holds; the events so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; received {self.events!r}")
                self._changed.wait(left)
            return list(self.events)

    def wait_ready(self, timeout: float = 10.0) -> dict:
        """The ``ready`` (or ``resync``) that ends a connect's replay."""
        events = self.wait_for(lambda evs: any(e in ("ready", "resync") for e, _ in evs), timeout)
        return next(d for e, d in events if e in ("ready", "resync"))

    def of_type(self, *types: str) -> list[dict]:
        with self._changed:
            return [data for event, data in self.events if event in types]

    def call(self, event: str, data: dict) -> dict:
        return self.sio.call(event, data, namespace=NAMESPACE, timeout=10)

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()
