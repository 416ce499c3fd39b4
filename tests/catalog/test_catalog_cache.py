"""The per-process catalog cache behind ticket issuing: no catalog query for a known item, and a
change to the catalog is seen at once in this process, and after the TTL from another one."""
from __future__ import annotations

from sqlalchemy import event, text, update

from service_hall.catalog.cache import catalog_cache
from service_hall.catalog.models import ServiceItem
from service_hall.extensions import db
from tests.factories import bearer


def _take(client, kiosk, code="C1-I1"):
    return client.post("/api/v1/halls/C1/tickets", json={"item_code": code}, headers=bearer(kiosk))


def _catalog_selects(app, client, kiosk) -> int:
    seen = []
    listener = lambda conn, cursor, statement, *a: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert _take(client, kiosk).status_code == 201
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return sum("FROM service_items" in s for s in seen)


def test_second_ticket_for_an_item_reads_no_catalog_row(app, client, factory):
    kiosk = factory.hall_setup("C1", windows=1, items=1)["kiosk"]
    assert _catalog_selects(app, client, kiosk) == 1
    assert _catalog_selects(app, client, kiosk) == 0


def test_item_withdrawn_in_this_process_is_refused_at_once(app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    assert _take(client, setup["kiosk"]).status_code == 201
    item = db.session.get(ServiceItem, setup["items"][0].id)
    item.active = False
    db.session.commit()
    answer = _take(client, setup["kiosk"])
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "unknown_item"


def test_bulk_update_of_items_empties_the_cache(app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    assert _take(client, setup["kiosk"]).status_code == 201
    db.session.execute(update(ServiceItem).values(levels=["township"]))
    db.session.commit()
    assert _take(client, setup["kiosk"]).status_code == 404


def test_change_by_another_process_is_seen_after_the_ttl(app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    clock = [1000.0]
    catalog_cache().clock = lambda: clock[0]
    assert _take(client, setup["kiosk"]).status_code == 201
    with db.engine.begin() as conn:   # behind the ORM's back, as another process would
        conn.execute(text("UPDATE service_items SET active = :no"), {"no": False})
    clock[0] += catalog_cache().ttl - 0.5
    assert _take(client, setup["kiosk"]).status_code == 201   # still cached here
    clock[0] += 1.0
    assert _take(client, setup["kiosk"]).status_code == 404


def test_one_catalog_read_serves_every_item_of_the_hall(app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=3)
    codes = [item.code for item in setup["items"]]
    assert _catalog_selects(app, client, setup["kiosk"]) == 1     # loads all three
    for code in codes:
        seen = []
        listener = lambda conn, cursor, statement, *a: seen.append(statement)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            answer = _take(client, setup["kiosk"], code)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert answer.status_code == 201 and answer.get_json()["item_code"] == code
        assert not any("FROM service_items" in s for s in seen)
