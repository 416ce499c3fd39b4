"""The three letters (三函, SPEC 3.6), kept with a snapshot of their content, and their numbers."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service_hall.catalog.models import Hall
from service_hall.db import IdMixin, UTCDateTime
from service_hall.extensions import db

LETTER_KINDS = ("reminder", "supervision", "warning")
KIND_TITLES = {"reminder": "工作提示函", "supervision": "工作督办函", "warning": "工作预警函"}
# The character of the number for each kind: 绥政服提〔2026〕第3号, …督…, …警…
KIND_MARKS = {"reminder": "提", "supervision": "督", "warning": "警"}


class Letter(IdMixin, db.Model):
    """One letter to one department or township hall for one month; never two of a kind."""

    __tablename__ = "letters"
    __table_args__ = (
        UniqueConstraint("kind", "month", "subject_key", name="uq_letters_kind_month_subject"),
        UniqueConstraint("county_id", "kind", "year", "serial", name="uq_letters_number"),
    )

    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    month: Mapped[str] = mapped_column(String(7), index=True)    # "2026-10"
    year: Mapped[int] = mapped_column(Integer)                    # of the number
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(60))
    # "department:<uuid>" or "hall:<uuid>": who the letter is addressed to.
    subject_key: Mapped[str] = mapped_column(String(60))
    department_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("departments.id"))
    subject_hall_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)
    subject_name: Mapped[str] = mapped_column(String(100))
    content: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[Optional[uuid.UUID]] = mapped_column(Uuid)

    county: Mapped[Hall] = relationship()

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    def summary(self) -> dict:
        return {"id": str(self.id), "kind": self.kind, "title": self.title, "month": self.month,
                "number": self.number, "subject": self.subject_name,
                "cases": len(self.content.get("cases", [])),
                "rectifications": len(self.content.get("rectifications", [])),
                "created_at": self.created_at.isoformat()}


class LetterCounter(db.Model):
    """Letter serials per county, kind and year, bumped by upsert (no duplicates, no gaps)."""

    __tablename__ = "letter_counters"

    county_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
