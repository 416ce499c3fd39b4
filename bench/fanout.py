"""Fan-out benchmark: N hall display clients on ``/live`` receiving ``ticket.called``.

Servers (``--servers``, any of): ``app1`` the app on one process (in-process bus), ``app2`` the
app on two processes with Redis (clients spread over both by nginx's sticky hash: they connect
from many loopback addresses), ``bare`` a bare Flask-SocketIO gevent broadcast server
(bench/bare_server.py) as the baseline.

One call cycle: a clerk calls the next ticket, then marks it no-show to free the window. Cycles
start ``--rate`` times a second in the hall (open loop), on ``--windows`` windows in turn (each
window one cycle at a time, as a clerk serves one ticket at a time). The latency of each
``ticket.called`` delivery is measured from just before the call-next request is sent to the
client's receipt, on the same clock (this process). The baseline runs behind the same nginx and
is sent, per cycle, the same messages as a display of the app received (observed on one client
of the app's run: types, order, and which come with the call and which with the no-show), in
the app's envelope; the output says what each server sent per cycle and how. The clients offer
permessage-deflate as browsers do (``--plain-clients``: they do not). Server and nginx CPU,
and RSS per connection, come from /proc.

    python -m bench.fanout --clients 1000                       # ~2 minutes, all three servers
    python -m bench.fanout --clients 5000 --rate 5 --broadcasts 40 --servers app1,bare  # target
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field

import gevent
import psycopg
from gevent.lock import Semaphore
from gevent.pool import Pool

from bench import loadgen
from bench.calling import clerk_tokens, deep_queue, open_windows
from bench.common import (COUNTY, DEFAULT_PG, DEFAULT_REDIS, plain_pg_url, raise_fd_limit,
                          recreate_pg, seed, write_section)
from bench.procstat import Meter, descendants, rss_bytes
from bench.stack import Stack
from bench.wsclient import LiveClient
from service_hall.voice.segments import announcement, call_voice

SOURCES = [f"127.0.{1 + i // 200}.{1 + i % 200}" for i in range(64)]
CALLED = b'["ticket.called",'
LABELS = {"app1": "app, 1 process", "app2": "app, 2 processes + Redis",
          "bare": "bare Flask-SocketIO"}


@dataclass
class Audience:
    """What the connected display clients received."""

    clients: list = field(default_factory=list)
    called: dict = field(default_factory=dict)     # ticket number -> [receipt times]
    messages: int = 0                              # every event, for CPU per message
    dropped: int = 0                               # clients whose connection ended early
    failed: int = 0                                # clients that could not connect
    watched: list = field(default_factory=list)    # (type, seq) one client got, in order

    def on_message(self, watch: bool):
        def handle(raw: bytes) -> None:
            self.messages += 1
            if raw.startswith(CALLED):
                self.called.setdefault(json.loads(raw)[1]["data"]["number"], []).append(
                    time.perf_counter())
            if watch:
                name, payload = json.loads(raw)[:2]
                self.watched.append((name, payload.get("seq")))
        return handle

    def on_drop(self) -> None:
        self.dropped += 1


# Clients offer permessage-deflate as browsers do; --plain-clients turns that off.
OFFER_DEFLATE = [True]


def connect_all(port: int, n: int, *, concurrency: int = 50, seconds: float = 0) -> Audience:
    """Connect ``n`` display clients, ``concurrency`` at a time (a connect storm of thousands
    would measure the accept queue, not the fan-out)."""
    audience, pool = Audience(), Pool(concurrency)
    seconds = seconds or max(120.0, n / 25)

    def one(i: int) -> None:
        client = LiveClient("127.0.0.1", port, "/live", {"hall": COUNTY},
                            source=SOURCES[i % len(SOURCES)], deflate=OFFER_DEFLATE[0])
        try:
            client.connect()
        except (OSError, ConnectionError):
            audience.failed += 1
            return
        audience.clients.append(client)
        client.run_in_hub(audience.on_message(i == 0), audience.on_drop)

    began = time.perf_counter()
    with gevent.Timeout(seconds, False):
        for i in range(n):
            pool.spawn(one, i)
        pool.join()
    pool.kill()
    took = time.perf_counter() - began
    print(f"    {len(audience.clients)} of {n} connected in {took:.1f}s"
          + (f", {audience.failed} failed" if audience.failed else "")
          + (f", {n - len(audience.clients) - audience.failed} timed out"
             if n - len(audience.clients) - audience.failed else ""), flush=True)
    return audience


def _paced(count: int, interval: float, cycle, lanes: int = 1) -> tuple[dict, float]:
    """Start ``cycle(k)`` -> (number, started) ``count`` times, one every ``interval`` seconds
    (open loop: a slow cycle does not delay the next one), cycle ``k`` on lane ``k % lanes``; a
    lane runs one cycle at a time (a window serves one ticket at a time), so a lane still busy
    when its next cycle is due delays it. The sent times and the rate achieved."""
    sent = {}
    busy = [Semaphore() for _ in range(lanes)]
    began = time.perf_counter()

    def one(k: int) -> None:
        with busy[k % lanes]:
            number, started = cycle(k)
        sent[number] = started

    running = []
    for k in range(count):
        gevent.sleep(max(0.0, began + k * interval - time.perf_counter()))
        running.append(gevent.spawn(one, k))
    gevent.joinall(running, raise_error=True)
    took = time.perf_counter() - began
    return sent, count / took if took else float("nan")


def broadcasts_via_app(url: str, tokens: dict[str, str], count: int, interval: float,
                       phases: list) -> tuple[dict, float]:
    """Call cycles through the API, on the windows of ``tokens`` in turn; ``phases`` gets
    (window, wall-clock time the call-next was sent, time the no-show was sent) per cycle."""
    port = int(url.rsplit(":", 1)[1])
    windows = list(tokens)
    lanes = []
    for window in windows:
        auth = {"Authorization": f"Bearer {tokens[window]}", "Content-Length": "0"}
        lanes.append((window, loadgen.Connection("127.0.0.1", port),
                      loadgen.build_request("POST", f"{url}/api/v1/windows/{window}/call-next",
                                            headers=auth),
                      loadgen.build_request("POST", f"{url}/api/v1/windows/{window}/no-show",
                                            headers=auth)))

    def cycle(k: int) -> tuple[str, float]:
        window, conn, call, free = lanes[k % len(lanes)]
        started, call_sent = time.perf_counter(), time.time()
        status, body = conn.request(call)
        if status != 200:
            raise RuntimeError(f"call-next answered {status}: {body[:200]!r}")
        phases.append((window, call_sent, time.time()))
        conn.request(free)
        return json.loads(body)["ticket"]["number"], started
    try:
        return _paced(count, interval, cycle, lanes=len(lanes))
    finally:
        for _window, conn, _call, _free in lanes:
            conn.close()


@dataclass
class Cycle:
    """The messages a hall display gets per call cycle: with the call, then with the no-show."""

    with_call: list[str]
    with_free: list[str]

    @classmethod
    def observed(cls, database_url: str, watched: list[tuple[str, int]],
                 phases: list[tuple[str, float, float]]) -> "Cycle | None":
        """What one client got of one window's second cycle, split by transaction: the event
        log's ``at`` (stamped on the server's clock, which is this machine's) says whether an
        event was recorded before the no-show request was sent or after."""
        if not watched or not phases:
            return None
        window = phases[0][0]
        own = [(call, free) for w, call, free in phases if w == window]
        if len(own) < 3:
            return None
        (call_sent, free_sent), (next_call, _) = own[1], own[2]
        seqs = [seq for _type, seq in watched]
        with psycopg.connect(plain_pg_url(database_url)) as conn:
            rows = conn.execute("SELECT seq, type, at FROM events WHERE hall_code = %s AND "
                                "window_code = %s AND seq = ANY(%s) ORDER BY seq",
                                (COUNTY, window, seqs)).fetchall()
        when = lambda at: at.timestamp()  # noqa: E731
        return cls([t for _s, t, at in rows if call_sent <= when(at) < free_sent],
                   [t for _s, t, at in rows if free_sent <= when(at) < next_call])

    def describe(self) -> str:
        return (f"{' + '.join(self.with_call)} with the call, "
                f"{' + '.join(self.with_free) or 'nothing'} with the no-show "
                f"({len(self.with_call) + len(self.with_free)} messages)")


DEFAULT_CYCLE = Cycle(["ticket.called"], ["ticket.no_show"])


def _sample(type_: str, number: str) -> dict:
    if type_ == "window.state":
        return {"window_number": 1, "window_code": f"{COUNTY}-1", "state": "serving"}
    data = {"number": number, "window_number": 1, "item_code": "D01-01",
            "status": "called" if type_ == "ticket.called" else "no_show"}
    if type_ == "ticket.called":
        data.update(call=1, announcement=announcement(number, 1), **call_voice(number, 1))
    return data


def broadcasts_via_bare(url: str, count: int, interval: float, cycle_messages: Cycle,
                        lanes: int) -> tuple[dict, float]:
    """The same cycles as the app's (on ``lanes`` connections, like its windows)."""
    conns = [loadgen.Connection("127.0.0.1", int(url.rsplit(":", 1)[1])) for _ in range(lanes)]

    def emit(number: str, types: list[str]) -> bytes:
        return loadgen.build_request("POST", f"{url}/emit", body={
            "hall": COUNTY, "events": [{"type": t, "data": _sample(t, number)} for t in types]})

    def cycle(k: int) -> tuple[str, float]:
        conn, number = conns[k % lanes], f"B{k:03d}"
        call, free = emit(number, cycle_messages.with_call), emit(number, cycle_messages.with_free)
        started = time.perf_counter()
        conn.request(call)
        if cycle_messages.with_free:
            conn.request(free)
        return number, started
    try:
        return _paced(count, interval, cycle, lanes=lanes)
    finally:
        for conn in conns:
            conn.close()


