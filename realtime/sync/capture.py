"""Capturing changes of synced models into the outbox, in the same transaction as the change.

After each flush the new, changed and deleted rows of synced models are noted (ORM bulk
``insert()``/``update()``/``delete()`` statements too). Just before the commit each noted row is
serialised once, in its final state, and the changes are written as one outbox entry per peer,
numbered by a counter row bumped by upsert (held locked until commit: per peer, seq order is
commit order and a rollback leaves no gap). Rows being applied from a peer are not captured
again. A row the county sends to a node goes with copies of the rows it carries
(``__sync_carry__``) that the node does not own.

Routing: a township sends the ``up`` rows of its own halls to the county. The county sends its
``down`` rows to every node (or the node of the row's hall) and hands ``up`` rows of a
township's halls to that township.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE, get_history

import realtime.events  # noqa: F401  (its before_commit writes events first; we capture them)
from realtime.sync import parts
from realtime.sync.models import UPSTREAM, OutboxCounter, OutboxEntry, SyncLink
from realtime.sync.registry import SyncedModel, serialize, spec_for, spec_for_table, to_wire
from service_hall.catalog.models import Hall
from service_hall.db import bump_counter, execute_direct, utcnow

log = logging.getLogger(__name__)
CONFIG_KEY = "service_hall.sync"
CHANGED = "service_hall.sync.changed"
APPLYING = "service_hall.sync.applying"
WROTE = "service_hall.sync.wrote"
INSERTED = "service_hall.sync.inserted"


@dataclass(frozen=True)
class NodeConfig:
    role: str          # "county" or "township"
    node_code: str     # this node's hall code ("county" when a county node has none set)


def install_capture(app) -> NodeConfig:
    settings = app.config["SERVICE_HALL"]
    config = NodeConfig(role=settings.role, node_code=settings.node_code or UPSTREAM)
    if config.role not in ("county", "township"):
        raise RuntimeError("SERVICE_HALL_ROLE must be 'county' or 'township'")
    if config.role == "township" and not settings.node_code:
        raise RuntimeError("a township node needs SERVICE_HALL_NODE_CODE (its hall code)")
    app.extensions[CONFIG_KEY] = config
    return config


def node_config() -> NodeConfig | None:
    if not has_app_context():
        return None
    return current_app.extensions.get(CONFIG_KEY)


_notifier: Callable[[set[str]], None] | None = None


def set_notifier(notifier: Callable[[set[str]], None] | None) -> None:
    """Called after a commit wrote outbox entries, with their targets (wakes the sender)."""
    global _notifier
    _notifier = notifier


@dataclass
class _Noted:
    spec: SyncedModel
    id: object
    op: str
    obj: object = None
    hall_id: object = None
    collections: set | bool = field(default_factory=set)
    # Written by a statement past the identity map: read the row again at commit.
    refresh: bool = False


def note(session: Session, spec: SyncedModel, obj_id, op: str, *, obj=None, hall_id=None,
         collections: set | bool = frozenset(), refresh: bool = False) -> None:
    """Remember a changed row of a synced model until the commit (the latest change decides)."""
    noted: dict = session.info.setdefault(CHANGED, {})
    key = (spec.name, obj_id)
    before = noted.get(key)
    if before is not None and op == "upsert" and before.op == "upsert":
        if before.collections is not True:
            before.collections = True if collections is True else before.collections | set(collections)
        before.obj = before.obj or obj
        before.refresh = before.refresh or refresh
        return
    noted.pop(key, None)  # re-insert: the latest change decides the row's place and op
    noted[key] = _Noted(spec, obj_id, op, obj, hall_id,
                        collections if collections is True else set(collections), refresh)


def note_inserted(session: Session, spec: SyncedModel, keys: list, halls: list | None) -> None:
    """Rows a bulk insert wrote, kept as bare lists of keys and of the halls the insert gave
    them (an import or the demo history writes hundreds of thousands of rows, most of which go
    nowhere), expanded only when the transaction commits with somewhere to send them."""
    noted = session.info.get(CHANGED)
    if noted:  # a row deleted earlier in this transaction and inserted again: it now exists
        for key in keys:
            if (before := noted.get((spec.name, key))) is not None and before.op == "delete":
                del noted[(spec.name, key)]
    session.info.setdefault(INSERTED, []).append((spec, keys, halls))


def _inserted(noted: dict, inserted: list, routed: Callable) -> list[_Noted]:
    """The bulk-inserted rows that may go somewhere (``routed(spec, hall)``, or their hall is
    not known yet), unless a later change of theirs was noted by key (it decides)."""
    out = []
    for spec, keys, halls in inserted:
        for n, key in enumerate(keys):
            if (spec.name, key) in noted or (halls and not routed(spec, halls[n])):
                continue
            item = noted[(spec.name, key)] = _Noted(spec, key, "upsert", refresh=True)
            out.append(item)
    return out


@sa_event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    if session.info.get(APPLYING) or node_config() is None:
        return
    for obj in session.new:
        spec = spec_for(obj)
        if spec is not None:
            note(session, spec, spec.key_of(obj), "upsert", obj=obj, collections=True)
    for obj in session.dirty:
        spec = spec_for(obj)
        if spec is None or not session.is_modified(obj, include_collections=True):
            continue
        # An unloaded collection has no changes: do not load it to find out.
        changed = {c.key for c in spec.collections
                   if get_history(obj, c.key, passive=PASSIVE_NO_INITIALIZE).has_changes()}
        note(session, spec, spec.key_of(obj), "upsert", obj=obj, collections=changed)
    for obj in session.deleted:
        spec = spec_for(obj)
        if spec is not None:
            note(session, spec, spec.key_of(obj), "delete", hall_id=hall_of(session, spec, obj))


def hall_of(session: Session, spec: SyncedModel, obj):
    """The hall a row belongs to: its hall column, or its parent row's."""
    if spec.hall_attr:
        return getattr(obj, spec.hall_attr)
    if spec.parent:
        column, table = spec.parent
        parent_spec = spec_for_table(table)
        parent_id = getattr(obj, spec.mapper.get_property_by_column(spec.table.c[column]).key)
        parent = session.get(parent_spec.cls, parent_id) if parent_id is not None else None
        return hall_of(session, parent_spec, parent) if parent is not None else None
    return None


