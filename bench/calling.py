"""Calling benchmark: the 126 county windows of the Suide demo calling at once over a deep queue,
on the production stack (nginx, 2 gunicorn gevent processes, PostgreSQL, Redis).

Each window's clerk loops: ``call-next``, then ``no-show`` (the cheapest action that frees the
window for the next call). Duplicates are checked at the end: no ticket may reach two windows.

    python -m bench.calling                  # ~1 minute, rewrites its section of PERFORMANCE.md
    python -m bench.calling --seconds 5 --no-write

Target: ≥ 1,000 call-next/s.
"""
from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import gevent
import psycopg

from bench import loadgen
from bench.common import (COUNTY, DEFAULT_PG, DEFAULT_REDIS, SECRET, plain_pg_url, recreate_pg,
                          seed, verdict, write_section)
from bench.procstat import Meter
from bench.stack import Stack

TARGET = 1000
PG_POOL = {"db_pool_size": "8", "db_max_overflow": "4"}


def deep_queue(database_url: str, depth: int) -> int:
    """Insert ``depth`` waiting tickets of today, spread over the county's items (10% green),
    with their counters, straight into the database (the issuing path is bench/tickets.py's)."""
    url = plain_pg_url(database_url)
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    rng = random.Random(11)
    with psycopg.connect(url) as conn:
        hall = conn.execute("SELECT id FROM halls WHERE code = %s", (COUNTY,)).fetchone()[0]
        items = conn.execute(
            "SELECT DISTINCT i.id, i.prefix FROM service_items i JOIN window_items wi "
            "ON wi.item_id = i.id JOIN windows w ON w.id = wi.window_id WHERE w.hall_id = %s",
            (hall,)).fetchall()
        serials: Counter = Counter()
        rows = []
        for n in range(depth):
            item_id, prefix = rng.choice(items)
            green = rng.random() < 0.1
            prefix = "V" if green else prefix
            serials[prefix] += 1
            at = start + timedelta(milliseconds=n)
            rows.append((uuid.uuid4(), hall, day, f"{prefix}{serials[prefix]:03d}", item_id,
                         green, at, at, uuid.uuid4().hex[:22]))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO tickets (id, hall_id, service_day, number, item_id, status, "
                "green_channel, transferred_in, queue_at, issued_at, call_count, reactivated, "
                "track_token) VALUES (%s, %s, %s, %s, %s, 'waiting', %s, false, %s, %s, 0, false, %s)",
                rows)
            cur.executemany(
                "INSERT INTO ticket_counters (hall_id, key, day, value) VALUES (%s, %s, %s, %s)",
                [(hall, f"no:{p}", day, v) for p, v in serials.items()])
        conn.execute("ANALYZE tickets")
    return depth


def clerk_tokens(database_url: str) -> dict[str, str]:
    """Bearer tokens for the clerks of the county windows, signed as the app signs them."""
    from service_hall.auth.operations import _serializer
    with psycopg.connect(plain_pg_url(database_url)) as conn:
        rows = conn.execute(
            "SELECT w.code, u.id, u.token_generation FROM windows w JOIN users u "
            "ON u.window_id = w.id JOIN halls h ON h.id = w.hall_id WHERE h.code = %s "
            "ORDER BY w.number", (COUNTY,)).fetchall()
    return {code: _serializer(SECRET).dumps({"u": str(uid), "g": gen}) for code, uid, gen in rows}


def open_windows(base: str, tokens: dict[str, str]) -> None:
    def one(code: str) -> None:
        conn = loadgen.Connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
        status, body = conn.request(loadgen.build_request(
            "PUT", f"{base}/api/v1/windows/{code}/state", body={"state": "idle"},
            headers={"Authorization": f"Bearer {tokens[code]}"}))
        conn.close()
        if status != 200:
            raise RuntimeError(f"opening {code}: {status} {body[:200]!r}")
    gevent.joinall([gevent.spawn(one, code) for code in tokens], raise_error=True)


