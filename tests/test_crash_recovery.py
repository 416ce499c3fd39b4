"""Nothing acknowledged is lost when the server is killed (SPEC 8, issue 8).

A real server process (``python -m service_hall.server``, gevent) takes tickets from six kiosk
threads while eight clerks call and clear their windows, each thread with its own ``requests``
session. Mid-load the process gets SIGKILL (no shutdown, no flush). A new process is started
on the same database, and then: every ticket a kiosk got a 201 for exists with the number it was
given; numbers are unique and gap-free per prefix (the serial is bumped in the ticket's own
transaction, so a killed transaction takes its serial with it); no ticket was handed to two
windows, and each window's acknowledged calls are recorded against that window; and the new
process carries on numbering where the old one stopped. Runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter

import requests
from sqlalchemy import select

from kiosks.models import Ticket
from service_hall.extensions import db
from windows.models import Window
from tests.factories import bearer, token_for

KIOSKS, WINDOWS = 6, 8
KILL_AFTER_TICKETS, KILL_AFTER_SECONDS = 150, 12.0  # under the 600/minute kiosk limit


class Load:
    def __init__(self, url: str):
        self.url = url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.issued: dict[str, str] = {}        # ticket id -> number, acknowledged with 201
        self.called: list[tuple[str, str]] = []  # (window code, ticket id), acknowledged 200
        self.errors: list[str] = []
        self.failures: list[str] = []

    def kiosk(self, token: str, items: list[str]) -> None:
        http, n = requests.Session(), 0
        while not self.stop.is_set():
            n += 1
            try:
                answer = http.post(f"{self.url}/api/v1/halls/C1/tickets", timeout=5,
                                   json={"item_code": items[n % len(items)]},
                                   headers={**bearer(token), "Idempotency-Key": uuid.uuid4().hex})
            except requests.RequestException as exc:
                self.failures.append(repr(exc))
                continue  # the server is gone (or going): not acknowledged
            if answer.status_code == 201:
                with self.lock:
                    self.issued[answer.json()["id"]] = answer.json()["number"]
            elif answer.status_code != 429:
                self.errors.append(f"issue: {answer.status_code} {answer.text[:200]}")

    def window(self, code: str, token: str) -> None:
        http = requests.Session()
        while not self.stop.is_set():
            try:
                answer = http.post(f"{self.url}/api/v1/windows/{code}/call-next", timeout=5,
                                   headers=bearer(token))
                if answer.status_code == 200:
                    with self.lock:
                        self.called.append((code, answer.json()["ticket"]["id"]))
                    http.post(f"{self.url}/api/v1/windows/{code}/no-show", timeout=5,
                              headers=bearer(token))
                elif answer.status_code == 204:
                    time.sleep(0.05)
                elif answer.status_code != 409:
                    self.errors.append(f"call: {answer.status_code} {answer.text[:200]}")
            except requests.RequestException:
                continue


def test_sigkill_under_load_loses_no_acknowledged_ticket(client, factory, start_servers):
    setup = factory.hall_setup("C1", windows=WINDOWS, items=2)
    clerks = {}
    for window in setup["windows"]:
        clerks[window.code] = token_for(client, f"clerk-{window.code}")
        assert client.put(f"/api/v1/windows/{window.code}/state", json={"state": "idle"},
                          headers=bearer(clerks[window.code])).status_code == 200
    items = [item.code for item in setup["items"]]
    prefixes = {item.code: item.prefix for item in setup["items"]}
    # SQLite: every transaction takes the write lock (BEGIN IMMEDIATE), reads included; end
    # ours and touch no ORM object until the kill, or the server waits for us.
    db.session.commit()
    (server,) = start_servers(1)
    load = Load(server.url)
    threads = [threading.Thread(target=load.kiosk, args=(setup["kiosk"], items))
               for _ in range(KIOSKS)]
    threads += [threading.Thread(target=load.window, args=(code, token))
                for code, token in clerks.items()]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    while (len(load.issued) < KILL_AFTER_TICKETS
           and time.monotonic() - started < KILL_AFTER_SECONDS):
        time.sleep(0.01)
    server.process.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
    server.process.wait(timeout=10)
    load.stop.set()
    for thread in threads:
        thread.join(timeout=10)
    with load.lock:
        acknowledged, calls = dict(load.issued), list(load.called)
    assert not load.errors, load.errors[:5]
    assert len(acknowledged) >= 10, ("too little load before the kill to prove anything",
                                     load.failures[:3], server.output())
    assert calls, "no window called anything before the kill"

    (restarted,) = start_servers(1)
    db.session.rollback()
    stored = {str(t.id): t for t in db.session.scalars(select(Ticket))}
    lost = [tid for tid in acknowledged if tid not in stored]
    renumbered = [tid for tid, number in acknowledged.items()
                  if tid in stored and stored[tid].number != number]
    print(f"\ncrash recovery: {len(acknowledged)} tickets acknowledged under load at the kill "
          f"({len(stored)} stored), {len(calls)} calls acknowledged; tickets lost: {len(lost)}")
    assert lost == [] and renumbered == []

    serials: dict[str, list[int]] = {}
    for ticket in stored.values():
        serials.setdefault(ticket.number[0], []).append(int(ticket.number[1:]))
    for prefix, numbers in serials.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gap or duplicate in {prefix}"

    windows = {w.id: w.code for w in db.session.scalars(select(Window))}
    assert max(Counter(tid for _, tid in calls).values()) == 1, "a ticket went to two windows"
    for code, tid in calls:
        assert windows[stored[tid].window_id] == code
        assert stored[tid].status in ("called", "no_show")
    holders = [w.current_ticket_id for w in db.session.scalars(select(Window))
               if w.current_ticket_id is not None]
    assert len(holders) == len(set(holders)), "two windows hold the same ticket"

    # the new process carries on: next serial, and the queue is still callable
    prefix = stored[next(iter(acknowledged))].number[0]
    item = next(code for code, p in prefixes.items() if p == prefix)
    db.session.commit()  # SQLite: release the lock our reads took before the server writes
    after = restarted.post("/api/v1/halls/C1/tickets", setup["kiosk"], {"item_code": item})
    assert after.status_code == 201, after.text
    assert after.json()["number"] == f"{prefix}{len(serials[prefix]) + 1:03d}"
