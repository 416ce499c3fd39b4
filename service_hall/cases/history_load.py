"""Loading generated history (``service_hall.cases.history``) into the database of a county.

Used by ``flask --app wsgi hall seed-demo --history``: rows go in with Core ``executemany``
batches, never ORM objects one by one; case-number counters are raised by one multi-row upsert
per batch of days so numbers given later never collide. Idempotent: the generator's first case
id is deterministic, and finding it means the history is already there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import insert, select

from kiosks.models import Ticket
from service_hall import documents, privacy
from service_hall.audit.operations import audit
from service_hall.auth.actor import SYSTEM
from service_hall.auth.models import User
from service_hall.calendar.rules import WorkingCalendar
from service_hall.cases.history import (HallSpec, HistoryGenerator, HistoryParams, ItemSpec,
                                        first_case_id)
from service_hall.cases.models import Case, CaseCounter, CaseHold
from service_hall.cases.numbering import number_mark
from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.db import insert_for
from service_hall.extensions import db
from service_hall.ratings.models import Rating, Rectification
from windows.models import Window, window_items

BATCH = 5000
COUNTY_WEIGHT = 0.88          # of the cases; the townships share the rest
LINKED_TOWNSHIP_FACTOR = 2.0  # interconnected township halls handle more


@dataclass
class HistoryResult:
    created: bool
    counts: dict


def catalog_specs(county: Hall) -> tuple[list[HallSpec], dict]:
    """The county's halls with the windows serving each item there, as the generator needs."""
    halls = list(db.session.scalars(select(Hall).where(
        Hall.county_id == county.id, Hall.level.in_(("county", "township"))).order_by(Hall.code)))
    items = {i.id: ItemSpec(i.id, i.department_id, i.kind, i.promised_days, i.prefix)
             for i in db.session.scalars(select(ServiceItem).join(Department).where(
                 Department.hall_id.in_([h.id for h in halls]), ServiceItem.active.is_(True)))}
    clerks = dict(db.session.execute(select(User.window_id, User.id).where(
        User.role == "clerk", User.window_id.is_not(None))).all())
    windows = {w.id: w for w in db.session.scalars(select(Window).where(
        Window.hall_id.in_([h.id for h in halls])))}
    served: dict = {}
    for window_id, item_id in db.session.execute(select(window_items.c.window_id,
                                                        window_items.c.item_id).where(
            window_items.c.window_id.in_(list(windows)))):
        window = windows[window_id]
        if item_id in items:
            served.setdefault(window.hall_id, {}).setdefault(item_id, []).append(
                (window.id, window.department_id, clerks.get(window.id)))
    townships = [h for h in halls if h.level == "township"]
    township_total = sum(LINKED_TOWNSHIP_FACTOR if h.linked else 1.0 for h in townships) or 1.0
    specs = []
    for hall in halls:
        if hall.level == "county":
            weight = COUNTY_WEIGHT if townships else 1.0
        else:
            weight = ((1 - COUNTY_WEIGHT) * (LINKED_TOWNSHIP_FACTOR if hall.linked else 1.0)
                      / township_total)
        specs.append(HallSpec(hall.id, hall.code, weight, served.get(hall.id, {}),
                              number_mark(db.session, hall.id)))
    return specs, items


def _protect(name: str, id_number: str, phone: str) -> dict:
    return {"applicant_name_enc": privacy.encrypt(name),
            "applicant_id_enc": privacy.encrypt(id_number),
            "applicant_id_hash": documents.lookup_hash(id_number),
            "applicant_phone_enc": privacy.encrypt(phone)}


def load_history(county: Hall, params: HistoryParams, cal: WorkingCalendar) -> HistoryResult:
    """Generate and insert the history of ``county`` (its hall and township halls)."""
    names = ("cases", "holds", "tickets", "ratings", "rectifications")
    if db.session.get(Case, first_case_id(params.seed)) is not None:
        return HistoryResult(False, dict.fromkeys(names, 0))
    halls, items = catalog_specs(county)
    generator = HistoryGenerator(halls, items, cal, params, protect=_protect)
    tables = {"cases": Case.__table__, "holds": CaseHold.__table__,
              "tickets": Ticket.__table__, "ratings": Rating.__table__,
              "rectifications": Rectification.__table__}
    pending = {name: [] for name in names}
    counters: dict = {}
    counts = dict.fromkeys(names, 0)

    def flush(final: bool = False) -> None:
        # Parents first: tickets before cases (no FK), cases before holds, ratings before
        # rectifications.
        for name in ("tickets", "cases", "holds", "ratings", "rectifications"):
            rows = pending[name]
            if rows and (final or len(rows) >= BATCH):
                db.session.execute(insert(tables[name]), rows)
                counts[name] += len(rows)
                pending[name] = []

    for day_rows in generator.days():
        for name in names:
            pending[name].extend(getattr(day_rows, name))
        for hall_id, n in day_rows.case_counters.items():
            counters[(hall_id, day_rows.day)] = n
        if len(pending["cases"]) >= BATCH:
            flush(final=True)
    flush(final=True)
    _raise_counters(counters)
    audit(SYSTEM, "history.seed", "hall", county.id, hall_id=county.id,
          details={**counts, "from": params.start.isoformat(), "to": params.today.isoformat()})
    return HistoryResult(True, counts)


def _raise_counters(counters: dict) -> None:
    """Case-number serials of the history days: later numbers of those days follow on."""
    keys = list(counters)
    insert_ = insert_for(db.session)
    for i in range(0, len(keys), 1000):
        chunk = [{"hall_id": h, "day": d, "value": counters[(h, d)]} for h, d in keys[i:i + 1000]]
        stmt = insert_(CaseCounter).values(chunk)
        db.session.execute(stmt.on_conflict_do_update(
            index_elements=["hall_id", "day"],
            set_={"value": CaseCounter.value + stmt.excluded.value}))


def default_params(today: date, *, days: int = 730, **overrides) -> HistoryParams:
    from datetime import timedelta
    return HistoryParams(start=today - timedelta(days=days), today=today, **overrides)
