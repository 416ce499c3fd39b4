"""Recording events inside a transaction and publishing them after it commits.

Operations call :func:`record_event`; nothing is written or sent yet. Just before the session
commits, pending events get their per-hall ``seq`` (a counter row bumped by upsert, held locked
until commit, so seq order is commit order within a hall) and are inserted with the change. After
the commit succeeds they are handed to the publisher; after a rollback they are dropped.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from realtime.models import Event, EventCounter
from service_hall.db import bump_counter, utcnow

log = logging.getLogger(__name__)
PENDING = "service_hall.pending_events"
COMMITTED = "service_hall.committed_events"

AUDIENCES = ("public", "staff")


@dataclass
class PendingEvent:
    hall_id: object
    hall_code: str
    type: str
    data: dict
    audience: str = "public"
    window_code: str | None = None
    track_token: str | None = None
    at: datetime = field(default_factory=utcnow)


def record_event(session: Session, hall, type_: str, data: dict, *, audience: str = "public",
                 window_code: str | None = None, track_token: str | None = None) -> None:
    """Queue an event to be written with the current transaction and sent after it commits."""
    if audience not in AUDIENCES:
        raise ValueError(audience)
    session.info.setdefault(PENDING, []).append(PendingEvent(
        hall_id=hall.id, hall_code=hall.code, type=type_, data=data, audience=audience,
        window_code=window_code, track_token=track_token))


_publisher: Callable[[list[Event]], None] | None = None


def set_publisher(publisher: Callable[[list[Event]], None] | None) -> None:
    global _publisher
    _publisher = publisher


def write_pending(session: Session) -> list[Event]:
    pending: list[PendingEvent] = session.info.pop(PENDING, [])
    # One counter bump per hall for all of the transaction's events (a call-next records two):
    # the seqs are the block ending at the new value, in the order the events were recorded.
    per_hall: dict = {}
    for p in pending:
        per_hall[p.hall_id] = per_hall.get(p.hall_id, 0) + 1
    next_seq = {}
    for hall_id, count in per_hall.items():
        last = bump_counter(session, EventCounter, {"hall_id": hall_id}, by=count)
        next_seq[hall_id] = last - count + 1
    written = []
    for p in pending:
        seq = next_seq[p.hall_id]
        next_seq[p.hall_id] += 1
        row = Event(hall_id=p.hall_id, hall_code=p.hall_code, seq=seq, type=p.type, at=p.at,
                    audience=p.audience, data=p.data, window_code=p.window_code,
                    track_token=p.track_token)
        session.add(row)
        written.append(row)
    return written


@sa_event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(PENDING):
        written = write_pending(session)
        session.flush()
        session.info.setdefault(COMMITTED, []).extend(
            _Snapshot.of(row) for row in written)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    committed = session.info.pop(COMMITTED, [])
    if committed and _publisher is not None:
        try:
            _publisher(committed)
        except Exception:  # a dead bus must never undo or fail a committed change
            log.exception("publishing %d events failed; clients resume from the event log",
                          len(committed))


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(COMMITTED, None)


@dataclass(frozen=True)
class _Snapshot:
    """Plain copy of a committed event (ORM rows expire at commit)."""

    hall_code: str
    type: str
    audience: str
    window_code: str | None
    track_token: str | None
    envelope: dict

    @classmethod
    def of(cls, row: Event) -> "_Snapshot":
        return cls(row.hall_code, row.type, row.audience, row.window_code, row.track_token,
                   row.envelope())
