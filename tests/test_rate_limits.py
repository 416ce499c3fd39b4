"""Rate limits on the public endpoints (SPEC 7): ticket issuing, tracking, QR rating and the
token exchange answer 429 in the API's error shape once an address goes over the limit, and
the counters live in Redis when ``SERVICE_HALL_REDIS_URL`` is set (shared by every process)."""
from __future__ import annotations

import pytest

from service_hall import create_app
from tests.conftest import make_settings
from tests.factories import bearer

# (method, path, limit per minute, JSON body or None): anonymous calls count too (the limit is
# checked before authentication), so the flood can be cheap refusals.
LIMITED = [
    ("POST", "/api/v1/halls/C1/tickets", 600, {"item_code": "C1-I1"}),
    ("GET", "/api/v1/track/{token}", 120, None),
    ("POST", "/api/v1/ratings", 20, {"level": 5, "track_token": "{token}"}),
    ("POST", "/api/v1/auth/token", 30, {"username": "nobody", "password": "x"}),
]


def _limited_app(**settings):
    return create_app(make_settings(**settings), TESTING=True, RATELIMIT_ENABLED=True)


def _flood(client, method: str, path: str, limit: int, body) -> tuple[list[int], object]:
    statuses = []
    for _ in range(limit):
        answer = client.open(path, method=method, json=body)
        statuses.append(answer.status_code)
    return statuses, client.open(path, method=method, json=body)


def _format(value, token: str):
    if isinstance(value, str):
        return value.replace("{token}", token)
    if isinstance(value, dict):
        return {k: _format(v, token) for k, v in value.items()}
    return value


@pytest.fixture()
def ticket(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                         headers=bearer(setup["kiosk"]))
    return {"token": answer.get_json()["track_token"], "kiosk": setup["kiosk"]}


@pytest.mark.parametrize("method, path, limit, body", LIMITED, ids=[p for _, p, _, _ in LIMITED])
def test_public_endpoint_answers_429_over_its_limit(ticket, method, path, limit, body):
    app = _limited_app()
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    client = app.test_client()
    path, body = _format(path, ticket["token"]), _format(body, ticket["token"])
    statuses, over = _flood(client, method, path, limit, body)
    assert 429 not in statuses, f"refused before the limit of {limit}/minute"
    assert over.status_code == 429
    error = over.get_json()["error"]
    assert error["code"] == "too_many_requests"
    assert error["message"].startswith("请求过于频繁") and f"{limit} per 1 minute" in error["message"]
    assert int(over.headers["Retry-After"]) > 0
    if path.endswith("/tickets"):  # a real kiosk behind the same address waits too
        refused = client.post(path, json=body, headers=bearer(ticket["kiosk"]))
        assert refused.status_code == 429


def test_staff_pages_stay_usable_while_the_public_rating_limit_is_spent(ticket, factory):
    app = _limited_app()
    client = app.test_client()
    rating = _format(LIMITED[2][3], ticket["token"])
    for _ in range(21):
        client.post("/api/v1/ratings", json=rating)
    assert client.post("/api/v1/ratings", json=rating).status_code == 429
    assert client.get("/api/v1/halls").status_code == 200  # no global limit on reads
    pad = factory.device(ticket_hall(), "pad")
    # a window pad (bearer) is exempt: many pads share the hall's address
    answer = client.post("/api/v1/ratings", json={"level": 5, "ticket_id": "nope"},
                         headers=bearer(pad))
    assert answer.status_code == 404


def ticket_hall():
    from sqlalchemy import select

    from service_hall.catalog.models import Hall
    from service_hall.extensions import db
    return db.session.scalars(select(Hall).where(Hall.code == "C1")).one()


def test_limits_are_counted_in_redis_when_configured(ticket, redis_url):
    import redis

    from service_hall.extensions import limiter
    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter("LIMITS:*"):
        store.delete(key)
    app = _limited_app(redis_url=redis_url)
    assert app.config["RATELIMIT_STORAGE_URI"] == redis_url
    assert type(limiter.storage).__name__ == "RedisStorage"
    client = app.test_client()
    path = f"/api/v1/track/{ticket['token']}"
    statuses, over = _flood(client, "GET", path, 120, None)
    assert over.status_code == 429 and 429 not in statuses
    keys = [key.decode() for key in store.scan_iter("LIMITS:*")]
    assert any("track" in key for key in keys), keys
    # a second process (another app on the same Redis) sees the same spent budget
    other = _limited_app(redis_url=redis_url).test_client()
    assert other.get(path).status_code == 429
    for key in keys:
        store.delete(key)
