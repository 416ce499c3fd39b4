"""Applying a peer's outbox entries exactly once, in the caller's transaction.

The link row of the peer holds the last seq applied from it and is locked first: entries at or
below it are skipped (a resend after a lost acknowledgement), the next one must follow it with no
gap, and the new last seq is written in the same transaction as the rows. Rows are upserted by
id; the county accepts from a township only rows of that township's halls whose existing copy, if
any, also belongs to it (single owner), and only entries that name the pushing node as origin.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from realtime.events import AUDIENCES, COMMITTED, _Snapshot
from realtime.models import Event, EventCounter
from realtime.sync.capture import APPLYING, bump_topology
from realtime.sync.models import SyncLink
from realtime.sync.registry import (SyncedModel, from_wire, hall_expression, register_applier,
                                    spec_for_table)
from service_hall.db import bump_counter, insert_for, utcnow

OPS = ("upsert", "delete")


class SyncRefused(Exception):
    """The batch is refused as a whole; nothing of it is applied."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def wire(self) -> dict:
        return {"code": self.code, "message": self.message}


def lock_link(session: Session, peer: str) -> SyncLink:
    link = session.scalars(select(SyncLink).where(SyncLink.peer == peer)
                           .with_for_update()).first()
    if link is None:
        insert = insert_for(session)
        session.execute(insert(SyncLink).values(peer=peer, applied_seq=0, acked_seq=0,
                                                peer_head=0, last_error="", active=True,
                                                created_at=utcnow())
                        .on_conflict_do_nothing())
        link = session.scalars(select(SyncLink).where(SyncLink.peer == peer)
                               .with_for_update()).one()
    return link


def apply_entries(session: Session, *, peer: str, entries: list, scope: dict | None) -> int:
    """Apply entries from ``peer`` in seq order; return the peer's last applied seq.

    ``scope`` (hall id -> hall code) is given when a township pushes to the county: every row must
    belong to one of those halls. ``None`` when the county sends down (it is trusted)."""
    if not isinstance(entries, list):
        raise SyncRefused("bad_batch", "entries must be a list")
    session.info[APPLYING] = True
    link = lock_link(session, peer)
    last = link.applied_seq
    for entry in sorted(entries, key=_seq_of):
        seq = _seq_of(entry)
        if seq <= last:
            continue  # already applied: a resend after a lost acknowledgement
        if seq != last + 1:
            raise SyncRefused("gap", f"expected seq {last + 1} from {peer}, got {seq}")
        if scope is not None and entry.get("origin") != peer:
            raise SyncRefused("origin_mismatch",
                              f"节点 {peer} 不能提交来源为 {entry.get('origin')!r} 的记录 "
                              f"(node {peer} cannot push records owned by another node)")
        changes = entry.get("changes")
        if not isinstance(changes, list):
            raise SyncRefused("bad_entry", f"entry {seq}: changes must be a list")
        try:
            apply_changes(session, changes, scope=scope, peer=peer)
        except IntegrityError as exc:
            # A row that collides with a different row held here (e.g. a unique number given
            # twice): refused as a whole, and the link's status says which entry and why, since
            # the queue cannot pass it until someone resolves it.
            reason = str(getattr(exc, "orig", None) or exc)[:300]
            raise SyncRefused("conflict", f"entry {seq} 与本节点已有的记录冲突，同步停在此处 "
                                          f"(conflicts with a row held here; the queue stops "
                                          f"until it is resolved): {reason}") from exc
        except SQLAlchemyError as exc:
            raise SyncRefused("apply_failed", f"entry {seq}: "
                                              f"{str(getattr(exc, 'orig', None) or exc)[:300]}") from exc
        if any(c.get("t") == "halls" for c in changes):
            bump_topology(session)
        last = seq
    _write_events(session)
    link.applied_seq = last
    return last


def _seq_of(entry) -> int:
    if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int) or entry["seq"] < 1:
        raise SyncRefused("bad_entry", "each entry needs a positive integer seq")
    return entry["seq"]


