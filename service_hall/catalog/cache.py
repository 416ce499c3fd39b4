"""The per-process cache of the catalog rows every kiosk and window request reads (a hall by its
code, the items a hall offers with their departments), so that taking a ticket does not query the
catalog.

Emptied by any change to halls, departments or items made in this process; a change made by
another process shows within ``CHECK_EVERY`` seconds (the catalog's version row, see
``service_hall/caching.py``), one written outside the application's sessions after at most
``TTL`` seconds. Cached rows are detached copies; each request gets its
own session-bound copy with ``Session.merge(load=False)``, which runs no SQL.
"""
from __future__ import annotations

import copy
from typing import Callable, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from service_hall.caching import ProcessCache, process_cache, register
from service_hall.catalog.models import Department, Hall, ServiceItem

TTL = 300.0        # only for writes outside the sessions: others bump the version
CHECK_EVERY = 1.0
NAME = "catalog"
T = TypeVar("T")


class CatalogCache(ProcessCache):
    def __init__(self, ttl: float = TTL):
        super().__init__(NAME, (m.__table__.name for m in (Hall, Department, ServiceItem)), ttl,
                         versioned=True, check_every=CHECK_EVERY)

    def _row(self, session: Session, key: tuple, load: Callable[[], object],
             pick: Callable[[object], T | None] = lambda value: value) -> T | None:
        """The row ``pick`` takes from what ``load()`` returns (a row, or a dict of rows),
        cached as detached copies under ``key``; bound to ``session`` for the request."""
        loaded: list = []

        def detached():
            value = load()
            loaded.append(value)
            return _detached_copy(value) if value is not None else None

        cached = self.get(session, key, detached)
        if loaded:                       # loaded by this request: already in its session
            return pick(loaded[0]) if loaded[0] is not None else None
        row = pick(cached) if cached is not None else None
        return session.merge(row, load=False) if row is not None else None

    def offered(self, session: Session, hall: Hall, code: str,
                load_one: Callable[[], ServiceItem | None],
                load_all: Callable[[], list[ServiceItem]]) -> ServiceItem | None:
        """The item ``code`` among those ``load_all()`` returns for ``hall``: all of a hall's
        items are loaded and cached together (one query per hall, not one per item);
        ``load_one()`` when the cache is off."""
        if self.ttl <= 0:
            return load_one()
        return self._row(session, ("offered", hall.id),
                         lambda: {item.code: item for item in load_all()},
                         pick=lambda items: items.get(code))

    def hall(self, session: Session, code: str, load: Callable[[], Hall | None]) -> Hall | None:
        return self._row(session, ("hall", code), load)

    def hall_by_id(self, session: Session, hall_id, load: Callable[[], Hall | None]
                   ) -> Hall | None:
        return self._row(session, ("hall-id", hall_id), load)

    def item_by_id(self, session: Session, item_id, load: Callable[[], ServiceItem | None]
                   ) -> ServiceItem | None:
        return self._row(session, ("item-id", item_id), load)


def _clone(obj, **related):
    mapper = inspect(type(obj))
    fresh = type(obj)(**{attr.key: copy.deepcopy(getattr(obj, attr.key))
                         for attr in mapper.column_attrs}, **related)
    make_transient_to_detached(fresh)   # as if loaded: no pending changes
    return fresh


def _detached_copy(row):
    """A copy that belongs to no session (JSON lists deep-copied: nobody shares them); of a
    dict of rows, a dict of copies."""
    if isinstance(row, dict):
        return {key: _detached_copy(value) for key, value in row.items()}
    if isinstance(row, ServiceItem):
        return _clone(row, department=_clone(row.department))
    return _clone(row)


def catalog_cache() -> CatalogCache:
    return process_cache(NAME)  # type: ignore[return-value]


def init_catalog_cache(app) -> None:
    register(app, CatalogCache())
