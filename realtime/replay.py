"""Reads of the event log shared by the clients that resume at once (a reconnect storm).

After a restart every display of a hall reconnects within a second or two, most with the same
``since`` and the same rooms: without sharing, each one reads the same rows from the event log.
Here one read serves every client asking for the same (hall, rooms, after) while it is valid:

- **one flight**: a client asking while the read is under way waits for it;
- **valid until the hall moves**: a read taken while this process delivered no event of the
  hall since the read began is exactly what a fresh read would return now, for the events the
  client is owed. The gate counts deliveries per hall (``generation``); an event committed
  after the read is delivered after it, so it bumps the count (the read is then discarded), or
  it has not reached this process yet (the client is held: the gate notes it, and the replay
  reads again — see ``realtime.gate``).
"""
from __future__ import annotations

import threading
from typing import Callable, Hashable

MAX_KEPT = 64
WAIT_SECONDS = 10.0


class SharedReads:
    def __init__(self, generation: Callable[[str], int]):
        self.generation = generation
        self._done: dict[Hashable, tuple[int, object]] = {}
        self._running: dict[Hashable, tuple[int, threading.Event]] = {}
        self._lock = threading.Lock()

    def get(self, hall_code: str, key: Hashable, load: Callable[[], object]):
        """``load()``'s value for ``key``, shared as described above. The caller must already
        be in its rooms, and held by the gate (its round started) when it reads events."""
        while True:
            generation = self.generation(hall_code)
            with self._lock:
                done = self._done.get(key)
                if done is not None and done[0] == generation:
                    return done[1]
                running = self._running.get(key)
                if running is None or running[0] != generation:
                    mine = (generation, threading.Event())
                    self._running[key] = mine
                    break
            running[1].wait(WAIT_SECONDS)   # then check what it found (or read ourselves)
        try:
            value = load()
        except BaseException:
            self._finish(key, mine, None)
            raise
        self._finish(key, mine, value)
        # Our own read is valid for us even if the hall moved meanwhile: we were held before it
        # began, so whatever it missed is noted by the gate.
        return value

    def _finish(self, key: Hashable, mine: tuple, value) -> None:
        with self._lock:
            if self._running.get(key) is mine:
                del self._running[key]
            if value is not None:
                self._done[key] = (mine[0], value)
                while len(self._done) > MAX_KEPT:
                    self._done.pop(next(iter(self._done)))
        mine[1].set()