def call_loop(base: str, tokens: dict[str, str], *, seconds: float) -> dict:
    host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
    stop_at = time.perf_counter() + seconds
    latencies: list[float] = []
    called: list[str] = []
    statuses: Counter = Counter()
    errors = [0]

    def window(code: str) -> None:
        auth = {"Authorization": f"Bearer {tokens[code]}"}
        call = loadgen.build_request("POST", f"{base}/api/v1/windows/{code}/call-next",
                                     headers={**auth, "Content-Length": "0"})
        release = loadgen.build_request("POST", f"{base}/api/v1/windows/{code}/no-show",
                                        headers={**auth, "Content-Length": "0"})
        conn = loadgen.Connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    status, body = conn.request(call)
                except OSError:
                    errors[0] += 1
                    continue
                statuses[status] += 1
                if status != 200:
                    if status == 204:      # the queue is empty for this window
                        return
                    gevent.sleep(0.05)
                    continue
                latencies.append(time.perf_counter() - started)
                called.append(json.loads(body)["ticket"]["id"])
                status, _ = conn.request(release)
                statuses[f"no-show {status}"] += 1
        finally:
            conn.close()

    began = time.perf_counter()
    gevent.joinall([gevent.spawn(window, code) for code in tokens])
    elapsed = time.perf_counter() - began
    latencies.sort()
    n = len(latencies)
    return {"calls": n, "seconds": elapsed, "rate": n / elapsed,
            "p50": latencies[n // 2] * 1000 if n else float("nan"),
            "p99": latencies[int(0.99 * (n - 1))] * 1000 if n else float("nan"),
            "statuses": dict(statuses), "errors": errors[0],
            "duplicate_answers": n - len(set(called))}


def double_assignments(database_url: str) -> int:
    """Tickets called more than once by call-next (the audit log keeps every call)."""
    with psycopg.connect(plain_pg_url(database_url)) as conn:
        return conn.execute(
            "SELECT count(*) FROM (SELECT record_id FROM audit_log WHERE action = 'ticket.call' "
            "GROUP BY record_id HAVING count(*) > 1) d").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description="Calling benchmark")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--depth", type=int, default=30000, help="waiting tickets at the start")
    parser.add_argument("--database-url", default=DEFAULT_PG)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    seconds = min(args.seconds, 60)
    recreate_pg(args.database_url)
    seed(args.database_url)
    deep_queue(args.database_url, args.depth)
    tokens = clerk_tokens(args.database_url)
    with Stack(args.database_url, args.redis_url, processes=2, rate_limits=False,
               extra_env=PG_POOL) as stack:
        open_windows(stack.url, tokens)
        with Meter(stack.gunicorn_pids) as meter:
            result = call_loop(stack.url, tokens, seconds=seconds)
    doubles = double_assignments(args.database_url)
    cpu = meter.server / max(1, result["calls"]) * 1000
    line = (f"{len(tokens)} windows, queue {args.depth:,} deep: {result['calls']} calls in "
            f"{result['seconds']:.1f}s = **{result['rate']:,.0f} call-next/s** (target ≥ {TARGET:,}: "
            f"{verdict(result['rate'], TARGET)}), p50 {result['p50']:.1f} ms, p99 "
            f"{result['p99']:.1f} ms; server CPU {cpu:.2f} ms per call + no-show; machine "
            f"{meter.machine_busy:.0%} busy, load generator {meter.load / result['seconds']:.0%} of "
            f"a core")
    checks = (f"double assignments (tickets called by two call-nexts, from the audit log): "
              f"**{doubles}**; duplicate tickets among the answers: {result['duplicate_answers']}; "
              f"answers {result['statuses']}, connection errors {result['errors']}")
    print(line)
    print(checks)
    if not args.no_write:
        write_section("calling", "Calling (call-next)", "\n".join([
            "The 126 county windows of the Suide demo (`seed_demo`), each with its clerk's bearer "
            "token, on the production stack (nginx, 2 gunicorn gevent processes, PostgreSQL, "
            "Redis). The queue is inserted straight into the database before the run (waiting "
            "tickets over the items the windows serve, 10% green channel). Each window loops "
            "`POST call-next` then `POST no-show` (the cheapest action that frees the window), "
            f"for {seconds:.0f} s; latency is the call-next request's.", "",
            f"- {line}", f"- {checks}"]))


if __name__ == "__main__":
    main()
