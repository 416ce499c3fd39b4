"""Driving a hall through a live server's API, as kiosks and clerks do.

On SQLite every transaction starts with BEGIN IMMEDIATE, so a test that left its own session in
a transaction (even after a read) would hold the write lock the server needs: :func:`settle`
ends it before each call to a server.
"""
from __future__ import annotations

from service_hall.extensions import db
from tests.factories import token_for
from tests.live_server import LiveServer

ENVELOPE_KEYS = {"seq", "type", "hall", "at", "data"}


class HallDriver:
    def __init__(self, setup: dict, client):
        self.hall = setup["hall"]
        self.code = setup["hall"].code
        self.kiosk = setup["kiosk"]
        self.item_code = setup["items"][0].code
        self.windows = [w.code for w in setup["windows"]]
        self.clerks = [token_for(client, clerk.username) for clerk in setup["clerks"]]
        settle()

    def issue(self, server: LiveServer, n: int = 1) -> list[str]:
        numbers = []
        settle()
        for _ in range(n):
            answer = server.post(f"/api/v1/halls/{self.code}/tickets", self.kiosk,
                                 {"item_code": self.item_code})
            assert answer.status_code == 201, answer.text
            numbers.append(answer.json()["number"])
        return numbers

    def open(self, server: LiveServer, window: int) -> None:
        settle()
        answer = server.put(f"/api/v1/windows/{self.windows[window]}/state", self.clerks[window],
                            {"state": "idle"})
        assert answer.status_code == 200, answer.text

    def act(self, server: LiveServer, window: int, action: str, expect: int = 200):
        settle()
        answer = server.post(f"/api/v1/windows/{self.windows[window]}/{action}",
                             self.clerks[window])
        assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None


def settle() -> None:
    db.session.commit()


def seqs(envelopes: list[dict]) -> list[int]:
    return [e["seq"] for e in envelopes]


def hall_events(events) -> list[dict]:
    """The event envelopes among everything a client received (not ready/resync/error)."""
    return [data for _event, data in events
            if isinstance(data, dict) and set(data) == ENVELOPE_KEYS]
