"""Who is acting: a signed-in user, a device, or a township node, and what hall they may touch."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from service_hall.catalog.models import Hall


@dataclass(frozen=True)
class Actor:
    kind: str                    # "user", "device", "node", "system"
    role: str                    # user role, device kind, "node" or "system"
    hall_id: uuid.UUID | None    # None: deployment-wide (admin or supervisor without a hall)
    label: str
    user_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    window_id: uuid.UUID | None = None
    hall_level: str | None = None
    hall_ancestors: tuple[uuid.UUID, ...] = ()

    @property
    def is_staff(self) -> bool:
        return self.kind == "user"

    def may_see_hall(self, hall: Hall) -> bool:
        """Scope rule (SPEC 7): own hall; county-level supervisors and admins see their county;
        agents also reach the halls above their village point."""
        if self.kind == "system" or (self.hall_id is None and self.role in ("admin", "supervisor")):
            return True
        if self.hall_id is None:
            return False
        if hall.id == self.hall_id:
            return True
        if self.role in ("admin", "supervisor") and self.hall_level == "county":
            return hall.county_id == self.hall_id
        if self.role == "agent":
            return hall.id in self.hall_ancestors
        return False


SYSTEM = Actor(kind="system", role="system", hall_id=None, label="system")
