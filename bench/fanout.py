"""Fan-out benchmark: N hall display clients on ``/live`` receiving ``ticket.called``.

Runs, in one go: the app on one process (in-process bus), the app on two processes with Redis
(clients spread over both by nginx's sticky hash: they connect from many loopback addresses),
and a bare Flask-SocketIO gevent broadcast server (bench/bare_server.py) as the baseline.
A clerk calls the next ticket (then marks it no-show to free the window) once per interval; the
latency of each delivery is measured from just before the call-next request is sent to the
client's receipt, on the same clock (this process). Server CPU per delivery and RSS per
connection come from /proc.

    python -m bench.fanout --clients 1000            # ~2 minutes
    python -m bench.fanout --clients 1000,5000 --no-write
"""
from __future__ import annotations

import argparse
import json
import time

import gevent
from gevent.pool import Pool

from bench import loadgen
from bench.calling import clerk_tokens, deep_queue, open_windows
from bench.common import COUNTY, DEFAULT_PG, DEFAULT_REDIS, recreate_pg, seed, write_section
from bench.procstat import Meter, descendants, rss_bytes
from bench.stack import DEPLOY, ROOT, Stack, _terminate, free_port, wait_healthy
from bench.wsclient import LiveClient

SOURCES = [f"127.0.{1 + i // 200}.{1 + i % 200}" for i in range(64)]


def connect_all(port: int, n: int, received: dict, *, seconds: float = 120) -> list:
    clients, pool, failures = [], Pool(100), [0]

    def one(i: int) -> None:
        client = LiveClient("127.0.0.1", port, "/live", {"hall": COUNTY},
                            source=SOURCES[i % len(SOURCES)])
        try:
            client.connect()
        except (OSError, ConnectionError):
            failures[0] += 1
            return
        clients.append(client)

        def on_event(name: str, payload: dict) -> None:
            received["*"] = received.get("*", 0) + 1   # every event, for CPU per message
            if name == "ticket.called":
                received.setdefault(payload["data"]["number"], []).append(time.perf_counter())
        gevent.spawn(_run, client, on_event)

    with gevent.Timeout(seconds, False):
        for i in range(n):
            pool.spawn(one, i)
        pool.join()
    if failures[0]:
        print(f"    {failures[0]} clients failed to connect")
    return clients


def _run(client, on_event) -> None:
    try:
        client.run(on_event)
    except (OSError, ConnectionError):
        pass


def broadcasts_via_app(url: str, token: str, window: str, count: int, interval: float) -> dict:
    conn = loadgen.Connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
    auth = {"Authorization": f"Bearer {token}", "Content-Length": "0"}
    call = loadgen.build_request("POST", f"{url}/api/v1/windows/{window}/call-next", headers=auth)
    free = loadgen.build_request("POST", f"{url}/api/v1/windows/{window}/no-show", headers=auth)
    sent = {}
    for _ in range(count):
        started = time.perf_counter()
        status, body = conn.request(call)
        if status != 200:
            raise RuntimeError(f"call-next answered {status}: {body[:200]!r}")
        sent[json.loads(body)["ticket"]["number"]] = started
        conn.request(free)
        gevent.sleep(max(0.0, interval - (time.perf_counter() - started)))
    conn.close()
    return sent


def broadcasts_via_bare(url: str, count: int, interval: float) -> dict:
    conn = loadgen.Connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
    sent = {}
    for k in range(count):
        number = f"B{k:03d}"
        raw = loadgen.build_request("POST", f"{url}/emit", body={
            "hall": COUNTY, "type": "ticket.called",
            "data": {"number": number, "window_number": 1,
                     "announcement": f"请{number}号到1号窗口办理"}})
        started = time.perf_counter()
        conn.request(raw)
        sent[number] = started
        gevent.sleep(max(0.0, interval - (time.perf_counter() - started)))
    conn.close()
    return sent


def figures(label: str, n: int, clients: list, sent: dict, received: dict, meter: Meter,
            rss_per_conn: float) -> dict:
    gevent.sleep(2.0)   # stragglers
    latencies, lasts, missing = [], [], 0
    messages = received.get("*", 0)
    for number, started in sent.items():
        got = received.get(number, [])
        missing += max(0, len(clients) - len(got))
        latencies += [t - started for t in got]
        if got:
            lasts.append(max(got) - started)
    latencies.sort()
    lasts.sort()

    def pct(values, p):
        return values[min(len(values) - 1, int(p / 100 * (len(values) - 1)))] * 1000 if values else float("nan")
    deliveries = len(latencies)
    row = {"label": label, "clients": len(clients), "asked": n, "deliveries": deliveries,
           "missing": missing, "p50": pct(latencies, 50), "p99": pct(latencies, 99),
           "last_p50": pct(lasts, 50), "last_max": max(lasts, default=float("nan")) * 1000,
           "cpu_us": meter.server / max(1, deliveries) * 1e6,
           "cpu_msg_us": meter.server / max(1, messages) * 1e6, "messages": messages, "rss_kb": rss_per_conn / 1024,
           "busy": meter.machine_busy}
    print(f"  {label:<22} {len(clients):>5} clients: {deliveries} deliveries, missing {missing}, "
          f"p50 {row['p50']:.1f} ms, p99 {row['p99']:.1f} ms, last client p50 "
          f"{row['last_p50']:.1f} ms (max {row['last_max']:.1f}), server CPU "
          f"{row['cpu_us']:.0f} µs/delivery ({row['cpu_msg_us']:.0f} µs per message of "
          f"{messages}), RSS {row['rss_kb']:.0f} KB/connection", flush=True)
    return row


