"""Socket.IO settings: the Redis channel, and no wildcard origin."""
from __future__ import annotations

import pytest

from realtime.gate import GatedManager, GatedRedisManager
from service_hall import create_app
from service_hall.extensions import socketio
from tests.conftest import make_settings


def test_redis_bus_uses_the_configured_channel(_schema):
    create_app(make_settings(redis_url="redis://127.0.0.1:6379/1", redis_channel="hall-a"))
    manager = socketio.server.manager
    assert isinstance(manager, GatedRedisManager) and manager.channel == "hall-a"
    create_app(make_settings())
    assert isinstance(socketio.server.manager, GatedManager)


def test_wildcard_origin_is_refused(_schema):
    with pytest.raises(RuntimeError, match="CORS"):
        create_app(make_settings(cors_origins=["https://hall.example", "*"]))
    create_app(make_settings(cors_origins=["https://hall.example"]))
    assert socketio.server.eio.cors_allowed_origins == ["https://hall.example"]