def _parse(spec: SyncedModel, change: dict):
    row = change.get("row")
    if not isinstance(row, dict):
        raise SyncRefused("bad_entry", f"{spec.name}: row must be an object")
    try:
        row_id = from_wire(spec.pk, row.get(spec.pk.name, change.get("id")))
        values = {column.name: from_wire(column, row[column.name])
                  for column in spec.table.columns
                  if column.name in row and column.name not in spec.exclude}
    except (ValueError, TypeError, AttributeError) as exc:
        raise SyncRefused("bad_entry", f"{spec.name} {change.get('id')}: {exc}") from exc
    if row_id is None:
        raise SyncRefused("bad_entry", f"{spec.name}: no primary key")
    values[spec.pk.name] = row_id
    return row_id, values


def _parent_table(spec: SyncedModel):
    column, table = spec.parent
    parent = spec_for_table(table)
    return spec.table.c[column], parent


def _hall_in(session: Session, spec: SyncedModel, values: dict):
    """The hall a row being applied claims: its hall column, or its parent's at this node."""
    if spec.hall_column:
        return values.get(spec.hall_column)
    if spec.parent:
        column, parent = _parent_table(spec)
        parent_id = values.get(column.name)
        if parent_id is None:
            return None
        return session.execute(select(parent.table.c[parent.hall_column])
                               .where(parent.pk == parent_id)).scalar()
    return None


def apply_changes(session: Session, changes: list, *, scope: dict | None, peer: str) -> None:
    later: list[tuple[SyncedModel, uuid.UUID, dict]] = []
    collections: list[tuple[SyncedModel, uuid.UUID, dict]] = []
    for change in changes:
        if not isinstance(change, dict):
            raise SyncRefused("bad_entry", "each change must be an object")
        spec = spec_for_table(str(change.get("t")))
        if spec is None:
            raise SyncRefused("unknown_table", f"table {change.get('t')!r} is not synced")
        if change.get("op") not in OPS:
            raise SyncRefused("bad_entry", f"unknown op {change.get('op')!r}")
        if scope is not None and spec.direction != "up":
            raise SyncRefused("not_owner", f"{peer} cannot change {spec.name} (owned by the county)")
        if scope is None and spec.direction == "up" and not spec.handover:
            raise SyncRefused("not_owner", f"{spec.name} is never handed down")
        row_id, values = _parse(spec, change)
        if scope is not None and _hall_in(session, spec, values) not in scope:
            raise SyncRefused("out_of_scope", f"{spec.name} {row_id}: 大厅不属于节点 {peer} "
                                              f"(row's hall is not served by node {peer})")
        if change["op"] == "delete":
            _delete(session, spec, row_id, scope)
            continue
        if spec.applier is not None:
            spec.applier(session, spec, values, scope)
            continue
        deferred = _upsert(session, spec, values, scope, peer)
        if deferred:
            later.append((spec, row_id, deferred))
        wanted = {c.key: change["row"]["@" + c.key] for c in spec.collections
                  if "@" + c.key in change["row"]}
        if wanted:
            collections.append((spec, row_id, wanted))
    # Second pass: references that may point at rows of this same entry.
    for spec, row_id, deferred in later:
        session.execute(update(spec.table).where(spec.pk == row_id).values(**deferred))
    for spec, row_id, wanted in collections:
        _set_collections(session, spec, row_id, wanted)


def _owned(spec: SyncedModel, scope: dict | None):
    """SQL condition: the existing copy belongs to the pushing node (always true downstream)."""
    if scope is None:
        return None
    return hall_expression(spec).in_(list(scope))


_statements: dict = {}


