"""Reconnect storm: N display clients lose their server (both processes restarted), tickets are
taken meanwhile, and all N reconnect at once with ``since`` = the last seq they saw. Each must get
every missed ``ticket.issued`` from the event log, in order, then ``ready``.

    python -m bench.reconnect_storm --clients 1000      # ~2 minutes
"""
from __future__ import annotations

import argparse
import time

import gevent
from gevent.pool import Pool

from bench import loadgen
from bench.common import (COUNTY, DEFAULT_PG, DEFAULT_REDIS, kiosk_token, raise_fd_limit,
                          recreate_pg, seed, write_section)
from bench.fanout import SOURCES
from bench.procstat import Meter
from bench.stack import Stack
from bench.wsclient import LiveClient


class Display:
    def __init__(self, port: int, source: str):
        self.port, self.source = port, source
        self.seq = None          # last seq seen
        self.ready_at = None
        self.missed: list[int] = []
        self.client = None

    def connect(self, since: int | None = None) -> None:
        auth = {"hall": COUNTY} if since is None else {"hall": COUNTY, "since": since}
        self.client = LiveClient("127.0.0.1", self.port, "/live", auth, source=self.source)
        self.client.connect()
        gevent.spawn(self._run)

    def _run(self) -> None:
        def on_event(name: str, payload: dict) -> None:
            if name == "ready":
                self.seq = payload.get("seq", self.seq)
                self.ready_at = time.perf_counter()
            elif "seq" in payload:
                if self.ready_at is None and name == "ticket.issued":
                    self.missed.append(payload["seq"])
                self.seq = payload["seq"]
        try:
            self.client.run(on_event)
        except (OSError, ConnectionError):
            pass


def take_tickets(url: str, count: int) -> None:
    conn = loadgen.Connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
    token = kiosk_token()
    for _ in range(count):
        status, body = conn.request(loadgen.build_request(
            "POST", f"{url}/api/v1/halls/{COUNTY}/tickets", body={"item_code": "D01-01"},
            headers={"Authorization": f"Bearer {token}"}))
        if status != 201:
            raise RuntimeError(f"ticket: {status} {body[:200]!r}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Reconnect storm after a server restart")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--missed", type=int, default=20, help="tickets taken while cut off")
    parser.add_argument("--database-url", default=DEFAULT_PG,
                        help="dropped and recreated (the name must contain 'bench')")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    n = min(args.clients, 5000)
    raise_fd_limit()
    recreate_pg(args.database_url)
    seed(args.database_url)
    with Stack(args.database_url, args.redis_url, processes=2, rate_limits=False,
               extra_env={"db_pool_size": "5", "db_max_overflow": "5"}) as stack:
        take_tickets(stack.url, 3)
        displays = [Display(stack.port, SOURCES[i % len(SOURCES)]) for i in range(n)]
        pool = Pool(100)
        with gevent.Timeout(120, False):
            pool.map(lambda d: d.connect(), displays)
        gevent.sleep(2)
        live = [d for d in displays if d.ready_at is not None]
        print(f"{len(live)} of {n} displays connected and ready", flush=True)
        stack.restart_processes()
        take_tickets(stack.url, args.missed)
        for d in live:
            d.ready_at, d.missed = None, []
        began = time.perf_counter()
        failures = [0]

        def again(d: Display) -> None:
            try:
                d.connect(since=d.seq)
            except (OSError, ConnectionError):
                failures[0] += 1
        with Meter(stack.gunicorn_pids) as meter:
            storm = [gevent.spawn(again, d) for d in live]
            gevent.joinall(storm, timeout=120)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sum(d.ready_at is not None for d in live) + failures[0] < len(live):
                gevent.sleep(0.1)
        waits = sorted(d.ready_at - began for d in live if d.ready_at is not None)
        complete = sum(1 for d in live if d.ready_at is not None and len(d.missed) == args.missed
                       and d.missed == sorted(d.missed))

    def pct(p):
        return waits[min(len(waits) - 1, int(p / 100 * (len(waits) - 1)))] * 1000 if waits else float("nan")
    lines = [
        f"- {len(live)} displays reconnected at once after both processes restarted, "
        f"{args.missed} tickets taken meanwhile: {len(waits)} ready, {failures[0]} failed to "
        f"connect; time to `ready` p50 {pct(50):.0f} ms, p99 {pct(99):.0f} ms, max "
        f"{(waits[-1] * 1000 if waits else float('nan')):.0f} ms",
        f"- every missed `ticket.issued` replayed in order before `ready`: **{complete} of "
        f"{len(live)}** displays; server CPU during the storm {meter.server:.1f} s "
        f"({meter.server / max(1, len(waits)) * 1000:.1f} ms per reconnect), machine "
        f"{meter.machine_busy:.0%} busy",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section("reconnect", "Reconnect storm after a restart", "\n".join([
            "Display clients (`bench/wsclient.py`, WebSocket through nginx, from 64 loopback "
            "addresses) on the production stack (2 processes + Redis); both gunicorn processes "
            "are stopped and started again (nginx stays), tickets are taken, then every display "
            "reconnects at the same moment with `since` = the last seq it saw.", "", *lines]))


if __name__ == "__main__":
    main()
