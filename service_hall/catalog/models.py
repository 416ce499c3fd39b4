"""The catalog (SPEC 3.1): halls, departments and service items."""
from __future__ import annotations

import uuid
from typing import Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.db import IdMixin
from service_hall.extensions import db

HALL_LEVELS = ("county", "township", "village")
ITEM_KINDS = ("immediate", "promise")
RESERVED_PREFIXES = ("V", "Y")  # green channel and appointments


class Hall(IdMixin, db.Model):
    __tablename__ = "halls"
    __sync__ = "down"  # the county's catalog, copied to every township node

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("halls.id"), index=True)
    # The county a hall belongs to (itself for a county): scopes catalog look-ups and tenants.
    county_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid, index=True)
    linked: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(200), default="")
    hours: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")

    parent: Mapped[Optional["Hall"]] = relationship(remote_side="Hall.id")

    def public(self) -> dict:
        return {"code": self.code, "name": self.name, "level": self.level,
                "parent_code": self.parent.code if self.parent else None, "linked": self.linked}


class Department(IdMixin, db.Model):
    __tablename__ = "departments"
    __sync__ = "down"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"), index=True)

    hall: Mapped[Hall] = relationship()


class ServiceItem(IdMixin, db.Model):
    __tablename__ = "service_items"
    __sync__ = "down"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("departments.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(1))
    kind: Mapped[str] = mapped_column(String(10))
    statutory_days: Mapped[int] = mapped_column(Integer, default=0)
    promised_days: Mapped[int] = mapped_column(Integer, default=0)
    materials: Mapped[list] = mapped_column(JSON, default=list)
    levels: Mapped[list] = mapped_column(JSON, default=list)
    agent_loggable: Mapped[bool] = mapped_column(Boolean, default=False)
    daily_cap: Mapped[Optional[int]] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")

    department: Mapped[Department] = relationship()

    def public(self) -> dict:
        return {"code": self.code, "name": self.name, "department": self.department.name,
                "department_code": self.department.code, "prefix": self.prefix, "kind": self.kind,
                "statutory_days": self.statutory_days, "promised_days": self.promised_days,
                "materials": list(self.materials or []), "daily_cap": self.daily_cap,
                "agent_loggable": self.agent_loggable}