def figures(label: str, n: int, audience: Audience, sent: dict, rate: float, meter: Meter,
            rss_per_conn: float, cycle: Cycle | None) -> dict:
    clients = audience.clients
    latencies, lasts, missing = [], [], 0
    for number, started in sent.items():
        got = audience.called.get(number, [])
        missing += max(0, len(clients) - len(got))
        latencies += [t - started for t in got]
        if got:
            lasts.append(max(got) - started)
    latencies.sort()
    lasts.sort()

    def pct(values, p):
        return (values[min(len(values) - 1, int(p / 100 * (len(values) - 1)))] * 1000
                if values else float("nan"))
    deliveries = len(latencies)
    messages = audience.messages
    per_cycle = messages / max(1, len(clients)) / max(1, len(sent))
    row = {"label": label, "clients": len(clients), "asked": n, "deliveries": deliveries,
           "missing": missing, "dropped": audience.dropped, "p50": pct(latencies, 50),
           "p99": pct(latencies, 99), "last_p50": pct(lasts, 50),
           "last_max": max(lasts, default=float("nan")) * 1000,
           "cpu_us": meter.server / max(1, deliveries) * 1e6,
           "cpu_msg_us": meter.server / max(1, messages) * 1e6, "messages": messages,
           "per_cycle": per_cycle, "rss_kb": rss_per_conn / 1024, "busy": meter.machine_busy,
           "rate": rate, "load": meter.load / max(1e-9, meter.seconds),
           "cycle": cycle.describe() if cycle else "?", "cycle_obj": cycle}
    print(f"  {label:<24} {len(clients):>5} clients, {rate:.1f} calls/s: {deliveries} deliveries, "
          f"missing {missing}, dropped {audience.dropped}, p50 {row['p50']:.1f} ms, p99 "
          f"{row['p99']:.1f} ms, last client p50 {row['last_p50']:.1f} ms (max "
          f"{row['last_max']:.1f}), server CPU {row['cpu_us']:.0f} µs/delivery "
          f"({row['cpu_msg_us']:.1f} µs per message of {messages}, {per_cycle:.2f} per client "
          f"per cycle), RSS {row['rss_kb']:.1f} KB/connection; load generator "
          f"{row['load']:.0%} of a core, machine {meter.machine_busy:.0%} busy", flush=True)
    print(f"    per cycle a display got: {row['cycle']}", flush=True)
    return row