def _load(session: Session, items: list[_Noted], chunk: int = 500) -> None:
    """Read the rows of noted upserts that are not in the session, or were written past it,
    a few hundred per query (an import notes thousands), as they are at commit."""
    wanted: dict = {}
    for item in items:
        if item.op == "upsert" and (item.refresh or item.obj is None or item.obj not in session):
            wanted.setdefault(item.spec.name, []).append(item)
    for group in wanted.values():
        spec = group[0].spec
        for i in range(0, len(group), chunk):
            part = group[i:i + chunk]
            found = {spec.key_of(obj): obj for obj in session.scalars(
                select(spec.cls).where(spec.pk.in_([item.id for item in part]))
                .execution_options(populate_existing=True))}
            for item in part:
                item.obj, item.refresh = found.get(item.id), False
            if spec.parent:  # their hall is their parent's: read the parents alongside
                column, table = spec.parent
                parent = spec_for_table(table)
                attr = spec.mapper.get_property_by_column(spec.table.c[column]).key
                ids = list({getattr(obj, attr) for obj in found.values()} - {None})
                for j in range(0, len(ids), chunk):
                    session.scalars(select(parent.cls).where(parent.pk.in_(ids[j:j + chunk]))).all()


def _resolve(session: Session, item: _Noted):
    """(row's hall id, the change as JSON, the row or None) or None when the row is gone.
    Serialised lazily: only rows that go somewhere are (rows read by ``_load`` first)."""
    spec = item.spec
    key = to_wire(item.id)
    if item.op == "delete":
        row = {spec.pk.name: key}
        if spec.hall_column:
            row[spec.hall_column] = str(item.hall_id) if item.hall_id else None
        return item.hall_id, lambda: {"t": spec.name, "id": key, "op": "delete", "row": row}, None
    obj = item.obj
    if obj is None:
        return None
    return hall_of(session, spec, obj), lambda: {
        "t": spec.name, "id": key, "op": "upsert",
        "row": serialize(spec, obj, collections=item.collections)}, obj


def carried(session: Session, spec: SyncedModel, obj, owns: Callable[[object], bool]) -> list:
    """Copies of the rows ``obj`` references through ``__sync_carry__`` whose hall the receiving
    node does not serve (``owns(hall_id)`` is false), as changes to send before the row's own."""
    out = []
    for column, table in spec.carry:
        target = spec_for_table(table)
        value = getattr(obj, spec.mapper.get_property_by_column(spec.table.c[column]).key)
        ref = session.get(target.cls, value) if value is not None else None
        if ref is None or owns(hall_of(session, target, ref)):
            continue
        out.extend(carried(session, target, ref, owns))
        out.append({"t": target.name, "id": to_wire(target.key_of(ref)), "op": "upsert",
                    "row": serialize(target, ref)})
    return out


TOPOLOGY = "@topology"  # a counter bumped when nodes or halls change: invalidates the caches
_topology_cache: dict = {}


TOPOLOGY_CHANGED = "service_hall.sync.topology_changed"


def bump_topology(session: Session) -> None:
    bump_counter(session, OutboxCounter, {"target": TOPOLOGY})
    session.info[TOPOLOGY_CHANGED] = True  # uncommitted: not cacheable in this transaction


_TOPOLOGY_VERSION = select(OutboxCounter.value).where(OutboxCounter.target == TOPOLOGY)


