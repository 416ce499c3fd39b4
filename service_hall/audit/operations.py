"""Writing the audit log: every state change, attributed (SPEC 4, 7)."""
from __future__ import annotations

import uuid

from service_hall.audit.models import AuditEntry
from service_hall.auth.actor import Actor
from service_hall.db import utcnow
from service_hall.extensions import db


def audit(actor: Actor, action: str, record_type: str, record_id: uuid.UUID, *,
          hall_id: uuid.UUID | None = None, from_state: str | None = None,
          to_state: str | None = None, details: dict | None = None) -> None:
    db.session.add(AuditEntry(
        at=utcnow(), hall_id=hall_id, actor_user_id=actor.user_id,
        actor_device_id=actor.device_id, actor_label=actor.label, action=action,
        record_type=record_type, record_id=record_id, from_state=from_state,
        to_state=to_state, details=details or {}))