def _stragglers(audience: Audience, sent: dict, *, seconds: float = 5.0) -> None:
    """Wait (inside the CPU meter) until the last cycle reached every client, or ``seconds``
    passed; then a moment for the messages that follow ticket.called."""
    last = list(sent)[-1] if sent else None
    deadline = time.perf_counter() + seconds
    while last and len(audience.called.get(last, ())) < len(audience.clients) \
            and time.perf_counter() < deadline:
        gevent.sleep(0.05)
    gevent.sleep(0.5)


def _measure(label: str, n: int, stack: Stack, broadcast, cycle_of) -> dict:
    before = rss_bytes(descendants(stack.gunicorn_pids))
    audience = connect_all(stack.port, n)
    gevent.sleep(1.0)
    rss = (rss_bytes(descendants(stack.gunicorn_pids)) - before) / max(1, len(audience.clients))
    with Meter(stack.gunicorn_pids) as meter, Meter(stack.nginx_pids) as proxy:
        sent, rate = broadcast()
        _stragglers(audience, sent)
    cycle = cycle_of(audience)
    row = figures(label, n, audience, sent, rate, meter, rss, cycle)
    row["nginx"] = proxy.server / max(1e-9, proxy.seconds)
    print(f"    nginx {row['nginx']:.0%} of a core", flush=True)
    for client in audience.clients:
        client.close()
    return row


