"""The county end of the link: node tokens, the initial snapshot, and the ``/sync`` namespace.

A township node connects with ``auth = {node, token}`` and drives the exchange with
acknowledged calls: ``push`` (its outbox entries, applied here in one transaction,
answered with the last seq applied); ``pull`` (our outbox entries for it after the seq it has
applied, which is also its acknowledgement). An entry too large for one message travels in
parts (``realtime.sync.parts``): ``push_part`` up, ``pull_part`` down. Each handler owns its
transaction.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from flask import request
from flask_socketio import Namespace, join_room
from sqlalchemy import select

from realtime.sync import capture, parts
from realtime.sync.apply import SyncRefused, apply_entries, lock_link
from realtime.sync.models import OutboxCounter, OutboxEntry, SyncLink
from realtime.sync.registry import serialize, spec_for_table, synced_models, to_wire
from service_hall.catalog.models import Hall
from service_hall.db import utcnow
from service_hall.errors import bad_request, not_found
from service_hall.extensions import db, socketio

log = logging.getLogger(__name__)
NAMESPACE = "/sync"
MAX_BATCH = 2000
HEARTBEAT = timedelta(seconds=30)  # refresh last_sync_at at most this often when idle


def node_room(peer: str) -> str:
    return f"node:{peer}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- operations (the caller commits) ----------------------------------------------------------

def register_node(hall_code: str) -> tuple[str, bool]:
    """Issue a new sync token for a township's node (only its hash is kept). The first time,
    also queue the node's initial snapshot. Returns the token and whether the node is new."""
    hall = db.session.scalars(select(Hall).where(Hall.code == hall_code)).first()
    if hall is None:
        raise not_found(f"没有编码为 {hall_code} 的大厅 (no hall {hall_code!r})", "unknown_hall")
    if hall.level != "township":
        raise bad_request(f"{hall_code} 不是乡镇大厅 (only township halls run nodes)",
                          "not_a_township")
    token = "node." + secrets.token_urlsafe(32)
    link = db.session.get(SyncLink, hall_code)
    new = link is None or link.token_hash is None
    if link is None:
        link = SyncLink(peer=hall_code, applied_seq=0, acked_seq=0, peer_head=0,
                        last_error="", active=True, created_at=utcnow())
        db.session.add(link)
    link.token_hash = hash_token(token)
    link.active = True
    db.session.flush()
    capture.bump_topology(db.session)
    if new:
        queue_snapshot(hall_code)
    return token, new


def queue_snapshot(peer: str) -> int:
    """Everything a new node needs before it serves, as one outbox entry: the catalog and
    calendar, the accounts and devices of its halls, and the rows of its halls held here."""
    halls = capture.node_halls(db.session, peer)
    changes = []
    for spec in synced_models():
        if spec.direction == "up" and not (spec.handover and spec.snapshot):
            continue
        query = select(spec.cls)
        if spec.direction == "up" or spec.scope == "hall":
            if spec.hall_column:
                query = query.where(spec.table.c[spec.hall_column].in_(list(halls)))
            else:
                column, table = spec.parent
                parent = spec_for_table(table)
                query = query.where(spec.table.c[column].in_(
                    select(parent.pk).where(parent.table.c[parent.hall_column].in_(list(halls)))))
        for obj in db.session.scalars(query.order_by(spec.pk)):
            if spec.carry:  # e.g. the county case an errand of its village point went into
                changes.extend(capture.carried(db.session, spec, obj, halls.__contains__))
            changes.append({"t": spec.name, "id": to_wire(spec.key_of(obj)), "op": "upsert",
                            "row": serialize(spec, obj)})
    origin = capture.node_config().node_code if capture.node_config() else "county"
    return capture.write_entry(db.session, peer, origin, changes)


def set_linked(hall_code: str, linked: bool) -> Hall:
    """Flip a township's 互联互通 flag; the change reaches the node like any catalog change."""
    hall = db.session.scalars(select(Hall).where(Hall.code == hall_code)).first()
    if hall is None:
        raise not_found(f"没有编码为 {hall_code} 的大厅 (no hall {hall_code!r})", "unknown_hall")
    hall.linked = linked
    return hall


