"""Database helpers shared by every domain: ids, UTC timestamps, counters, SQLite locking."""
from __future__ import annotations

import functools
import sqlite3
import threading
import uuid
from datetime import date, datetime, timezone
from typing import Callable

from sqlalchemy import DateTime, Engine, bindparam, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column, scoped_session
from sqlalchemy.types import TypeDecorator, Uuid

from service_hall.extensions import db


def new_id() -> uuid.UUID:
    """Record ids are random UUIDs so that township records never collide at the county."""
    return uuid.uuid4()


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)


def insert_for(session):
    """The dialect's INSERT (both PostgreSQL and SQLite ≥ 3.35 support ON CONFLICT … RETURNING)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


_WATCHERS: list[Callable[[str], bool]] = []


def watches_statements(tables: Callable[[str], bool]) -> None:
    """Registered beside each ``do_orm_execute`` hook (sync capture, caches, statistics roll-up):
    the tables whose INSERT/UPDATE/DELETE statements the hook must see."""
    _WATCHERS.append(tables)


def execute_direct(session, stmt, params: dict | None = None):
    """Execute ``stmt`` in the session's transaction on its connection, past the ORM's execute
    path (no ORM events, no ORM compilation): about a third of ``Session.execute``'s CPU for a
    counter bump (bench/profile_hot.py). For the hot paths' reads and their writes to tables no
    hook watches (counters, idempotency keys); a write to a watched table is refused.

    Pending changes are flushed first, as ``Session.execute`` does: rows are locked in the same
    order as before (the per-hall counters last, held for the shortest time)."""
    table = getattr(stmt, "table", None)
    if table is not None and any(watched(table.name) for watched in _WATCHERS):
        raise RuntimeError(f"{table.name}: a session hook must see this write; use Session.execute")
    if isinstance(session, scoped_session):
        session = session()
    session._autoflush()   # what Session.execute does first (a no-op when nothing is pending)
    return session.connection().execute(stmt, params)


def bump_counter(session, model, keys: dict, *, by: int = 1) -> int:
    """Atomically add ``by`` to a counter row identified by ``keys`` and return the new value.

    ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` holds the row lock until commit, so concurrent
    transactions get consecutive values with no duplicates, and a rollback leaves no gap.
    """
    stmt = _bump_statement(session.get_bind().dialect.name, model, tuple(keys))
    return execute_direct(session, stmt, {**keys, "by": by}).scalar_one()


def param(column, name: str | None = None):
    """A bind parameter typed like ``column`` (named after it unless ``name`` is given), for
    statements built once and executed with values (the hot paths)."""
    return bindparam(name or column.key, type_=column.type)


@functools.lru_cache(maxsize=None)
def _bump_statement(dialect: str, model, key_names: tuple[str, ...]):
    """Built once per counter table and dialect (a hot path: every ticket and event)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = model.__table__.c
    by = param(columns.value, "by")
    return (insert(model)
            .values({**{name: param(columns[name]) for name in key_names},
                     "value": by})
            .on_conflict_do_update(index_elements=list(key_names),
                                   set_={"value": model.value + by})
            .returning(model.value))


def lock_rows(stmt, *, skip_locked: bool = False):
    """Row locks for claiming; PostgreSQL honours them, SQLite serialises writers instead."""
    return stmt.with_for_update(skip_locked=skip_locked)


WRITER_TIMEOUT = 60  # seconds; like SQLite's busy timeout, never wait for ever


def install_sqlite_locking(engine: Engine) -> None:
    """Every SQLite transaction starts with BEGIN IMMEDIATE (see TECH-NOTES: deferred BEGIN
    fails read-then-write transactions under concurrency), in WAL mode with a busy timeout."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across process kills
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    # SQLite's busy handler retries at random and starves some waiters under many threads;
    # queue this process's writers on a lock first so each gets its turn in order.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if not writer.acquire(timeout=WRITER_TIMEOUT):
            raise sqlite3.OperationalError("database is locked (waited for this process's writer)")
        conn.info["service_hall.writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except Exception:
            _release(conn)
            raise

    def _release(conn):
        if conn.info.pop("service_hall.writer", False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def keep_loaded(session, obj):
    """Hold ``obj`` for the rest of the session. The identity map keeps only weak references, so
    a row loaded for the caller (their hall) would otherwise be gone, and queried again, by the
    time the view looks it up."""
    if obj is not None:
        session.info.setdefault("service_hall.kept", []).append(obj)
    return obj


def get_by(model, **filters):
    return db.session.scalars(select(model).filter_by(**filters)).first()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None
