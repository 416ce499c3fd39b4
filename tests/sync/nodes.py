"""Real county and township server processes on loopback, each with its own database.

Two SQLite files by default; with ``SERVICE_HALL_TEST_DATABASE_URL`` on PostgreSQL, two
databases named after it (``<name>_county``, ``<name>_town``), created when missing. Used by the
sync tests and by ``bench/sync_catchup.py``.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service_hall.config import Settings, normalise_database_url

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sync-test-secret"
PASSWORD = "test-pass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_template: dict[str, str] = {}


def _pg_base():
    base = os.environ.get("SERVICE_HALL_TEST_DATABASE_URL")
    if base and normalise_database_url(base).startswith("postgresql"):
        return make_url(normalise_database_url(base))
    return None


def database_urls(folder: Path) -> dict[str, str]:
    """An empty, migrated database per node: SQLite files copied from a template migrated once
    per process; PostgreSQL databases migrated once per process, then emptied."""
    base = _pg_base()
    if base is None:
        if "sqlite" not in _template:
            template = Path(tempfile.mkdtemp(prefix="service-hall-sync-template-")) / "t.db"
            migrate(f"sqlite:///{template}")
            _template["sqlite"] = str(template)
        urls = {}
        for name in ("county", "town"):
            shutil.copyfile(_template["sqlite"], folder / f"{name}.db")
            urls[name] = f"sqlite:///{folder / (name + '.db')}"
        return urls
    urls = {name: base.set(database=f"{base.database}_{name}").render_as_string(
        hide_password=False) for name in ("county", "town")}
    if "pg" not in _template:  # once per process: create both databases and migrate them
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for name in urls:
                    db_name = f"{base.database}_{name}"
                    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = :n AND pid <> pg_backend_pid()"),
                                 {"n": db_name})
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}"'))
                    conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        finally:
            admin.dispose()
        for url in urls.values():
            migrate(url)
        _template["pg"] = "migrated"
    for url in urls.values():
        _empty(url)
    return urls


def _empty(url: str) -> None:
    from service_hall.extensions import db
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE " + tables + " CASCADE"))
    finally:
        engine.dispose()


def node_settings(url: str, **overrides) -> Settings:
    settings = Settings(database_url=normalise_database_url(url), secret_key=SECRET,
                        demo_password=PASSWORD, redis_url=None, async_mode="threading")
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    from service_hall import create_app
    app = create_app(node_settings(url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        from service_hall.extensions import db
        db.engine.dispose()


class Node:
    """One ``python -m service_hall.server`` process."""

    def __init__(self, name: str, url: str, folder: Path, **env: str):
        self.name, self.url, self.folder = name, normalise_database_url(url), folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {"SERVICE_HALL_DATABASE_URL": self.url, "SERVICE_HALL_SECRET_KEY": SECRET,
                    "SERVICE_HALL_REDIS_URL": "", "SERVICE_HALL_ASYNC_MODE": "gevent",
                    **env}
        self.proc: subprocess.Popen | None = None
        self.log = folder / f"{name}.log"
        self._engine = None

    def process_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICE_HALL_")}
        env.update(self.env)
        env["PYTHONPATH"] = str(ROOT)
        return env

    def start(self, *, wait: float = 40.0) -> "Node":
        env = self.process_env()
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service_hall.server", "--host", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        if wait:
            self.wait_ready(wait)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            try:
                if requests.get(self.base + "/api/v1/halls", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout}s: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-30000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    @property
    def engine(self):
        if self._engine is None:
            self._engine = create_engine(self.url)
        return self._engine

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params).all()]

    def close(self) -> None:
        self.stop()
        if self._engine is not None:
            self._engine.dispose()

    @contextmanager
    def app_context(self, *, fast_writes: bool = False, **overrides):
        """The node's application in this process (capture hooks included), for direct work.
        ``fast_writes``: no fsync per commit on SQLite (test data generation only)."""
        from sqlalchemy import event

        from service_hall import create_app
        from service_hall.extensions import db
        settings = node_settings(self.url, **overrides)
        app = create_app(settings)
        with app.app_context():
            if fast_writes:
                event.listen(db.engine, "connect", _no_fsync)
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def _no_fsync(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor.execute("PRAGMA synchronous=OFF")
    else:
        cursor.execute("SET synchronous_commit TO OFF")
        dbapi_connection.commit()
    cursor.close()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def fresh_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="service-hall-sync-"))
