"""Sync status: per township at the county, the link's state at a township."""
from __future__ import annotations

from sqlalchemy import select

from realtime.sync import capture
from realtime.sync.county import node_status
from realtime.sync.models import UPSTREAM, OutboxCounter, SyncLink
from service_hall.catalog.models import Hall
from service_hall.extensions import db


def township_status(node: str) -> dict:
    from realtime.sync.worker import current_worker
    from flask import current_app
    link = db.session.get(SyncLink, UPSTREAM)
    hall = db.session.scalars(select(Hall).where(Hall.code == node)).first()
    head = db.session.scalar(select(OutboxCounter.value)
                             .where(OutboxCounter.target == UPSTREAM)) or 0
    worker = current_worker()
    acked = link.acked_seq if link else 0
    return {"role": "township", "node": node,
            "upstream_url": current_app.config["SERVICE_HALL"].upstream_url,
            "linked": bool(hall and hall.linked),
            "worker_running": worker is not None,
            "connected": bool(worker and worker.connected),
            "last_sync_at": link.last_sync_at.isoformat() if link and link.last_sync_at else None,
            "outbox_head": head, "acked_seq": acked, "unsent_backlog": max(head - acked, 0),
            "applied_seq": link.applied_seq if link else 0,
            "last_error": (link.last_error or None) if link else None}


def status_for(actor=None) -> dict:
    config = capture.node_config()
    if config is not None and config.role == "township":
        return township_status(config.node_code)
    nodes = node_status()
    if actor is not None:
        halls = {h.code: h for h in db.session.scalars(
            select(Hall).where(Hall.code.in_([n["node"] for n in nodes])))}
        nodes = [n for n in nodes if n["node"] in halls and actor.may_see_hall(halls[n["node"]])]
    return {"role": "county", "nodes": nodes}
