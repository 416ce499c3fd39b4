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


def _version() -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT value FROM cache_versions WHERE name = 'catalog'")
                            ).scalar() or 0


def test_a_catalog_change_bumps_the_version_in_its_transaction(app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    before = _version()
    item = db.session.get(ServiceItem, setup["items"][0].id)
    item.name = "改名"
    db.session.rollback()
    assert _version() == before                      # nothing committed, nothing bumped
    item = db.session.get(ServiceItem, setup["items"][0].id)
    item.name = "改名"
    db.session.commit()
    assert _version() == before + 1
    assert _take(client, setup["kiosk"]).status_code == 201
    assert _version() == before + 1                  # issuing a ticket changes no catalog row


def test_change_committed_by_another_process_is_seen_within_the_check_interval(
        app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    clock = [1000.0]
    catalog_cache().clock = lambda: clock[0]
    assert _take(client, setup["kiosk"]).status_code == 201
    with db.engine.begin() as conn:   # another process: its change and the version it bumps
        conn.execute(text("UPDATE service_items SET active = :no"), {"no": False})
        conn.execute(text("UPDATE cache_versions SET value = value + 1 WHERE name = 'catalog'"))
    assert _take(client, setup["kiosk"]).status_code == 201   # not checked again yet
    clock[0] += catalog_cache().check_every
    answer = _take(client, setup["kiosk"])
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "unknown_item"


def test_unchanged_catalog_is_not_reloaded_when_the_check_interval_passes(app, client, factory):
    kiosk = factory.hall_setup("C1", windows=1, items=1)["kiosk"]
    clock = [1000.0]
    catalog_cache().clock = lambda: clock[0]
    assert _catalog_selects(app, client, kiosk) == 1
    for _ in range(3):
        clock[0] += catalog_cache().check_every * 30
        assert _catalog_selects(app, client, kiosk) == 0
