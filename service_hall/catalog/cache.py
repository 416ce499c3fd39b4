"""A small per-process cache of the catalog rows every kiosk request reads (the item a hall
offers, with its department), so that taking a ticket does not query the catalog.

Invalidation: any change to a hall, department or item made through this process's sessions
(ORM objects or ORM bulk statements) empties the cache when it is flushed and again when it
commits. Changes made by another process show here after at most ``TTL`` seconds (catalog
edits are rare administrator actions). Cached rows are detached copies; each request gets its
own session-bound copy with ``Session.merge(load=False)``, which runs no SQL.
"""
from __future__ import annotations

import copy
import time
import uuid

from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from service_hall.catalog.models import Department, Hall, ServiceItem

TTL = 10.0
CATALOG_MODELS = (Hall, Department, ServiceItem)
_CATALOG_TABLES = frozenset(m.__table__.name for m in CATALOG_MODELS)
_KEY = "service_hall.catalog_cache"
_CHANGED = "service_hall.catalog_changed"


class CatalogCache:
    def __init__(self, ttl: float = TTL, clock=time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self.generation = 0
        self._items: dict[tuple[uuid.UUID, str], tuple[float, ServiceItem]] = {}

    def clear(self) -> None:
        self._items.clear()
        self.generation += 1

    def item(self, session: Session, hall: Hall, code: str, load) -> ServiceItem | None:
        """The item ``code`` as ``load()`` returns it for ``hall``, from the cache when fresh."""
        key = (hall.id, code)
        hit = self._items.get(key)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return session.merge(hit[1], load=False)
        generation = self.generation
        item = load()
        if item is not None and generation == self.generation and not session.info.get(_CHANGED):
            self._items[key] = (self.clock(), _detached_copy(item))
        return item


def _detached_copy(item: ServiceItem) -> ServiceItem:
    """A copy that belongs to no session (JSON lists deep-copied: nobody shares them)."""
    def clone(obj, **related):
        mapper = inspect(type(obj))
        fresh = type(obj)(**{attr.key: copy.deepcopy(getattr(obj, attr.key))
                             for attr in mapper.column_attrs}, **related)
        make_transient_to_detached(fresh)   # as if loaded: no pending changes
        return fresh
    return clone(item, department=clone(item.department))


def catalog_cache() -> CatalogCache:
    return current_app.extensions[_KEY]


def init_catalog_cache(app) -> None:
    app.extensions[_KEY] = CatalogCache()


def _current() -> CatalogCache | None:
    if not has_app_context():
        return None
    return current_app.extensions.get(_KEY)


def _changed(session: Session) -> None:
    session.info[_CHANGED] = True
    cache = _current()
    if cache is not None:
        cache.clear()


@event.listens_for(Session, "before_flush")
def _watch_flush(session: Session, _context, _instances) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, CATALOG_MODELS):
            _changed(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _watch_bulk(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and getattr(table, "name", None) in _CATALOG_TABLES:
        _changed(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        cache = _current()
        if cache is not None:
            cache.clear()   # again: drop what other requests cached before this commit


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