def _topology(session: Session, node: str | None) -> tuple[list[str], dict]:
    """(active peers, hall id -> node code), cached per database until the topology changes."""
    version = execute_direct(session, _TOPOLOGY_VERSION).scalar() or 0
    key = (str(session.get_bind().url), node)
    cacheable = not session.info.get(TOPOLOGY_CHANGED)
    cached = _topology_cache.get(key)
    if cacheable and cached is not None and cached[0] == version:
        return cached[1]
    if node is not None:
        peers = [node]
    else:
        peers = list(session.scalars(select(SyncLink.peer).where(SyncLink.active.is_(True))
                                     .order_by(SyncLink.peer)))
    halls = {}
    if peers:
        parent = aliased(Hall)
        for hall_id, code, parent_code in session.execute(
                select(Hall.id, Hall.code, parent.code)
                .join(parent, Hall.parent_id == parent.id, isouter=True)
                .where(or_(Hall.code.in_(peers), parent.code.in_(peers)))).all():
            halls[hall_id] = code if code in peers else parent_code
    if cacheable:
        _topology_cache[key] = (version, (peers, halls))
    return peers, halls


def node_halls(session: Session, node: str | None = None) -> dict:
    """Hall id -> code of the node serving it: a township node's hall and its village points.
    With ``node``, only that node's halls; else every active node registered here."""
    return _topology(session, node)[1]


def active_peers(session: Session) -> list[str]:
    return _topology(session, None)[0]


def route(session: Session, config: NodeConfig, noted: dict,
          inserted: list = ()) -> dict[str, list[dict]]:
    """Which node gets which change (see the module docstring), parents before children."""
    targets: dict[str, list[dict]] = {}
    if config.role == "township":   # a township sends what it owns up
        def travels(spec):
            return spec.direction == "up"
    else:                           # the county sends its own rows down, and hands halls over
        def travels(spec):
            return spec.direction == "down" or spec.handover
    travelling = [n for n in noted.values() if travels(n.spec)]
    inserted = [batch for batch in inserted if travels(batch[0])]
    if not travelling and not inserted:  # e.g. tickets and audit rows at the county
        return targets
    if config.role == "township":
        peers, halls = [UPSTREAM], node_halls(session, config.node_code)
    else:
        peers, halls = _topology(session, None)
    if not peers:
        return targets

    def everywhere(spec):          # the county's down rows of scope "all"
        return config.role == "county" and spec.direction == "down" and spec.scope == "all"

    travelling.extend(_inserted(noted, inserted,
                                lambda spec, hall: hall in halls or everywhere(spec)))
    travelling.sort(key=lambda n: n.spec.order)
    _load(session, travelling)
    for item in travelling:
        spec = item.spec
        resolved = _resolve(session, item)
        if resolved is None:
            continue
        hall_id, change, obj = resolved
        if everywhere(spec):
            receivers = peers
        elif hall_id in halls:
            receivers = [UPSTREAM if config.role == "township" else halls[hall_id]]
        else:
            continue
        built = change()
        for peer in receivers:
            entry = targets.setdefault(peer, [])
            if spec.carry and obj is not None and peer != UPSTREAM:
                entry.extend(carried(session, spec, obj,
                                     lambda hall, peer=peer: halls.get(hall) == peer))
            entry.append(built)
    return targets


class EntryTooLarge(RuntimeError):
    """One transaction's changes for one node exceed what a node accepts as one entry."""


def write_entry(session: Session, target: str, origin: str, changes: list[dict]) -> int:
    # Entries travel in parts (realtime.sync.parts) up to the receivers' limit; one above it
    # would stop the queue at the receiver for ever, so the transaction fails here instead.
    if len(changes) >= 1000 and parts.wire_size({"changes": changes}) > parts.max_entry_bytes():
        raise EntryTooLarge(f"one transaction changes too much for node {target}: "
                            f"{len(changes)} rows, over SERVICE_HALL_SYNC_MAX_ENTRY_BYTES "
                            f"({parts.max_entry_bytes()} bytes); split it")
    seq = bump_counter(session, OutboxCounter, {"target": target})
    session.add(OutboxEntry(target=target, seq=seq, origin=origin, created_at=utcnow(),
                            changes=changes))
    return seq


@sa_event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    config = node_config()
    if config is None or session.info.get(APPLYING):
        session.info.pop(CHANGED, None)
        session.info.pop(INSERTED, None)
        return
    if session.info.get(CHANGED) or session.new or session.dirty or session.deleted:
        session.flush()
    noted = session.info.pop(CHANGED, None) or {}
    inserted = session.info.pop(INSERTED, None) or []
    if not noted and not inserted:
        return
    if any(spec_name == Hall.__tablename__ for spec_name, _id in noted) \
            or any(spec.name == Hall.__tablename__ for spec, _keys, _halls in inserted):
        bump_topology(session)
    targets = route(session, config, noted, inserted)
    for target in sorted(targets):  # fixed lock order: no deadlock between committers
        write_entry(session, target, config.node_code, targets[target])
    if targets:
        session.flush()
        session.info.setdefault(WROTE, set()).update(targets)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(APPLYING, None)
    session.info.pop(TOPOLOGY_CHANGED, None)
    wrote = session.info.pop(WROTE, None)
    if wrote and _notifier is not None:
        try:
            _notifier(wrote)
        except Exception:  # the sender also polls: a failed wake-up only delays
            log.exception("waking the sync sender failed")


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for key in (CHANGED, INSERTED, APPLYING, WROTE, TOPOLOGY_CHANGED):
        session.info.pop(key, None)


from realtime.sync import statements  # noqa: E402,F401  (its do_orm_execute hook notes statements)