def _upsert_statement(session: Session, spec: SyncedModel, columns: tuple, deferred: tuple,
                      owned: bool):
    """One compiled-once statement per shape: values come as parameters, updates from
    ``excluded``, the owner check as an expanding ``scope`` parameter."""
    dialect = session.get_bind().dialect.name
    key = (dialect, spec.name, columns, deferred, owned)
    stmt = _statements.get(key)
    if stmt is None:
        insert = insert_for(session)(spec.table)
        updates = {name: insert.excluded[name] for name in columns
                   if name != spec.pk.name and name not in deferred}
        where = hall_expression(spec).in_(bindparam("scope", expanding=True)) if owned else None
        stmt = (insert.on_conflict_do_update(index_elements=[spec.pk.name], set_=updates,
                                             where=where)
                if updates else insert.on_conflict_do_nothing())
        stmt = stmt.returning(spec.pk)
        _statements[key] = stmt
    return stmt


def _upsert(session: Session, spec: SyncedModel, values: dict, scope: dict | None,
            peer: str) -> dict:
    deferred = {name: values[name] for name in spec.deferred if values.get(name) is not None}
    params = {**values, **{name: None for name in deferred}}
    stmt = _upsert_statement(session, spec, tuple(sorted(params)), tuple(sorted(deferred)),
                             scope is not None)
    if scope is not None:
        params["scope"] = list(scope)
    done = session.execute(stmt, params).first()
    if done is None and scope is not None:
        raise SyncRefused("not_owner", f"{spec.name} {values[spec.pk.name]} 属于其他节点 "
                                       f"(the county's copy is not owned by {peer})")
    return deferred


def _delete(session: Session, spec: SyncedModel, row_id: uuid.UUID, scope: dict | None) -> None:
    stmt = delete(spec.table).where(spec.pk == row_id)
    owned = _owned(spec, scope)
    session.execute(stmt if owned is None else stmt.where(owned))


def _set_collections(session: Session, spec: SyncedModel, row_id: uuid.UUID,
                     wanted: dict) -> None:
    for coll in spec.collections:
        if coll.key not in wanted:
            continue
        ids = wanted[coll.key]
        if not isinstance(ids, list):
            raise SyncRefused("bad_entry", f"{spec.name}.@{coll.key} must be a list")
        try:
            remote_ids = [uuid.UUID(str(value)) for value in ids]
        except ValueError as exc:
            raise SyncRefused("bad_entry", f"{spec.name}.@{coll.key}: {exc}") from exc
        session.execute(delete(coll.secondary).where(coll.local == row_id))
        if remote_ids:
            session.execute(coll.secondary.insert(),
                            [{coll.local.name: row_id, coll.remote.name: rid}
                             for rid in remote_ids])


RENUMBER = "service_hall.sync.events_to_renumber"


def apply_event(session: Session, spec: SyncedModel, values: dict, scope: dict | None) -> None:
    """A township's event is recorded again in the county's log for that hall, renumbered by the
    county's counter (see :func:`_write_events`), and published after the commit."""
    if scope is None:
        raise SyncRefused("not_owner", "events are never handed down")
    at = values.get("at")
    audience = values.get("audience")
    session.info.setdefault(RENUMBER, []).append(dict(
        hall_id=values["hall_id"], hall_code=scope[values["hall_id"]],
        type=str(values.get("type") or "")[:40], data=values.get("data") or {},
        audience=audience if audience in AUDIENCES else "staff",
        window_code=values.get("window_code"), track_token=values.get("track_token"),
        at=at if isinstance(at, datetime) else utcnow()))


def _write_events(session: Session) -> None:
    """One counter bump per hall for the whole batch (seq stays gap-free per hall), rows in
    order, and the envelopes handed to the publisher after the commit like any event."""
    pending = session.info.pop(RENUMBER, None)
    if not pending:
        return
    by_hall: dict = {}
    for event in pending:
        by_hall.setdefault(event["hall_id"], []).append(event)
    rows = []
    for hall_id in sorted(by_hall, key=str):  # fixed lock order
        events = by_hall[hall_id]
        last = bump_counter(session, EventCounter, {"hall_id": hall_id}, by=len(events))
        for seq, event in enumerate(events, start=last - len(events) + 1):
            rows.append(Event(seq=seq, **event))
    session.add_all(rows)
    session.flush()
    session.info.setdefault(COMMITTED, []).extend(_Snapshot.of(row) for row in rows)


register_applier("events", apply_event)
