"""The production stack of docs/DEPLOY.md (nginx -> 2 gunicorn gevent processes -> the test
database, Redis when configured), started by bench/stack.py: tickets and Socket.IO through nginx."""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest
import socketio

from bench.stack import Stack, find_nginx
from tests.conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.skipif(find_nginx() is None and not REQUIRE_SERVICES,
                                reason="nginx is not installed (apt-get install -y nginx-light)")


@pytest.fixture(scope="module")
def stack(_schema, database_url):
    redis_url = os.environ.get("SERVICE_HALL_TEST_REDIS_URL") or None
    # Two processes need the Redis message queue for events to cross between them.
    with Stack(database_url, redis_url, processes=2 if redis_url else 1) as running:
        yield running


def _post(url: str, body: dict, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_health_check_answers_through_nginx_and_on_each_process(stack):
    for base in [stack.url] + [f"http://127.0.0.1:{p}" for p in stack.backend_ports]:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
            assert answer.status == 200
            assert json.loads(answer.read()) == {"status": "ok", "database": "ok"}


def test_kiosk_takes_tickets_through_nginx(stack, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    kiosk = {"Authorization": f"Bearer {setup['kiosk']}"}
    url = f"{stack.url}/api/v1/halls/C1/tickets"
    status, first = _post(url, {"item_code": "C1-I1"}, {**kiosk, "Idempotency-Key": "k-1"})
    assert status == 201, first
    assert first["number"] == "A001" and first["waiting_ahead"] == 0
    # The QR link points at the public address nginx was asked for, not at a backend port.
    assert first["track_url"].startswith(f"{stack.url}/")
    status, retry = _post(url, {"item_code": "C1-I1"}, {**kiosk, "Idempotency-Key": "k-1"})
    assert status == 201 and retry["id"] == first["id"] and retry["number"] == "A001"
    numbers = {_post(url, {"item_code": "C1-I1"}, kiosk)[1]["number"] for _ in range(6)}
    assert numbers == {"A002", "A003", "A004", "A005", "A006", "A007"}
    status, refused = _post(url, {"item_code": "C1-I1"}, {"Authorization": "Bearer nope"})
    assert status == 401 and refused["error"]["code"] == "invalid_token"


def test_socketio_connects_through_nginx_over_websocket_and_polling(stack):
    for transports in (["websocket"], ["polling"]):
        client = socketio.Client(reconnection=False)
        client.connect(stack.url, transports=transports, wait_timeout=10)
        try:
            assert client.connected
            assert client.transport() == transports[0]
        finally:
            client.disconnect()


def test_socketio_refuses_an_origin_not_configured(stack):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(stack.url, transports=["websocket"], wait_timeout=5,
                       headers={"Origin": "https://evil.example"})
    assert not client.connected


def test_display_receives_a_ticket_taken_through_nginx_live(stack, factory):
    setup = factory.hall_setup("C2", windows=1, items=1)
    client = socketio.Client(reconnection=False)
    issued = []
    client.on("ticket.issued", lambda envelope: issued.append(envelope), namespace="/live")
    client.connect(stack.url, transports=["websocket"], namespaces=["/live"],
                   auth={"hall": "C2"}, wait_timeout=10)
    try:
        numbers = []
        for _ in range(4):   # several requests: with two processes some land on the other one
            status, ticket = _post(f"{stack.url}/api/v1/halls/C2/tickets", {"item_code": "C2-I1"},
                                   {"Authorization": f"Bearer {setup['kiosk']}"})
            assert status == 201
            numbers.append(ticket["number"])
        deadline = time.monotonic() + 10
        while len(issued) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [e["data"]["number"] for e in issued] == numbers
        assert [e["hall"] for e in issued] == ["C2"] * 4
    finally:
        client.disconnect()