def node_status() -> list[dict]:
    """Per node: last sync, what it has pushed and still holds, what we still owe it."""
    heads = dict(db.session.execute(select(OutboxCounter.target, OutboxCounter.value)).all())
    halls = {h.code: h for h in db.session.scalars(
        select(Hall).where(Hall.code.in_(select(SyncLink.peer))))}
    out = []
    for link in db.session.scalars(select(SyncLink).order_by(SyncLink.peer)):
        hall = halls.get(link.peer)
        down_head = heads.get(link.peer, 0)
        out.append({
            "node": link.peer, "hall_name": hall.name if hall else None,
            "linked": bool(hall and hall.linked), "active": link.active,
            "connected": link.peer in _connected_peers(),
            "last_sync_at": link.last_sync_at.isoformat() if link.last_sync_at else None,
            "applied_seq": link.applied_seq, "node_head": link.peer_head,
            "unsent_backlog": max(link.peer_head - link.applied_seq, 0),
            "down_head": down_head, "down_acked": link.acked_seq,
            "down_backlog": max(down_head - link.acked_seq, 0),
            "last_error": link.last_error or None})
    return out


# -- the namespace ----------------------------------------------------------------------------

_sids: dict[str, str] = {}
# Per connection: the parts received of an entry being pushed, the entry being pulled in parts.
_assembling: dict[str, "parts.Assembly"] = {}
_packed: dict[str, "parts.Packed"] = {}


def _connected_peers() -> set[str]:
    return set(_sids.values())


def _touch(link: SyncLink, *, moved: bool) -> None:
    now = utcnow()
    if moved or link.last_sync_at is None or now - link.last_sync_at > HEARTBEAT:
        link.last_sync_at = now


class SyncNamespace(Namespace):
    def on_connect(self, auth):
        auth = auth if isinstance(auth, dict) else {}
        peer, token = str(auth.get("node") or ""), str(auth.get("token") or "")
        try:
            link = db.session.get(SyncLink, peer) if peer else None
            ok = (link is not None and link.active and link.token_hash is not None
                  and hmac.compare_digest(link.token_hash, hash_token(token)))
        finally:
            db.session.rollback()
        if not ok:
            raise ConnectionRefusedError("节点令牌无效 (invalid node token)")
        _sids[request.sid] = peer
        join_room(node_room(peer))

    def on_disconnect(self, *_args):
        _sids.pop(request.sid, None)
        _assembling.pop(request.sid, None)
        _packed.pop(request.sid, None)

    def _peer(self) -> str:
        peer = _sids.get(request.sid)
        if peer is None:
            raise ConnectionRefusedError("not authenticated")
        return peer

    def on_push(self, data):
        peer = self._peer()
        data = data if isinstance(data, dict) else {}
        return _apply_push(peer, data.get("entries"), data.get("head"))

    def on_push_part(self, data):
        """One part of an entry too large for one message (``parts``); the last part applies
        it, answered like ``push``. An entry already applied is answered at its first part."""
        peer = self._peer()
        data = data if isinstance(data, dict) else {}
        try:
            if data.get("part") == 0:
                _assembling.pop(request.sid, None)
                applied = _applied_seq(peer)
                if isinstance(data.get("seq"), int) and data["seq"] <= applied:
                    return {"acked": applied}  # a resend after a lost acknowledgement
                _assembling[request.sid] = parts.Assembly(data, limit=parts.max_entry_bytes())
            assembly = _assembling.get(request.sid)
            if assembly is None or not assembly.matches(data):
                raise parts.PartError("part of an entry not in transit: send it from part 0")
            if not assembly.add(data.get("part"), data.get("data")):
                return {"part": data["part"]}
            del _assembling[request.sid]
            entry = assembly.entry()
        except parts.PartError as exc:
            _assembling.pop(request.sid, None)
            log.warning("refused parts from %s: %s", peer, exc)
            return {"error": {"code": "bad_part", "message": str(exc)},
                    "acked": _applied_seq(peer)}
        return _apply_push(peer, [entry], data.get("head"))

    def on_pull(self, data):
        """Our entries for the node after ``after`` (which it has applied: its acknowledgement),
        up to ``limit`` of them and about ``SYNC_BATCH_BYTES`` of JSON; an entry larger than
        that alone is announced as ``large`` and fetched with ``pull_part``."""
        peer = self._peer()
        data = data if isinstance(data, dict) else {}
        after, limit = data.get("after"), data.get("limit", 500)
        if not isinstance(after, int) or after < 0 or not isinstance(limit, int) or limit < 1:
            return {"error": {"code": "bad_request", "message": "after/limit must be integers"}}
        try:
            link = lock_link(db.session, peer)
            moved = after > link.acked_seq
            if moved:
                link.acked_seq = after
            _touch(link, moved=moved)
            # The head first: every entry up to it is committed, so a missing one was pruned.
            head = db.session.scalar(select(OutboxCounter.value)
                                     .where(OutboxCounter.target == peer)) or 0
            rows = list(db.session.scalars(
                select(OutboxEntry).where(OutboxEntry.target == peer, OutboxEntry.seq > after)
                .order_by(OutboxEntry.seq).limit(min(limit, MAX_BATCH))))
            answer: dict = {"entries": [], "head": head}
            if after < head and (not rows or rows[0].seq != after + 1):
                answer = {"error": {"code": "pruned", "message": (
                    f"节点 {peer} 需要的第 {after + 1} 条起的记录已被清理 (entries after "
                    f"{after} for node {peer} were pruned: the county cannot resend them)")}}
            size, budget = 0, parts.batch_bytes()
            for row in rows if "error" not in answer else ():
                entry = row.wire()
                size += parts.wire_size(entry)
                if size > budget and answer["entries"]:
                    break
                if size > budget:  # this one alone is too large for a message: in parts
                    packed = parts.pack(entry)
                    _packed[request.sid] = packed
                    answer["large"] = packed.header()
                    break
                answer["entries"].append(entry)
            db.session.commit()
            return answer
        finally:
            db.session.remove()

    def on_pull_part(self, data):
        """Part ``part`` of the large entry ``seq`` announced by ``pull``."""
        peer = self._peer()
        data = data if isinstance(data, dict) else {}
        seq, n = data.get("seq"), data.get("part")
        if not isinstance(seq, int) or not isinstance(n, int):
            return {"error": {"code": "bad_request", "message": "seq/part must be integers"}}
        packed = _packed.get(request.sid)
        try:
            if packed is None or packed.seq != seq:  # e.g. served by another process before
                row = db.session.get(OutboxEntry, (peer, seq))
                if row is None:
                    return {"error": {"code": "not_found", "message": f"no entry {seq}"}}
                packed = _packed[request.sid] = parts.pack(row.wire())
            return {"data": packed.part(n)}
        except parts.PartError as exc:
            return {"error": {"code": "bad_part", "message": str(exc)}}
        finally:
            db.session.remove()


