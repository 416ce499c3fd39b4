"""A lean HTTP/1.1 load generator: gevent greenlets on raw keep-alive sockets.

Two modes, both bounded in time:
- closed loop (:func:`closed_loop`): ``concurrency`` clients, each sends its next request as soon
  as the previous answer arrives — the sustained rate;
- open loop (:func:`open_loop`): requests scheduled at a fixed rate, latency measured from the
  scheduled time (so a stalled server is not hidden by a stalled client).

It parses only what it needs (status line, Content-Length), so one core drives several thousand
requests per second. Import it in a process of its own: it monkey-patches nothing, but gevent's
hub must own the load-generator process.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import gevent
from gevent import socket
from gevent.queue import Queue

RequestFactory = Callable[[int], bytes]


def build_request(method: str, url: str, *, body: dict | None = None,
                  headers: dict | None = None) -> bytes:
    parts = urlsplit(url)
    payload = json.dumps(body).encode() if body is not None else b""
    lines = [f"{method} {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1",
             f"Host: {parts.netloc}", "Connection: keep-alive"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Connection:
    def __init__(self, host: str, port: int, source: str | None = None):
        self.address = (host, port)
        self.source = source
        self.sock = None
        self.buffer = b""

    def _connect(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.source:
            self.sock.bind((self.source, 0))
        self.sock.connect(self.address)
        self.buffer = b""

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one request, return (status, body); reconnects once on a closed keep-alive."""
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(raw)
                return self._read()
            except (ConnectionError, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _read(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked answers are not supported by this load generator")
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        self.buffer = rest
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if close:
            self.close()
        return status, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


@dataclass
class Result:
    seconds: float
    latencies: list[float] = field(default_factory=list)   # seconds, successful requests
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    bodies: list[bytes] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def summary(self) -> str:
        return (f"{self.ok} ok in {self.seconds:.1f}s = {self.rate:,.0f}/s, "
                f"p50 {self.percentile(50) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms, "
                f"max {max(self.latencies, default=0) * 1000:.1f} ms, statuses {self.statuses}, "
                f"errors {self.errors}")


def _record(result: Result, status: int, body: bytes, elapsed: float, ok_statuses,
            keep_bodies: bool) -> None:
    result.statuses[status] = result.statuses.get(status, 0) + 1
    if status in ok_statuses:
        result.latencies.append(elapsed)
        if keep_bodies:
            result.bodies.append(body)


def closed_loop(url: str, make_request: RequestFactory, *, concurrency: int, seconds: float,
                ok_statuses=(200, 201), keep_bodies: bool = False,
                sources: list[str] | None = None, max_requests: int | None = None) -> Result:
    """``concurrency`` keep-alive clients as fast as the server answers, for ``seconds``."""
    parts = urlsplit(url)
    result = Result(seconds=seconds)
    counter = iter(range(max_requests or 10**12))
    stop_at = time.perf_counter() + seconds

    def client(n: int) -> None:
        conn = Connection(parts.hostname, parts.port or 80,
                          sources[n % len(sources)] if sources else None)
        try:
            while time.perf_counter() < stop_at:
                i = next(counter, None)
                if i is None:
                    return
                raw = make_request(i)
                started = time.perf_counter()
                try:
                    status, body = conn.request(raw)
                except (ConnectionError, OSError):
                    result.errors += 1
                    gevent.sleep(0.01)
                    continue
                _record(result, status, body, time.perf_counter() - started, ok_statuses,
                        keep_bodies)
        finally:
            conn.close()

    began = time.perf_counter()
    gevent.joinall([gevent.spawn(client, n) for n in range(concurrency)])
    result.seconds = time.perf_counter() - began
    return result


def open_loop(url: str, make_request: RequestFactory, *, rate: float, seconds: float,
              max_connections: int = 64, ok_statuses=(200, 201), keep_bodies: bool = False) -> Result:
    """Requests at a fixed ``rate`` for ``seconds``; latency counted from the scheduled time."""
    parts = urlsplit(url)
    result = Result(seconds=seconds)
    idle: Queue = Queue()
    opened = [0]
    total = int(rate * seconds)

    def one(i: int, scheduled: float) -> None:
        if idle.empty() and opened[0] < max_connections:
            opened[0] += 1
            conn = Connection(parts.hostname, parts.port or 80)
        else:
            conn = idle.get()
        try:
            status, body = conn.request(make_request(i))
        except (ConnectionError, OSError):
            result.errors += 1
            conn.close()
        else:
            _record(result, status, body, time.perf_counter() - scheduled, ok_statuses,
                    keep_bodies)
        idle.put(conn)

    began = time.perf_counter()
    workers = []
    for i in range(total):
        scheduled = began + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        workers.append(gevent.spawn(one, i, scheduled))
    gevent.joinall(workers, timeout=30)
    result.seconds = time.perf_counter() - began
    while not idle.empty():
        idle.get().close()
    return result