def run_app(label: str, n: int, processes: int, redis_url: str | None, token: str, window: str,
            count: int, interval: float) -> dict:
    with Stack(DEFAULT_PG, redis_url, processes=processes, rate_limits=False,
               extra_env={"db_pool_size": "5", "db_max_overflow": "5"}) as stack:
        pids = descendants(stack.gunicorn_pids)
        before = rss_bytes(pids)
        received: dict = {}
        clients = connect_all(stack.port, n, received)
        gevent.sleep(1.0)
        rss = (rss_bytes(descendants(stack.gunicorn_pids)) - before) / max(1, len(clients))
        with Meter(stack.gunicorn_pids) as meter:
            sent = broadcasts_via_app(stack.url, token, window, count, interval)
        row = figures(label, n, clients, sent, received, meter, rss)
        for client in clients:
            client.close()
        return row


def run_bare(n: int, count: int, interval: float) -> dict:
    import os
    import subprocess
    import sys
    port = free_port()
    env = {**os.environ, "SERVICE_HALL_BIND": f"127.0.0.1:{port}", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"),
                             "bench.bare_server:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", procs=[proc])
        pids = descendants([proc.pid])
        before = rss_bytes(pids)
        received: dict = {}
        clients = connect_all(port, n, received)
        gevent.sleep(1.0)
        rss = (rss_bytes(descendants([proc.pid])) - before) / max(1, len(clients))
        with Meter([proc.pid]) as meter:
            sent = broadcasts_via_bare(f"http://127.0.0.1:{port}", count, interval)
        row = figures("bare Flask-SocketIO", n, clients, sent, received, meter, rss)
        for client in clients:
            client.close()
        return row
    finally:
        _terminate(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fan-out of ticket.called to display clients")
    parser.add_argument("--clients", default="1000", help="comma separated, e.g. 1000,5000")
    parser.add_argument("--broadcasts", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between calls")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [min(int(c), 5000) for c in args.clients.split(",")]
    count = min(args.broadcasts, 100)
    recreate_pg(DEFAULT_PG)
    seed(DEFAULT_PG)
    deep_queue(DEFAULT_PG, count * (2 * len(sizes) + 2) * 40)
    tokens = clerk_tokens(DEFAULT_PG)
    window = next(iter(tokens))
    rows = []
    for n in sizes:
        print(f"{n} clients:", flush=True)
        for label, processes, redis in (("app, 1 process", 1, None),
                                        ("app, 2 processes + Redis", 2, args.redis_url)):
            with Stack(DEFAULT_PG, redis, processes=processes) as stack:   # open the window once
                open_windows(stack.url, {window: tokens[window]})
            rows.append(run_app(label, n, processes, redis, tokens[window], window, count,
                                args.interval))
        rows.append(run_bare(n, count, args.interval))
    table = ["| server | clients | deliveries (missing) | p50 ms | p99 ms | last client p50 / max ms "
             "| server CPU µs per ticket.called delivery | per message sent | RSS KB/connection "
             "| machine busy |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(f"| {r['label']} | {r['clients']} | {r['deliveries']} ({r['missing']}) | "
                     f"{r['p50']:.1f} | {r['p99']:.1f} | {r['last_p50']:.1f} / {r['last_max']:.1f} | "
                     f"{r['cpu_us']:.0f} | {r['cpu_msg_us']:.0f} | {r['rss_kb']:.0f} | {r['busy']:.0%} |")
    ratios = []
    for n in sizes:
        bare = next(r for r in rows if r["asked"] == n and r["label"].startswith("bare"))
        for r in rows:
            if r["asked"] == n and not r["label"].startswith("bare"):
                ratios.append(f"- {n} clients, {r['label']} / bare: p99 "
                              f"{r['p99'] / bare['p99']:.2f}×, server CPU per ticket.called delivery "
                              f"{r['cpu_us'] / bare['cpu_us']:.2f}×, per message sent "
                              f"{r['cpu_msg_us'] / bare['cpu_msg_us']:.2f}×")
    print("\n".join(table + [""] + ratios))
    if not args.no_write:
        write_section("fanout", "Fan-out of ticket.called to display clients", "\n".join([
            "Display clients connect to `/live` with `auth={hall}` over WebSocket through nginx "
            "(`bench/wsclient.py`: a minimal Engine.IO v4 / Socket.IO v5 client on gevent, from "
            "64 loopback addresses so the sticky hash spreads them). A clerk calls the next "
            f"ticket every {args.interval} s ({count} calls, each then marked no-show); latency "
            "from just before the call-next request to each receipt of `ticket.called`, same "
            "clock. Each call cycle also broadcasts `window.state` (twice) and `ticket.no_show` "
            "to the hall: server CPU is given per `ticket.called` delivery (all the work of the "
            "cycle, database included) and per message sent. Baseline: `bench/bare_server.py` "
            "(Flask-SocketIO, gevent, gunicorn, no database) broadcasting the same payload.", "", *table, "", *ratios]))


if __name__ == "__main__":
    main()
