"""Sync bookkeeping: the outbox of each node, its gap-free counters, and the state of each link."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service_hall.db import UTCDateTime
from service_hall.extensions import db

# The township's only peer; the county's peers are its township nodes, by hall code.
UPSTREAM = "county"


class OutboxEntry(db.Model):
    """One committed transaction's changes for one peer, numbered per peer with no gaps."""

    __tablename__ = "sync_outbox"

    target: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The node that owns the rows (the writer at the township, the county downstream).
    origin: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # [{"table", "id", "op": "upsert"|"delete", "row": {column: value}}]
    changes: Mapped[list] = mapped_column(JSON)

    def wire(self) -> dict:
        return {"seq": self.seq, "origin": self.origin, "at": self.created_at.isoformat(),
                "changes": self.changes}


class OutboxCounter(db.Model):
    __tablename__ = "sync_counters"

    target: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class SyncLink(db.Model):
    """One row per peer. At the county: a township node (its token hash, what it pushed).
    At a township: the single upstream link."""

    __tablename__ = "sync_links"

    peer: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[Optional[str]] = mapped_column(String(64))
    # Last seq of the peer's outbox applied here (inbox; exactly once).
    applied_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Last seq of our outbox for the peer that the peer confirmed applying.
    acked_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The peer's outbox head as it last reported it (its unsent backlog = head - applied).
    peer_head: Mapped[int] = mapped_column(Integer, default=0)
    last_sync_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    # [[time, acked_seq], …] noted by each pruning pass: when our entries for the peer were
    # confirmed, so that they are kept a while after that (realtime.sync.prune).
    ack_marks: Mapped[Optional[list]] = mapped_column(JSON)