def run_app(key: str, n: int, database_url: str, redis_url: str | None, tokens: dict[str, str],
            count: int, interval: float) -> dict:
    processes = 2 if key == "app2" else 1
    with Stack(database_url, redis_url if processes > 1 else None, processes=processes,
               rate_limits=False, extra_env={"db_pool_size": "5", "db_max_overflow": "5"}) as stack:
        open_windows(stack.url, tokens)
        phases: list = []
        return _measure(LABELS[key], n, stack,
                        lambda: broadcasts_via_app(stack.url, tokens, count, interval, phases),
                        lambda audience: Cycle.observed(database_url, audience.watched, phases))


def run_bare(n: int, database_url: str, count: int, interval: float, cycle: Cycle,
             lanes: int) -> dict:
    """The baseline behind the same nginx, on one process (its in-process bus)."""
    with Stack(database_url, None, processes=1, rate_limits=False, migrate=False,
               wsgi_app="bench.bare_server:app") as stack:
        return _measure(LABELS["bare"], n, stack, lambda: broadcasts_via_bare(
            stack.url, count, interval, cycle, lanes), lambda _audience: cycle)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fan-out of ticket.called to display clients")
    parser.add_argument("--clients", default="1000", help="comma separated, e.g. 1000,5000")
    parser.add_argument("--broadcasts", type=int, default=20, help="call cycles per run")
    parser.add_argument("--rate", type=float, default=2.0,
                        help="call cycles started per second (in the hall, over --windows)")
    parser.add_argument("--windows", type=int, default=8,
                        help="windows calling in turn (each serves one ticket at a time)")
    parser.add_argument("--servers", default="app1,app2,bare",
                        help="comma separated: app1, app2, bare")
    parser.add_argument("--database-url", default=DEFAULT_PG,
                        help="dropped and recreated (the name must contain 'bench')")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--plain-clients", action="store_true",
                        help="clients do not offer permessage-deflate (browsers do)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    OFFER_DEFLATE[0] = not args.plain_clients
    limit = raise_fd_limit()
    sizes = [min(int(c), 5000) for c in args.clients.split(",")]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if set(servers) - set(LABELS):
        raise SystemExit(f"unknown servers: {sorted(set(servers) - set(LABELS))}")
    if limit < 3 * max(sizes):
        print(f"warning: open-file limit {limit} for {max(sizes)} clients", flush=True)
    count, interval = min(args.broadcasts, 200), 1.0 / args.rate
    apps = [s for s in servers if s != "bare"]
    if apps:
        recreate_pg(args.database_url)
        seed(args.database_url)
        # spread over all the county's items: about one in 40 is served by a given window
        deep_queue(args.database_url, (count * len(sizes) * len(apps) + 10 * args.windows) * 60)
        tokens = dict(list(clerk_tokens(args.database_url).items())[:args.windows])
    rows = []
    for n in sizes:
        print(f"{n} clients:", flush=True)
        for key in apps:
            rows.append(run_app(key, n, args.database_url, args.redis_url, tokens, count,
                                interval))
        if "bare" in servers:
            # What the app's displays got per cycle (the last app run at this size), else the
            # app's current routing: ticket.called, then ticket.no_show.
            seen = next((r["cycle_obj"] for r in reversed(rows) if r.get("cycle_obj")), None)
            rows.append(run_bare(n, args.database_url, count, interval, seen or DEFAULT_CYCLE,
                                 args.windows))
    report(rows, sizes, args, count)


