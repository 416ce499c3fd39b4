"""Small per-process caches of rows that hot requests read and that rarely change (the catalog,
the callers' identities), emptied whenever this process changes the tables they watch.

Invalidation: any change to a watched table made through this process's sessions (ORM objects or
ORM bulk statements) empties the caches watching it when it is flushed and again when it commits
(so nothing cached by another request before the commit survives). Changes made by another
process show here after at most the cache's ``ttl`` seconds. A value loaded in a transaction
that itself changed a watched table is not cached (it may never commit).

A *versioned* cache (the catalog's) also keeps a version row in ``cache_versions``, bumped in the
same transaction as any change to its tables made through a session; each process reads it at
most every ``check_every`` seconds and empties the cache when it moved. Its entries then live
until the data changes (``ttl`` is only the bound for writes made outside the sessions, e.g. by
hand in SQL), instead of being reloaded every few seconds.
"""
from __future__ import annotations

import time
from typing import Callable, Hashable, Iterable

from flask import current_app, has_app_context
from sqlalchemy import Integer, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from service_hall.db import bump_counter, execute_direct, param, watches_statements
from service_hall.extensions import db

_KEY = "service_hall.process_caches"
_CHANGED = "service_hall.cache_tables_changed"
_MISS = object()


class CacheVersion(db.Model):
    """How often the tables behind a versioned cache changed (one row per cache)."""
    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


_VERSION = select(CacheVersion.value).where(CacheVersion.name == param(CacheVersion.name))


class ProcessCache:
    """Key → value with a time to live, emptied when one of ``tables`` changes in this process
    (and, if ``versioned``, when another process changed them: see the module docstring)."""

    def __init__(self, name: str, tables: Iterable[str], ttl: float, clock=time.monotonic, *,
                 versioned: bool = False, check_every: float = 1.0):
        self.name = name
        self.tables = frozenset(tables)
        self.ttl = ttl
        self.clock = clock
        self.versioned = versioned
        self.check_every = check_every
        self.generation = 0
        self._values: dict[Hashable, tuple[float, object]] = {}
        self._swept = clock()
        self._version: int | None = None
        self._checked = float("-inf")

    def _check_version(self, session: Session) -> None:
        now = self.clock()
        if now - self._checked < self.check_every:
            return
        self._checked = now
        version = execute_direct(session, _VERSION, {"name": self.name}).scalar() or 0
        if self._version is not None and version != self._version:
            self.clear()
        self._version = version

    def clear(self) -> None:
        self._values.clear()
        self.generation += 1

    def get(self, session: Session, key: Hashable, load: Callable[[], object], *,
            keep: Callable[[object], bool] = lambda value: True):
        """The fresh cached value for ``key``, else ``load()``, cached if ``keep(value)`` and
        neither this transaction changed a watched table nor the cache was emptied meanwhile."""
        if self.versioned and self.ttl > 0:
            self._check_version(session)
        hit = self._values.get(key, _MISS)
        if hit is not _MISS and self.clock() - hit[0] < self.ttl:
            return hit[1]
        generation = self.generation
        value = load()
        if (keep(value) and generation == self.generation
                and not (self.tables & session.info.get(_CHANGED, set()))):
            now = self.clock()
            self._values[key] = (now, value)
            if now - self._swept > self.ttl:   # memory holds only what was used lately
                self._values = {k: v for k, v in self._values.items() if now - v[0] < self.ttl}
                self._swept = now
        return value


_WATCHED: set[str] = set()   # every registered cache's tables (see db.execute_direct)
watches_statements(_WATCHED.__contains__)


def register(app, cache: ProcessCache) -> ProcessCache:
    limit = app.config["SERVICE_HALL"].cache_seconds
    if limit is not None:
        cache.ttl = min(cache.ttl, limit)
        cache.check_every = min(cache.check_every, limit)
    app.extensions.setdefault(_KEY, {})[cache.name] = cache
    _WATCHED.update(cache.tables)
    return cache


def process_cache(name: str) -> ProcessCache:
    return current_app.extensions[_KEY][name]


def _caches() -> Iterable[ProcessCache]:
    if not has_app_context():
        return ()
    return current_app.extensions.get(_KEY, {}).values()


def _changed(session: Session, tables: set[str]) -> None:
    session.info.setdefault(_CHANGED, set()).update(tables)
    for cache in _caches():
        if cache.tables & tables:
            cache.clear()


def _pending_tables(session: Session) -> set[str]:
    tables = {getattr(obj, "__tablename__", None)
              for obj in (*session.new, *session.dirty, *session.deleted)}
    tables.discard(None)
    return tables


@event.listens_for(Session, "before_flush")
def _watch_flush(session: Session, _context, _instances) -> None:
    tables = _pending_tables(session)
    if tables:
        _changed(session, tables)


@event.listens_for(Session, "do_orm_execute")
def _watch_bulk(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name:
        _changed(state.session, {name})


@event.listens_for(Session, "before_commit")
def _bump_versions(session: Session) -> None:
    """Other processes learn of this transaction's changes from the versions it bumps (the
    changes flushed so far, and those the commit is about to flush)."""
    tables = set(session.info.get(_CHANGED, ())) | _pending_tables(session)
    if tables:
        for cache in _caches():
            if cache.versioned and cache.tables & tables:
                bump_counter(session, CacheVersion, {"name": cache.name})


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    tables = session.info.pop(_CHANGED, None)
    if tables:
        for cache in _caches():
            if cache.tables & tables:
                cache.clear()   # again: drop what other requests cached before this commit


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
