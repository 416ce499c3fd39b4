"""Catalog look-ups used by every domain: halls by code, the items a hall offers."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.db import keep_loaded
from service_hall.errors import not_found
from service_hall.extensions import db


def hall_by_code(code: str) -> Hall:
    # The caller's own hall is usually loaded already (with the actor): no second query.
    # (Only loaded, unexpired attributes are read: never a refresh query per cached object.)
    hall = next((obj for obj in db.session.identity_map.values()
                 if type(obj) is Hall and obj.__dict__.get("code") == code), None)
    if hall is None:
        from service_hall.catalog.cache import catalog_cache
        hall = catalog_cache().hall(db.session, code, lambda: db.session.scalars(
            select(Hall).where(Hall.code == code)).first())
    if hall is None:
        raise not_found(f"没有编码为 {code} 的大厅 (no hall with code {code!r})", "unknown_hall")
    return hall


def hall_by_id(hall_id) -> Hall:
    """A hall from the catalog cache, held in the session for the rest of the request (so
    relationships to it, e.g. ``window.hall``, resolve without a query)."""
    from service_hall.catalog.cache import catalog_cache
    return keep_loaded(db.session, catalog_cache().hall_by_id(
        db.session, hall_id, lambda: db.session.get(Hall, hall_id)))


def item_by_id(item_id) -> ServiceItem:
    """An item (with its department) from the catalog cache, held like :func:`hall_by_id`."""
    from service_hall.catalog.cache import catalog_cache
    return keep_loaded(db.session, catalog_cache().item_by_id(
        db.session, item_id, lambda: db.session.get(
            ServiceItem, item_id, options=[joinedload(ServiceItem.department)])))


def offered_items_stmt(hall: Hall):
    """Items a hall offers: active items of its county's (or its own) departments whose levels
    include the hall's level."""
    owners = [hall.id] + ([hall.county_id] if hall.county_id and hall.county_id != hall.id else [])
    return (
        select(ServiceItem)
        .join(ServiceItem.department)
        .where(Department.hall_id.in_(owners), ServiceItem.active.is_(True))
        .options(joinedload(ServiceItem.department))
        .order_by(ServiceItem.code)
    )


def offered_items(hall: Hall) -> list[ServiceItem]:
    return [item for item in db.session.scalars(offered_items_stmt(hall))
            if hall.level in (item.levels or [])]


def offered_item(hall: Hall, code: str) -> ServiceItem:
    from service_hall.catalog.cache import catalog_cache
    item = catalog_cache().offered(
        db.session, hall, code,
        lambda: db.session.scalars(offered_items_stmt(hall).where(ServiceItem.code == code)).first(),
        lambda: offered_items(hall))
    if item is None or hall.level not in (item.levels or []):
        raise not_found(f"本大厅不办理事项 {code} (item {code!r} is not offered at hall {hall.code})",
                        "unknown_item")
    return item


def item_by_code(code: str) -> ServiceItem:
    item = db.session.scalars(select(ServiceItem).where(ServiceItem.code == code)).first()
    if item is None:
        raise not_found(f"没有编码为 {code} 的事项 (no item with code {code!r})", "unknown_item")
    return item


def child_halls(hall: Hall, level: str | None = None) -> list[Hall]:
    stmt = select(Hall).where(or_(Hall.parent_id == hall.id))
    if level:
        stmt = stmt.where(Hall.level == level)
    return list(db.session.scalars(stmt.order_by(Hall.code)))
