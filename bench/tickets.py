"""Ticket issuing benchmark: kiosks taking tickets over HTTP, on SQLite (one process) and on the
production stack (nginx, 2 gunicorn gevent processes, PostgreSQL, Redis); the raw rate of the same
INSERTs through psycopg alone; duplicates checked at the end.

    python -m bench.tickets                 # ~1.5 minutes, rewrites its section of PERFORMANCE.md
    python -m bench.tickets --seconds 5 --no-write

Targets: ≥ 1,000 tickets/s on the production stack; p99 ≤ 50 ms at 500 tickets/s.
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg

from bench import loadgen, raw_ticket
from bench.common import (COUNTY, DEFAULT_PG, DEFAULT_REDIS, SECRET, kiosk_token, plain_pg_url,
                          recreate_pg, seed, sqlite_url, verdict, write_section)
from bench.procstat import Meter
from bench.stack import Stack, single_process

TARGET_RATE = 1000
TARGET_P99_MS = 50
OPEN_RATE = 500
MODEST_RATE = 20    # 72,000 tickets an hour: far above a county hall's peak, within this machine
CEILING = "bare Flask + psycopg"
PG_POOL = {"db_pool_size": "8", "db_max_overflow": "4"}   # 24 connections for 2 processes


# --- the database, read directly -------------------------------------------------------------

def execute(database_url: str, sql: str, params=()) -> None:
    if database_url.startswith("sqlite"):
        raise ValueError("the multi-hall run is on PostgreSQL")
    with psycopg.connect(plain_pg_url(database_url)) as conn:
        conn.execute(sql, params)


def query(database_url: str, sql: str, params=()) -> list[tuple]:
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.split("sqlite:///", 1)[1])
        try:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            conn.close()
    with psycopg.connect(plain_pg_url(database_url)) as conn:
        return conn.execute(sql, params).fetchall()


def item_codes(database_url: str) -> list[str]:
    return [row[0] for row in query(database_url, "SELECT code FROM service_items ORDER BY code")]


def integrity(database_url: str) -> dict:
    """Duplicate numbers per hall and day (must be 0), and how many tickets exist."""
    duplicates = query(database_url, "SELECT count(*) FROM (SELECT hall_id, service_day, number "
                       "FROM tickets GROUP BY hall_id, service_day, number HAVING count(*) > 1) d")
    total = query(database_url, "SELECT count(*) FROM tickets")
    return {"duplicates": duplicates[0][0], "tickets": total[0][0]}


# --- HTTP load ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kiosk:
    hall: str
    token: str
    codes: tuple[str, ...]   # the items this hall offers


def county_kiosk(database_url: str) -> list[Kiosk]:
    return [Kiosk(COUNTY, kiosk_token(), tuple(item_codes(database_url)))]


def hall_kiosks(database_url: str) -> list[Kiosk]:
    """The county hall and its 15 township halls, each with a kiosk (the demo has kiosks only
    at the county: the townships' are added here, straight into the database)."""
    from service_hall.auth.operations import hash_device_token
    from service_hall.catalog.seed import device_token
    kiosks = county_kiosk(database_url)
    levels = query(database_url, "SELECT code, levels FROM service_items WHERE active")
    township_codes = tuple(sorted(code for code, lv in levels
                                  if "township" in (json.loads(lv) if isinstance(lv, str) else lv)))
    for hall_id, code in query(database_url, "SELECT id, code FROM halls WHERE level = 'township' "
                               "ORDER BY code"):
        token = device_token(SECRET, f"kiosk-{code}-bench")
        execute(database_url, "INSERT INTO devices (id, name, kind, hall_id, token_hash, active) "
                "VALUES (%s, %s, 'kiosk', %s, %s, true) ON CONFLICT DO NOTHING",
                (str(uuid.uuid4()), f"kiosk-{code}-bench", hall_id, hash_device_token(token)))
        kiosks.append(Kiosk(code, token, township_codes))
    return kiosks


def requests_for(base: str, kiosks: list[Kiosk], run: str):
    rng = random.Random(7)
    choices = []
    for _ in range(4096):
        kiosk = rng.choice(kiosks)
        choices.append((kiosk, rng.choice(kiosk.codes), rng.random() < 0.1))
    url = f"{base}/api/v1/halls/{kiosks[0].hall}/tickets"

    def make(i: int) -> bytes:
        kiosk, code, green = choices[i % len(choices)]
        return loadgen.build_request(
            "POST", f"{base}/api/v1/halls/{kiosk.hall}/tickets",
            body={"item_code": code, "green_channel": green},
            headers={"Authorization": f"Bearer {kiosk.token}", "Idempotency-Key": f"{run}-{i}"})
    return url, make


def answered_numbers(result: loadgen.Result) -> tuple[int, int]:
    numbers = [(answer["hall_code"], answer["number"])
               for answer in map(json.loads, result.bodies)]
    return len(numbers), len(numbers) - len(set(numbers))


def run_closed(base: str, kiosks: list[Kiosk], pids: list[int], *, concurrency: int,
               seconds: float, label: str) -> dict:
    url, make = requests_for(base, kiosks, f"{label}-c{concurrency}-{uuid.uuid4().hex[:6]}")
    loadgen.closed_loop(url, make, concurrency=concurrency, seconds=1.0)  # warm up pools, caches
    url, make = requests_for(base, kiosks, f"{label}-c{concurrency}-{uuid.uuid4().hex[:6]}")
    with Meter(pids) as meter:
        result = loadgen.closed_loop(url, make, concurrency=concurrency, seconds=seconds,
                                     keep_bodies=True)
    answered, dup_answers = answered_numbers(result)
    figures = {"label": label, "mode": f"{concurrency} clients", "rate": result.rate,
               "p50": result.percentile(50) * 1000, "p99": result.percentile(99) * 1000,
               "ok": result.ok, "statuses": result.statuses, "errors": result.errors,
               "server_cpu_ms": meter.server / max(1, result.ok) * 1000,
               "load_cpu": meter.load / result.seconds, "busy": meter.machine_busy,
               "duplicate_answers": dup_answers}
    print(f"  {label:<10} {concurrency:>3} clients: {result.summary()}; server CPU "
          f"{figures['server_cpu_ms']:.2f} ms/ticket, load generator {figures['load_cpu']:.0%} "
          f"of a core, machine {meter.machine_busy:.0%} busy", flush=True)
    return figures


def run_open(base: str, kiosks: list[Kiosk], pids: list[int], *, rate: float, seconds: float,
             label: str) -> dict:
    url, make = requests_for(base, kiosks, f"{label}-r{rate}-{uuid.uuid4().hex[:6]}")
    with Meter(pids) as meter:
        result = loadgen.open_loop(url, make, rate=rate, seconds=seconds, keep_bodies=True)
    answered, dup_answers = answered_numbers(result)
    print(f"  {label:<10} {rate:.0f}/s open loop: {result.summary()}", flush=True)
    return {"label": label, "mode": f"{rate:.0f}/s offered", "rate": result.rate,
            "p50": result.percentile(50) * 1000, "p99": result.percentile(99) * 1000,
            "ok": result.ok, "statuses": result.statuses, "errors": result.errors,
            "server_cpu_ms": meter.server / max(1, result.ok) * 1000,
            "load_cpu": meter.load / result.seconds, "busy": meter.machine_busy,
            "duplicate_answers": dup_answers}


# --- the same INSERTs through psycopg alone ---------------------------------------------------

def raw_inserts(database_url: str, *, concurrency: int, seconds: float,
                halls: tuple[str, ...] = (COUNTY,)) -> dict:
    """One transaction per ticket with the statements the app runs, from ``concurrency``
    threads, each on its own connection, spread over ``halls``."""
    url = plain_pg_url(database_url)
    with psycopg.connect(url) as conn:
        hall_ids, items, device = raw_ticket.catalog(conn)
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    stop_at = time.perf_counter() + seconds
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        rng = random.Random(n)
        done = []
        with psycopg.connect(url, autocommit=True) as conn:   # each ticket its own transaction
            while time.perf_counter() < stop_at:
                hall_code = rng.choice(halls)
                started = time.perf_counter()
                raw_ticket.issue(conn, hall_id=hall_ids[hall_code], hall_code=hall_code,
                                 item=rng.choice(items), green=rng.random() < 0.1,
                                 device=device, day=day)
                done.append(time.perf_counter() - started)
        with lock:
            latencies.extend(done)

    began = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    rate = len(latencies) / elapsed
    p99 = latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("nan")
    print(f"  raw psycopg {concurrency:>3} connections, {len(halls)} hall(s): {len(latencies)} in "
          f"{elapsed:.1f}s = "
          f"{rate:,.0f}/s, p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, p99 {p99:.1f} ms",
          flush=True)
    return {"rate": rate, "p50": latencies[len(latencies) // 2] * 1000, "p99": p99,
            "concurrency": concurrency, "ok": len(latencies), "halls": len(halls)}


# --- report ---------------------------------------------------------------------------------

def table(rows: list[dict]) -> str:
    out = ["| setup | load | tickets/s | p50 ms | p99 ms | server CPU ms/ticket | "
           "machine busy | load gen CPU | answers (non-2xx) |",
           "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        other = {k: v for k, v in r["statuses"].items() if k not in (200, 201)}
        out.append(f"| {r['label']} | {r['mode']} | {r['rate']:,.0f} | {r['p50']:.1f} | "
                   f"{r['p99']:.1f} | {r['server_cpu_ms']:.2f} | {r['busy']:.0%} | "
                   f"{r['load_cpu']:.0%} | {r['ok']} ok{', ' + str(other) if other else ''}"
                   f"{', %d errors' % r['errors'] if r['errors'] else ''} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description="Ticket issuing benchmark")
    parser.add_argument("--seconds", type=float, default=10, help="per measurement (default 10)")
    parser.add_argument("--concurrency", default="16,64", help="kiosk clients, comma separated")
    parser.add_argument("--database-url", default=DEFAULT_PG,
                        help="PostgreSQL benchmark database, dropped and recreated")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not touch PERFORMANCE.md")
    args = parser.parse_args()
    seconds = min(args.seconds, 60)   # bounded: the machine is shared
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: list[dict] = []
    checks: list[str] = []

    if not args.skip_sqlite:
        url = sqlite_url()
        seed(url)
        kiosks = county_kiosk(url)
        print("SQLite, one process (python -m service_hall.server):", flush=True)
        with single_process(url) as server:
            for c in levels:
                rows.append(run_closed(server.url, kiosks, server.pids, concurrency=c,
                                       seconds=seconds, label="SQLite 1 proc"))
        check = integrity(url)
        checks.append(f"SQLite: {check['tickets']} tickets, {check['duplicates']} duplicate numbers")

    recreate_pg(args.database_url)
    seed(args.database_url)
    county = county_kiosk(args.database_url)
    halls = hall_kiosks(args.database_url)
    many = f"PG stack, {len(halls)} halls"
    print("PostgreSQL, nginx + 2 gunicorn gevent processes + Redis:", flush=True)
    with Stack(args.database_url, args.redis_url, processes=2, rate_limits=False,
               extra_env=PG_POOL) as stack:
        pids = stack.gunicorn_pids
        for c in levels:
            rows.append(run_closed(stack.url, county, pids, concurrency=c, seconds=seconds,
                                   label="PG stack"))
        rows.append(run_open(stack.url, county, pids, rate=MODEST_RATE, seconds=seconds,
                             label="PG stack"))
        rows.append(run_open(stack.url, county, pids, rate=OPEN_RATE, seconds=seconds,
                             label="PG stack"))
        rows.append(run_closed(stack.url, halls, pids, concurrency=max(levels), seconds=seconds,
                               label=many))
        rows.append(run_open(stack.url, halls, pids, rate=OPEN_RATE, seconds=seconds, label=many))
    print("The stack's ceiling: the same INSERTs from a bare Flask view (bench/bare_server.py):",
          flush=True)
    with Stack(args.database_url, None, processes=2, wsgi_app="bench.bare_server:app",
               migrate=False, extra_env=PG_POOL) as bare:
        pids = bare.gunicorn_pids
        rows.append(run_closed(bare.url, county, pids, concurrency=max(levels), seconds=seconds,
                               label=CEILING))
        rows.append(run_closed(bare.url, halls, pids, concurrency=max(levels), seconds=seconds,
                               label=f"{CEILING}, {len(halls)} halls"))
        rows.append(run_open(bare.url, county, pids, rate=OPEN_RATE, seconds=seconds,
                             label=CEILING))
    raw = raw_inserts(args.database_url, concurrency=max(levels), seconds=seconds)
    raw_many = raw_inserts(args.database_url, concurrency=max(levels), seconds=seconds,
                           halls=tuple(k.hall for k in halls))
    check = integrity(args.database_url)
    checks.append(f"PostgreSQL: {check['tickets']} tickets (HTTP and raw), "
                  f"{check['duplicates']} duplicate numbers")
    dup_answers = sum(r["duplicate_answers"] for r in rows)
    checks.append(f"duplicate numbers among the HTTP answers of each run: {dup_answers}")

    best = max(r["rate"] for r in rows if r["label"] == "PG stack" and "clients" in r["mode"])
    best_many = max(r["rate"] for r in rows if r["label"] == many and "clients" in r["mode"])
    open_row = next(r for r in rows if r["label"] == "PG stack"
                    and r["mode"] == f"{OPEN_RATE}/s offered")
    open_many = next(r for r in rows if r["label"] == many and r["mode"] == f"{OPEN_RATE}/s offered")
    modest = next(r for r in rows if r["mode"] == f"{MODEST_RATE}/s offered")
    ceiling = next(r for r in rows if r["label"] == CEILING and "clients" in r["mode"])
    ceiling_many = next(r for r in rows if r["label"] == f"{CEILING}, {len(halls)} halls")

    def vs_raw(rate: float, raw_row: dict) -> str:
        return (f"{raw_row['rate']:,.0f} tickets/s (p50 {raw_row['p50']:.1f} ms, p99 "
                f"{raw_row['p99']:.1f} ms); end-to-end / raw = **{rate / raw_row['rate']:.2f}**")
    summary = [
        f"- sustained on the production stack, one hall: **{best:,.0f} tickets/s**; spread over "
        f"{len(halls)} halls (the national load is spread over thousands): "
        f"**{best_many:,.0f} tickets/s** (target ≥ {TARGET_RATE:,}: "
        f"{verdict(max(best, best_many), TARGET_RATE)})",
        f"- p99 at {OPEN_RATE}/s offered: one hall **{open_row['p99']:.1f} ms** "
        f"({open_row['rate']:,.0f}/s achieved), {len(halls)} halls **{open_many['p99']:.1f} ms** "
        f"({open_many['rate']:,.0f}/s achieved) (target ≤ {TARGET_P99_MS} ms: "
        f"{verdict(min(open_row['p99'], open_many['p99']), TARGET_P99_MS, higher_is_better=False)}"
        f"); at {MODEST_RATE}/s offered: p50 {modest['p50']:.1f} ms, p99 {modest['p99']:.1f} ms",
        f"- the stack's ceiling, the same INSERTs from a bare Flask view (no ORM, no checks) on "
        f"the same nginx + 2 gunicorn gevent processes, {max(levels)} clients: one hall "
        f"**{ceiling['rate']:,.0f}/s**, {len(halls)} halls **{ceiling_many['rate']:,.0f}/s**; "
        f"end-to-end / ceiling = **{best / ceiling['rate']:.2f}** and "
        f"**{best_many / ceiling_many['rate']:.2f}**",
        f"- raw psycopg, same statements, {raw['concurrency']} connections, one hall: "
        + vs_raw(best, raw),
        f"- raw psycopg, same statements, {raw_many['concurrency']} connections, "
        f"{raw_many['halls']} halls: " + vs_raw(best_many, raw_many),
        *[f"- {c}" for c in checks],
    ]
    print("\n".join(summary))
    if not args.no_write:
        write_section("tickets", "Ticket issuing", "\n".join([
            "Kiosk clients `POST /api/v1/halls/{hall}/tickets` (random item the hall offers, 10% "
            "green channel, a fresh `Idempotency-Key` each) over keep-alive connections from "
            "`bench/loadgen.py` (gevent, one process, on the same 2 cores as the servers): the "
            "county hall 610826 alone, then the county and its 15 township halls at random "
            "(a kiosk each). "
            "Rate limits off (`SERVICE_HALL_RATE_LIMITS=0`): every kiosk here shares one address. "
            f"{seconds:.0f} s per line after a 1 s warm-up. Closed loop = each client sends its next "
            "request when the answer arrives; open loop = requests at a fixed rate, latency from "
            "the scheduled time.", "", table(rows), "", *summary]))


if __name__ == "__main__":
    main()
