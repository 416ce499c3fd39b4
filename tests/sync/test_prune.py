"""Outbox pruning: acknowledged entries go some days after their acknowledgement, never one
that is not acknowledged."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from realtime.sync.county import register_node
from realtime.sync.models import OutboxEntry, SyncLink
from realtime.sync.prune import prune_outbox
from service_hall.db import utcnow
from service_hall.extensions import db
from tests.sync.test_capture import _catalog

WEEK = timedelta(days=7)


def _seqs(target: str) -> list[int]:
    return list(db.session.scalars(select(OutboxEntry.seq).where(OutboxEntry.target == target)
                                   .order_by(OutboxEntry.seq)))


def _acknowledge(peer: str, seq: int) -> None:
    """What the county records when the node pulls ``after=seq`` (it applied up to there)."""
    db.session.get(SyncLink, peer).acked_seq = seq
    db.session.commit()


def _county_with_entries(factory, n: int) -> None:
    *_halls, item = _catalog(factory)
    register_node("T1")  # entry 1: the snapshot
    register_node("T2")
    db.session.commit()
    for k in range(n - 1):  # entries 2..n: catalog changes, to every node
        item.name = f"事项 {k}"
        db.session.commit()


def test_entries_go_a_week_after_their_acknowledgement_and_never_before(app, factory):
    _county_with_entries(factory, 5)
    start = utcnow()
    # Nothing acknowledged: nothing goes, however old the entries are.
    assert prune_outbox(db.session, keep=WEEK, now=start + timedelta(days=400)) == {
        "T1": 0, "T2": 0}
    assert _seqs("T1") == [1, 2, 3, 4, 5]

    _acknowledge("T1", 3)
    assert prune_outbox(db.session, keep=WEEK, now=start)["T1"] == 0  # noted, kept a week
    assert prune_outbox(db.session, keep=WEEK, now=start + timedelta(days=6))["T1"] == 0
    _acknowledge("T1", 5)  # everything confirmed on day 6
    assert prune_outbox(db.session, keep=WEEK, now=start + timedelta(days=6, hours=1))["T1"] == 0
    deleted = prune_outbox(db.session, keep=WEEK, now=start + timedelta(days=7, seconds=1))
    assert deleted == {"T1": 3, "T2": 0}
    assert _seqs("T1") == [4, 5]  # confirmed on day 6: kept until day 13
    assert _seqs("T2") == [1, 2, 3, 4, 5]  # T2 confirmed nothing
    assert prune_outbox(db.session, keep=WEEK, now=start + timedelta(days=13))["T1"] == 0
    assert prune_outbox(db.session, keep=WEEK, now=start + timedelta(days=13, hours=2)) == {
        "T1": 2, "T2": 0}
    assert _seqs("T1") == []
    # The sequence goes on after pruning: the next entry is 6.
    _catalog_change()
    assert _seqs("T1") == [6]


def _catalog_change() -> None:
    from service_hall.catalog.models import ServiceItem
    item = db.session.scalars(select(ServiceItem)).first()
    item.name = "再改"
    db.session.commit()


def test_a_receiver_going_back_keeps_what_it_must_be_sent_again(app, factory):
    """A node restored from a backup confirms less than before: what it lacks is kept."""
    _county_with_entries(factory, 6)
    start = utcnow()
    _acknowledge("T1", 6)
    prune_outbox(db.session, keep=WEEK, now=start)
    _acknowledge("T1", 2)  # restored: it has applied only up to 2
    assert prune_outbox(db.session, keep=WEEK, now=start + WEEK + timedelta(hours=1)) == {
        "T1": 2, "T2": 0}
    assert _seqs("T1") == [3, 4, 5, 6]


def test_the_prune_command_with_keep_zero_deletes_every_acknowledged_entry(app, factory):
    _county_with_entries(factory, 4)
    _acknowledge("T2", 3)
    result = app.test_cli_runner().invoke(args=["hall", "sync-prune", "--keep-days", "0"])
    assert result.exit_code == 0, result.output
    assert "T2: 3 acknowledged entries deleted" in result.output
    assert _seqs("T2") == [4] and _seqs("T1") == [1, 2, 3, 4]