def _apply_push(peer: str, entries, head) -> dict:
    """Apply a node's entries in one transaction; the answer carries the last seq applied."""
    try:
        hall = db.session.scalars(select(Hall).where(Hall.code == peer)).first()
        if hall is None or not hall.linked:
            raise SyncRefused("unlinked", f"{peer} 尚未互联互通 (node not linked yet)")
        scope = {hid: code for hid, code in _hall_codes(capture.node_halls(db.session, peer))}
        last = apply_entries(db.session, peer=peer, entries=entries, scope=scope)
        link = db.session.get(SyncLink, peer)
        if isinstance(head, int):
            link.peer_head = max(head, last)
        link.last_error = ""
        _touch(link, moved=True)
        db.session.commit()
        return {"acked": last}
    except SyncRefused as refused:
        db.session.rollback()
        log.warning("refused a batch from %s: %s", peer, refused.message)
        return {"error": refused.wire(), "acked": _record_error(peer, refused.message)}
    except Exception as exc:  # never leave the node waiting for an answer
        db.session.rollback()
        log.exception("applying a batch from %s failed", peer)
        refused = SyncRefused("apply_failed", f"{type(exc).__name__}: {exc}"[:500])
        return {"error": refused.wire(), "acked": _record_error(peer, refused.message)}
    finally:
        db.session.remove()


def _applied_seq(peer: str) -> int:
    try:
        return db.session.scalar(select(SyncLink.applied_seq).where(SyncLink.peer == peer)) or 0
    finally:
        db.session.remove()


def _hall_codes(halls: dict):
    codes = dict(db.session.execute(select(Hall.id, Hall.code)
                                    .where(Hall.id.in_(list(halls)))).all()) if halls else {}
    return codes.items()


def _record_error(peer: str, message: str) -> int:
    try:
        link = db.session.get(SyncLink, peer)
        link.last_error = message[:1000]
        applied = link.applied_seq
        db.session.commit()
        return applied
    except Exception:
        db.session.rollback()
        log.exception("recording a sync error for %s failed", peer)
        return 0


def _wake(targets: set[str]) -> None:
    for peer in targets:
        socketio.emit("wake", {}, to=node_room(peer), namespace=NAMESPACE)


def install_county(app) -> None:
    socketio.on_namespace(SyncNamespace(NAMESPACE))
    capture.set_notifier(_wake)
