"""Concurrency (issue 2): many kiosks and windows at once, on SQLite and PostgreSQL."""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from kiosks.models import Ticket
from service_hall.extensions import db
from tests.factories import Desk, bearer, token_for

TICKETS = 2000


def _let_workers_write() -> None:
    """End the test thread's own transaction: on SQLite it would hold the write lock."""
    db.session.rollback()


def _issue_many(app, kiosk: str, count: int, threads: int, items: list[str]) -> list[dict]:
    _let_workers_write()
    def issue(n: int) -> dict:
        client = app.test_client()
        answer = client.post("/api/v1/halls/C1/tickets", headers=bearer(kiosk),
                             json={"item_code": items[n % len(items)]})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(issue, range(count)))


def test_32_threads_issue_2000_tickets_gap_free_per_prefix(app, factory):
    setup = factory.hall_setup("C1", windows=1, items=2)
    issued = _issue_many(app, setup["kiosk"], TICKETS, 32, ["C1-I1", "C1-I2"])
    by_prefix: dict[str, list[int]] = {}
    for ticket in issued:
        by_prefix.setdefault(ticket["number"][0], []).append(int(ticket["number"][1:]))
    assert {p: sorted(s) for p, s in by_prefix.items()} == {
        "A": list(range(1, 1001)), "B": list(range(1, 1001))}
    stored = db.session.scalars(select(Ticket.number)).all()
    assert len(stored) == TICKETS and len(set(stored)) == TICKETS


def test_64_windows_calling_at_once_give_each_ticket_to_exactly_one_window(app, factory):
    setup = factory.hall_setup("C1", windows=64, items=1)
    client = app.test_client()
    desk = Desk(client, setup)
    tokens = {}
    for window in setup["windows"]:
        desk.open(window.code)
        tokens[window.code] = desk.clerk(window.code)
    _issue_many(app, setup["kiosk"], TICKETS, 16, ["C1-I1"])

    def work(window_code: str) -> list[str]:
        worker = app.test_client()
        headers = tokens[window_code]
        got = []
        while True:
            answer = worker.post(f"/api/v1/windows/{window_code}/call-next", headers=headers)
            if answer.status_code == 204:
                return got
            assert answer.status_code == 200, answer.get_json()
            got.append(answer.get_json()["ticket"]["id"])
            # Free the window again with one request (no-show) to keep the run short.
            assert worker.post(f"/api/v1/windows/{window_code}/no-show",
                               headers=headers).status_code == 200

    _let_workers_write()
    with ThreadPoolExecutor(64) as pool:
        results = list(pool.map(work, tokens))
    called = Counter(ticket_id for got in results for ticket_id in got)
    assert len(called) == TICKETS
    assert max(called.values()) == 1
    db.session.expire_all()
    rows = db.session.execute(select(Ticket.status, Ticket.window_id)).all()
    assert {status for status, _ in rows} == {"no_show"}
    assert sum(1 for got in results if got) > 1  # the work really was shared


def test_repeated_idempotency_key_under_concurrency_yields_one_ticket(app, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)

    def press(_: int) -> str:
        client = app.test_client()
        answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                             headers={**bearer(setup["kiosk"]), "Idempotency-Key": "same-press"})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["id"]

    _let_workers_write()
    with ThreadPoolExecutor(16) as pool:
        ids = set(pool.map(press, range(64)))
    assert len(ids) == 1
    assert len(db.session.scalars(select(Ticket)).all()) == 1


def test_failed_request_leaves_database_as_it_was(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    setup["items"][0].daily_cap = 1
    db.session.commit()
    desk = Desk(client, setup)
    desk.issue("C1-I1")
    clerk = bearer(token_for(client, "clerk-C1-1"))
    before = _snapshot()
    client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"}, headers=desk.kiosk)
    client.post("/api/v1/windows/C1-1/transfer", json={"item_code": "C1-I1"}, headers=clerk)
    client.put("/api/v1/windows/C1-1/state", json={"state": "paused"}, headers=clerk)
    assert _snapshot() == before


def _snapshot() -> dict:
    db.session.expire_all()
    tables = {}
    for table in db.metadata.sorted_tables:
        tables[table.name] = sorted(map(str, db.session.execute(select(table)).all()))
    return tables
