"""The township end of the link: a worker that keeps the node and the county in step.

It connects to the county's ``/sync`` namespace with the node token, then repeats: pull the
county's entries after the last one applied here (applied in one transaction, the seq stored with
them), push our outbox after the county's last acknowledgement (stored when it answers), prune
what the county confirmed long enough ago (``prune``, hourly), and wait for a wake-up (a local
commit, or the county's ``wake``) or the poll interval. An entry too large for one message goes
either way in parts (``parts``). Any failure drops the connection and retries with exponential
backoff; everything resumes from the stored seqs, so a break, a restart or a crash loses nothing
and applies nothing twice.
"""
from __future__ import annotations

import logging
import threading
import time

import socketio
from sqlalchemy import select

from realtime.sync import capture, parts
from realtime.sync.apply import SyncRefused, apply_entries, lock_link
from realtime.sync.models import UPSTREAM, OutboxCounter, OutboxEntry, SyncLink
from realtime.sync.prune import prune_interval, prune_outbox
from service_hall.catalog.models import Hall
from service_hall.config import env
from service_hall.db import utcnow
from service_hall.extensions import db

log = logging.getLogger(__name__)
NAMESPACE = "/sync"


class SyncError(Exception):
    pass


class SyncWorker:
    def __init__(self, app):
        settings = app.config["SERVICE_HALL"]
        if settings.role != "township":
            raise RuntimeError("the sync worker runs on a township node (SERVICE_HALL_ROLE)")
        missing = [name for name, value in (("NODE_CODE", settings.node_code),
                                            ("UPSTREAM_URL", settings.upstream_url),
                                            ("NODE_TOKEN", settings.node_token)) if not value]
        if missing:
            raise RuntimeError("a township node needs " + ", ".join(
                "SERVICE_HALL_" + name for name in missing))
        self.app = app
        self.node, self.url, self.token = (settings.node_code, settings.upstream_url,
                                           settings.node_token)
        self.batch = int(env("SYNC_BATCH", "500") or 500)
        # The county refuses Socket.IO messages over 1 MB (Engine.IO's max_http_buffer_size):
        # batches stay under this, a larger entry goes in parts (realtime.sync.parts).
        self.batch_bytes = parts.batch_bytes()
        self.part_bytes = parts.part_bytes()
        self.poll = float(env("SYNC_POLL", "1") or 1)
        self.retry_max = float(env("SYNC_RETRY_MAX", "30") or 30)
        self.call_timeout = float(env("SYNC_TIMEOUT", "30") or 30)
        self.prune_every = prune_interval()
        self._pruned_at = 0.0
        self.wake = threading.Event()
        self.connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- running ------------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        capture.set_notifier(lambda _targets: self.wake.set())
        self._thread = threading.Thread(target=self.run, name="township-sync", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()

    def run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self.session()
                delay = 0.5
            except Exception as exc:  # the link is down or refused: retry later
                self.connected = False
                log.warning("sync with %s interrupted: %s (retry in %.1fs)", self.url, exc, delay)
                self._note_error(f"{type(exc).__name__}: {exc}")
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.retry_max)

    def session(self, *, once: bool = False) -> None:
        """One connection: exchange until it breaks (or, with ``once``, until caught up)."""
        client = socketio.Client(reconnection=False)
        client.on("wake", lambda *_args: self.wake.set(), namespace=NAMESPACE)
        client.connect(self.url, namespaces=[NAMESPACE], transports=["websocket"],
                       auth={"node": self.node, "token": self.token}, wait_timeout=10)
        self.connected = True
        log.info("sync connected to %s as %s", self.url, self.node)
        try:
            while not self._stop.is_set():
                if not client.connected:
                    raise SyncError("connection lost")
                self.wake.clear()
                self.pull_all(client)
                self.push_all(client)
                if once:
                    return
                self.maybe_prune()
                self.wake.wait(self.poll)
        finally:
            self.connected = False
            client.disconnect()

    def initial_snapshot(self, *, wait: bool = True) -> bool:
        """A node that never synced pulls the catalog, accounts and its halls' rows before it
        serves. Returns True when it has them (at once if it synced before)."""
        delay = 0.5
        while True:
            if self.applied_seq() > 0:
                return True
            try:
                self.session(once=True)
            except Exception as exc:
                self._note_error(f"{type(exc).__name__}: {exc}")
                print(f"Waiting for the county at {self.url} for the initial snapshot: {exc}",
                      flush=True)
            if self.applied_seq() > 0:
                return True
            if not wait or self._stop.wait(delay):
                return False
            delay = min(delay * 2, self.retry_max)

    # -- exchange -----------------------------------------------------------------------------

    def _call(self, client, event: str, data: dict, *, timeout: float | None = None) -> dict:
        """Emit and wait for the county's answer; give up at once if the connection drops
        (python-socketio's own ``call`` would wait for the whole timeout)."""
        timeout = timeout or self.call_timeout
        done, box = threading.Event(), []

        def answered(*args):
            box.append(args[0] if args else None)
            done.set()

        client.emit(event, data, namespace=NAMESPACE, callback=answered)
        deadline = time.monotonic() + timeout
        while not done.wait(0.1):
            if not client.connected:
                raise SyncError(f"connection lost waiting for the answer to {event}")
            if time.monotonic() > deadline:
                raise SyncError(f"no answer to {event} within {timeout:.0f}s")
        answer = box[0]
        if not isinstance(answer, dict):
            raise SyncError(f"unexpected answer to {event}: {answer!r}")
        return answer

    def applied_seq(self) -> int:
        with self.app.app_context():
            try:
                link = db.session.get(SyncLink, UPSTREAM)
                return link.applied_seq if link else 0
            finally:
                db.session.remove()

    def pull_all(self, client) -> int:
        """Apply the county's entries for this node until caught up; return how many."""
        total = 0
        while True:
            after = self.applied_seq()
            answer = self._call(client, "pull", {"after": after, "limit": self.batch})
            if "error" in answer:
                raise SyncError(answer["error"].get("message", "pull refused"))
            entries = answer.get("entries") or []
            if not entries and answer.get("large"):
                entries = [self._pull_parts(client, answer["large"])]
            if not entries:
                return total
            with self.app.app_context():
                try:
                    last = apply_entries(db.session, peer=UPSTREAM, entries=entries, scope=None)
                    link = db.session.get(SyncLink, UPSTREAM)
                    link.last_sync_at, link.last_error = utcnow(), ""
                    db.session.commit()
                except SyncRefused:
                    db.session.rollback()
                    raise
                finally:
                    db.session.remove()
            total += len(entries)
            if last >= int(answer.get("head") or 0):
                return total

    def _pull_parts(self, client, header: dict) -> dict:
        """Fetch an entry too large for one message part by part and put it together."""
        try:
            assembly = parts.Assembly(header, limit=parts.max_entry_bytes())
            for n in range(assembly.parts):
                answer = self._call(client, "pull_part", {"seq": assembly.seq, "part": n})
                if "error" in answer:
                    raise SyncError(answer["error"].get("message", "pull_part refused"))
                assembly.add(n, answer.get("data"))
            return assembly.entry()
        except parts.PartError as exc:
            raise SyncError(f"county entry in parts: {exc}") from exc

    def _linked(self) -> bool:
        hall = db.session.scalars(select(Hall).where(Hall.code == self.node)).first()
        return bool(hall and hall.linked)

    def push_all(self, client) -> int:
        """Send our outbox after the county's last acknowledgement; return entries acked."""
        total = 0
        while True:
            with self.app.app_context():
                try:
                    if not self._linked():
                        return total
                    link = lock_link(db.session, UPSTREAM)
                    acked = link.acked_seq
                    db.session.commit()
                    entries = [e.wire() for e in db.session.scalars(
                        select(OutboxEntry).where(OutboxEntry.target == UPSTREAM,
                                                  OutboxEntry.seq > acked)
                        .order_by(OutboxEntry.seq).limit(self.batch))]
                    head = db.session.scalar(select(OutboxCounter.value).where(
                        OutboxCounter.target == UPSTREAM)) or 0
                finally:
                    db.session.remove()
            if not entries:
                return total
            if entries[0]["seq"] != acked + 1:
                raise SyncError(f"outbox entries after {acked} are gone (pruned?): the county "
                                f"has applied up to {acked}, the next held here is "
                                f"{entries[0]['seq']}")
            batch = self._fit(entries)
            if batch:
                answer = self._call(client, "push", {"entries": batch, "head": head})
            else:  # the first entry alone is larger than a message
                batch = entries[:1]
                answer = self._push_parts(client, batch[0], head)
            error = answer.get("error")
            with self.app.app_context():
                try:
                    link = lock_link(db.session, UPSTREAM)
                    if isinstance(answer.get("acked"), int):
                        # The county's word is final: after a gap we resend from what it holds.
                        link.acked_seq = answer["acked"]
                    link.last_error = error.get("message", "")[:1000] if error else ""
                    if not error:
                        link.last_sync_at = utcnow()
                    db.session.commit()
                finally:
                    db.session.remove()
            if error and error.get("code") != "gap":
                raise SyncError(f"county refused: {error.get('code')}: {error.get('message')}")
            total += len(batch)
            if not error and len(entries) < self.batch and len(batch) == len(entries):
                return total

    def _fit(self, entries: list[dict]) -> list[dict]:
        """As many entries as fit in one message (none when the first alone does not)."""
        size = 0
        for count, entry in enumerate(entries):
            size += parts.wire_size(entry)
            if size > self.batch_bytes:
                return entries[:count]
        return entries

    def _push_parts(self, client, entry: dict, head: int) -> dict:
        """Send one entry too large for a message in parts; the county applies it with the
        last part and answers like ``push`` (or at once, if it applied it before)."""
        packed = parts.pack(entry, self.part_bytes)
        header = packed.header()
        log.info("pushing entry %s in %s parts (%s bytes of JSON, %s compressed)",
                 packed.seq, packed.parts, packed.size, len(packed.blob))
        for n in range(packed.parts):
            last = n == packed.parts - 1
            answer = self._call(client, "push_part",
                                {**header, "part": n, "data": packed.part(n), "head": head},
                                timeout=self.call_timeout * (packed.parts if last else 1))
            if "acked" in answer or "error" in answer or last:
                return answer
        return {}

    def maybe_prune(self) -> None:
        """Prune our outbox of what the county confirmed long enough ago, every
        ``SYNC_PRUNE_INTERVAL`` seconds (a failure is logged: pruning can wait)."""
        if not self.prune_every or time.monotonic() - self._pruned_at < self.prune_every:
            return
        self._pruned_at = time.monotonic()
        with self.app.app_context():
            try:
                deleted = prune_outbox(db.session)
                if any(deleted.values()):
                    log.info("pruned acknowledged outbox entries: %s", deleted)
            except Exception:
                db.session.rollback()
                log.exception("pruning the outbox failed")
            finally:
                db.session.remove()

    def _note_error(self, message: str) -> None:
        try:
            with self.app.app_context():
                try:
                    link = lock_link(db.session, UPSTREAM)
                    link.last_error = message[:1000]
                    db.session.commit()
                finally:
                    db.session.remove()
        except Exception:
            log.exception("recording the sync error failed")


_worker: SyncWorker | None = None


def current_worker() -> SyncWorker | None:
    return _worker


def start_township(app, *, wait_for_snapshot: bool = True) -> SyncWorker:
    """Used by the server: pull the initial snapshot if this node never synced, then keep the
    link running in the background."""
    global _worker
    _worker = SyncWorker(app)
    if wait_for_snapshot:
        started = time.monotonic()
        _worker.initial_snapshot(wait=True)
        print(f"Township node {_worker.node}: catalog in place "
              f"({time.monotonic() - started:.1f}s), syncing with {_worker.url}", flush=True)
    _worker.start()
    return _worker
