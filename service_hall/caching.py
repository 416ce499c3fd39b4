"""Small per-process caches of rows that hot requests read and that rarely change (the catalog,
the callers' identities), emptied whenever this process changes the tables they watch.

Invalidation: any change to a watched table made through this process's sessions (ORM objects or
ORM bulk statements) empties the caches watching it when it is flushed and again when it commits
(so nothing cached by another request before the commit survives). Changes made by another
process show here after at most the cache's ``ttl`` seconds. A value loaded in a transaction
that itself changed a watched table is not cached (it may never commit).
"""
from __future__ import annotations

import time
from typing import Callable, Hashable, Iterable

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from service_hall.db import watches_statements

_KEY = "service_hall.process_caches"
_CHANGED = "service_hall.cache_tables_changed"
_MISS = object()


class ProcessCache:
    """Key → value with a time to live, emptied when one of ``tables`` changes in this process."""

    def __init__(self, name: str, tables: Iterable[str], ttl: float, clock=time.monotonic):
        self.name = name
        self.tables = frozenset(tables)
        self.ttl = ttl
        self.clock = clock
        self.generation = 0
        self._values: dict[Hashable, tuple[float, object]] = {}
        self._swept = clock()

    def clear(self) -> None:
        self._values.clear()
        self.generation += 1

    def get(self, session: Session, key: Hashable, load: Callable[[], object], *,
            keep: Callable[[object], bool] = lambda value: True):
        """The fresh cached value for ``key``, else ``load()``, cached if ``keep(value)`` and
        neither this transaction changed a watched table nor the cache was emptied meanwhile."""
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


@event.listens_for(Session, "before_flush")
def _watch_flush(session: Session, _context, _instances) -> None:
    tables = {getattr(obj, "__tablename__", None)
              for obj in (*session.new, *session.dirty, *session.deleted)}
    tables.discard(None)
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
