"""Pruning outbox entries that their receiver has acknowledged as applied.

An entry is deleted only when its receiver has confirmed applying it (its seq is at or below the
link's ``acked_seq``) and that confirmation is at least ``SERVICE_HALL_SYNC_KEEP_DAYS`` old
(default 7): a receiver restored from last night's backup asks again for what it had already
confirmed, and the sender can still send it. An entry not yet acknowledged is never deleted,
however old. When a confirmation happened is known from marks: each pass notes the link's
``acked_seq`` with the time (``sync_links.ack_marks``), and deletes the entries up to the newest
mark older than the keeping time. Marks are no finer than the passes (hourly by default): an
entry is kept at least the keeping time after its acknowledgement, at most one pass longer.

The township's sync worker prunes its outbox every ``SERVICE_HALL_SYNC_PRUNE_INTERVAL`` seconds
(3600; 0 turns it off); the county runs ``flask --app wsgi hall sync-prune`` from a timer
(``docs/DEPLOY.md``).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from realtime.sync.models import OutboxEntry, SyncLink
from service_hall.config import env
from service_hall.db import utcnow

BATCH = 5000  # entries deleted per transaction: the links stay free for the sync meanwhile


def keep_days() -> float:
    return float(env("SYNC_KEEP_DAYS", "7") or 7)


def prune_interval() -> float:
    return float(env("SYNC_PRUNE_INTERVAL", "3600") or 0)


def mark_acks(session: Session, *, now: datetime, keep: timedelta) -> dict[str, int]:
    """Note each link's acknowledged seq as of ``now``; return, per peer, the last seq that
    was acknowledged at least ``keep`` ago (0 when none), never above what is acknowledged now."""
    cutoff = now - keep
    bounds = {}
    for link in session.scalars(select(SyncLink).order_by(SyncLink.peer).with_for_update()):
        marks = [m for m in (link.ack_marks or [])
                 if isinstance(m, list) and len(m) == 2 and isinstance(m[1], int)]
        if link.acked_seq > (marks[-1][1] if marks else 0):
            marks.append([now.isoformat(), link.acked_seq])
        old = [m for m in marks if datetime.fromisoformat(m[0]) <= cutoff]
        # After a receiver was restored its acknowledgement can go back: never past it.
        bounds[link.peer] = min(old[-1][1], link.acked_seq) if old else 0
        # The newest old mark still bounds the next pass; older ones are done with.
        kept = old[-1:] + marks[len(old):]
        if kept != link.ack_marks:
            link.ack_marks = kept
    return bounds


def delete_acked(session: Session, peer: str, upto: int, *, limit: int = BATCH) -> int:
    """Delete up to ``limit`` of the oldest entries for ``peer`` with seq at or below ``upto``."""
    first = session.scalar(select(func.min(OutboxEntry.seq)).where(OutboxEntry.target == peer))
    if first is None or first > upto:
        return 0
    return session.execute(delete(OutboxEntry).where(
        OutboxEntry.target == peer, OutboxEntry.seq <= min(upto, first + limit - 1))).rowcount


def prune_outbox(session: Session, *, keep: timedelta | None = None,
                 now: datetime | None = None) -> dict[str, int]:
    """One pruning pass (a job, not an operation: it commits, marks first, then each batch of
    deletions). Returns the entries deleted per peer."""
    keep = timedelta(days=keep_days()) if keep is None else keep
    bounds = mark_acks(session, now=now or utcnow(), keep=keep)
    session.commit()
    deleted = {}
    for peer, upto in bounds.items():
        deleted[peer] = 0
        while upto > 0:
            n = delete_acked(session, peer, upto)
            session.commit()
            deleted[peer] += n
            if n == 0:
                break
    return deleted