def report(rows: list[dict], sizes: list[int], args, count: int) -> None:
    table = ["| server | clients | calls/s | deliveries (missing) | p50 ms | p99 ms "
             "| last client p50 / max ms | server CPU µs per ticket.called delivery "
             "| per message sent | messages per display per cycle | RSS KB/connection "
             "| load generator | machine busy |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        table.append(
            f"| {r['label']} | {r['clients']} | {r['rate']:.1f} | {r['deliveries']} "
            f"({r['missing']}) | {r['p50']:.1f} | {r['p99']:.1f} | {r['last_p50']:.1f} / "
            f"{r['last_max']:.1f} | {r['cpu_us']:.0f} | {r['cpu_msg_us']:.1f} | "
            f"{r['per_cycle']:.2f} | {r['rss_kb']:.1f} | {r['load']:.0%} | {r['busy']:.0%} |")
    notes = sorted({f"- {r['label']}: per cycle a display got {r['cycle']}" for r in rows}) + [
        "- clients " + ("do not offer permessage-deflate (--plain-clients)" if args.plain_clients
                        else "offer permessage-deflate, as browsers do") + "; the app declines "
        "it (realtime/transport.py), the baseline's stock transport "
        + ("would accept it" if args.plain_clients else "accepts it (a zlib compressor per "
           "connection, every message compressed for each client)"),
        "- both behind the same nginx, with docs/deploy/gunicorn.conf.py (one gevent worker, "
        "the heap settled after start: service_hall/heap.py); the app also writes each frame "
        "directly to an idle connection (realtime/transport.py), the baseline through "
        "Engine.IO's writer greenlet and wsproto"]
    ratios = []
    for n in sizes:
        bare = next((r for r in rows if r["asked"] == n and r["label"] == LABELS["bare"]), None)
        for r in rows:
            if bare and r["asked"] == n and r is not bare:
                ratios.append(f"- {n} clients, {r['label']} / bare: p99 "
                              f"{r['p99'] / bare['p99']:.2f}×, server CPU per ticket.called "
                              f"delivery {r['cpu_us'] / bare['cpu_us']:.2f}×, per message sent "
                              f"{r['cpu_msg_us'] / bare['cpu_msg_us']:.2f}×, RSS per connection "
                              f"{r['rss_kb'] / bare['rss_kb']:.2f}×")
    print("\n".join(table + [""] + notes + [""] + ratios))
    if not args.no_write:
        write_section("fanout", "Fan-out of ticket.called to display clients", "\n".join([
            "Display clients connect to `/live` with `auth={hall}` over WebSocket through nginx "
            "(`bench/wsclient.py`: a minimal Engine.IO v4 / Socket.IO v5 client on gevent, from "
            "64 loopback addresses so the sticky hash spreads them). Clerks call the next "
            f"ticket {args.rate:g} times a second in the hall, on {args.windows} windows in turn "
            f"({count} calls, each then marked no-show); "
            "latency from just before the call-next request to each receipt of `ticket.called`, "
            "same clock. Server CPU is given per `ticket.called` delivery (all the work of the "
            "cycle, database included) and per message sent. Baseline: `bench/bare_server.py` "
            "(stock Flask-SocketIO, gevent, gunicorn, no database) broadcasting, per cycle, the "
            "same messages in the same envelope as a display of the app received.", "",
            *table, "", *notes, "", *ratios]))


if __name__ == "__main__":
    main()
