"""Live events of a hall delivered in seq order, in every process.

Seq order is commit order, but publishing happens after the commit, in whatever greenlet or
process committed: two events of a hall can reach a process's clients in the wrong order, and a
Redis message can be lost. Every process sees every published event (Redis broadcasts them all),
so each one delivers a hall's events strictly in seq order: an event that comes early waits for
the missing ones; if they do not come within ``wait`` seconds they are read from the event log
(every seq is committed before a later one, so they are there). Clients can then rely on "drop
any seq <= the last seen".

A seq below the next expected one is dropped if it was already read from the log; otherwise the
hall's numbering started again (a new hall reusing a code, a restored database) and the
sequencer follows it.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)

MAX_REMEMBERED = 1000
Deliver = Callable[[], None]
# (hall code, first seq, last seq) -> [(seq, deliver)] from the event log
Fetch = Callable[[str, int, int], list[tuple[int, Deliver]]]


class Sequencer:
    def __init__(self, *, spawn: Callable, sleep: Callable[[float], None],
                 fetch: Fetch | None = None, wait: float = 0.5):
        self.spawn, self.sleep, self.fetch, self.wait = spawn, sleep, fetch, wait
        self._next: dict[str, int] = {}
        self._early: dict[str, dict[int, Deliver]] = {}
        self._waiting: set[str] = set()
        self._from_log: dict[str, set[int]] = {}  # delivered from the log before they came
        self._lock = threading.Lock()

    def offer(self, hall: str, seq: int, deliver: Deliver) -> None:
        """Deliver now if it is the next seq of the hall, else keep it until its turn."""
        with self._lock:
            expected = self._next.get(hall)
            if expected is not None and seq < expected:
                from_log = self._from_log.get(hall, set())
                if seq in from_log:
                    from_log.discard(seq)
                    return  # came late: already delivered from the log
                expected = None  # the hall's numbering started again
                self._early[hall] = {}
            early = self._early.setdefault(hall, {})
            early[seq] = deliver
            if expected is None:  # first event of this hall seen by this process
                self._next[hall] = seq
            self._flush(hall)
            if early and hall not in self._waiting:
                self._waiting.add(hall)
                self.spawn(self._fill_gap, hall)

    def _flush(self, hall: str) -> None:
        early, expected = self._early[hall], self._next[hall]
        while expected in early:
            try:
                early.pop(expected)()
            except Exception:  # one client's broken socket must not stop the hall
                log.exception("delivering %s seq %d failed", hall, expected)
            expected += 1
        self._next[hall] = expected

    def _fill_gap(self, hall: str) -> None:
        self.sleep(self.wait)
        with self._lock:
            early, first = self._early.get(hall, {}), self._next[hall]
            last = min(early) - 1 if early else first - 1
        found: list[tuple[int, Deliver]] = []
        if last >= first and self.fetch is not None:
            try:
                found = self.fetch(hall, first, last)
            except Exception:
                log.exception("reading %s seq %d-%d from the event log failed", hall, first, last)
        with self._lock:
            early = self._early.setdefault(hall, {})
            from_log = self._from_log.setdefault(hall, set())
            for seq, deliver in found:
                if seq >= self._next[hall] and seq not in early:
                    early[seq] = deliver
                    from_log.add(seq)
            while len(from_log) > MAX_REMEMBERED:
                from_log.discard(min(from_log))
            self._flush(hall)
            if early and self._next[hall] not in early:
                log.warning("%s: seq %d-%d missing from the event log; skipping", hall,
                            self._next[hall], min(early) - 1)
                self._next[hall] = min(early)
                self._flush(hall)
            self._waiting.discard(hall)
            if early:
                self._waiting.add(hall)
                self.spawn(self._fill_gap, hall)
