"""The per-process actor cache behind bearer tokens: a known token costs no user or device query;
disabling an account or a device, or revoking a user's tokens, takes effect at once in this
process and after the cache's TTL in another one; a token's signature and age are still checked
on every request."""
from __future__ import annotations

from sqlalchemy import event, text

from service_hall.auth.cache import actor_cache
from service_hall.auth.models import Device, User
from service_hall.extensions import db
from tests.factories import bearer, token_for


def _take(client, kiosk):
    return client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                       headers=bearer(kiosk))


def _queue(client, headers):
    return client.get("/api/v1/halls/C1/tickets", headers=headers)


def _selects_of(table: str, request) -> tuple[int, object]:
    seen = []
    listener = lambda conn, cursor, statement, *a: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        answer = request()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return sum(f"FROM {table}" in s for s in seen), answer


def _fake_clock():
    clock = [1000.0]
    actor_cache().clock = lambda: clock[0]
    return clock


def test_known_device_and_user_tokens_read_no_row(app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    clerk = bearer(token_for(client, "clerk-C1-1"))
    assert _selects_of("devices", lambda: _take(client, setup["kiosk"]))[0] == 1
    count, answer = _selects_of("devices", lambda: _take(client, setup["kiosk"]))
    assert count == 0 and answer.status_code == 201
    assert _selects_of("users", lambda: _queue(client, clerk))[0] == 1
    count, answer = _selects_of("users", lambda: _queue(client, clerk))
    assert count == 0 and answer.status_code == 200


def test_device_disabled_in_this_process_is_refused_at_once(app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    assert _take(client, setup["kiosk"]).status_code == 201
    device = db.session.scalars(db.select(Device)).one()
    device.active = False
    db.session.commit()
    answer = _take(client, setup["kiosk"])
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "invalid_token"


def test_device_disabled_by_another_process_is_refused_after_the_ttl(app, client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    clock = _fake_clock()
    assert _take(client, setup["kiosk"]).status_code == 201
    db.session.rollback()
    with db.engine.begin() as conn:   # behind the ORM's back, as another process would
        conn.execute(text("UPDATE devices SET active = :no"), {"no": False})
    clock[0] += actor_cache().ttl - 0.5
    assert _take(client, setup["kiosk"]).status_code == 201   # still cached here
    clock[0] += 1.0
    assert _take(client, setup["kiosk"]).status_code == 401


def test_unknown_device_tokens_are_not_cached(app, client, factory):
    factory.hall_setup("C1", windows=1, items=1)
    for n in range(3):
        assert _take(client, f"dev.made-up-{n}").status_code == 401
    assert not [key for key in actor_cache()._values if key[0] == "device"]


def test_user_revoked_or_disabled_is_refused(app, client, factory):
    factory.hall_setup("C1", windows=1, items=1)
    clerk = bearer(token_for(client, "clerk-C1-1"))
    clock = _fake_clock()
    assert _queue(client, clerk).status_code == 200
    db.session.rollback()
    with db.engine.begin() as conn:   # `flask hall revoke-tokens` run in another process
        conn.execute(text("UPDATE users SET token_generation = token_generation + 1"))
    assert _queue(client, clerk).status_code == 200
    clock[0] += actor_cache().ttl + 0.5
    assert _queue(client, clerk).status_code == 401
    fresh = bearer(token_for(client, "clerk-C1-1"))
    assert _queue(client, fresh).status_code == 200
    user = db.session.scalars(db.select(User).where(User.username == "clerk-C1-1")).one()
    user.active = False
    db.session.commit()
    assert _queue(client, fresh).status_code == 401   # at once: changed in this process


def test_signature_is_checked_even_when_the_account_is_cached(app, client, factory):
    factory.hall_setup("C1", windows=1, items=1)
    token = token_for(client, "clerk-C1-1")
    assert _queue(client, bearer(token)).status_code == 200
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert _queue(client, bearer(forged)).status_code == 401
