"""Changing the catalog: departments and items created or updated by code, each change audited.
Plain functions: they flush and audit; the caller owns the transaction."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.catalog.xlsx import ItemRow, read_sheet
from service_hall.db import new_id
from service_hall.extensions import db
from windows.models import Window

ITEM_FIELDS = ("name", "prefix", "kind", "statutory_days", "promised_days", "materials",
               "levels", "agent_loggable", "daily_cap")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    departments_created: int = 0
    departments_updated: int = 0


def import_items(rows: list[ItemRow], hall: Hall, *, actor: Actor) -> ImportResult:
    """Save rows already checked by ``catalog.xlsx.read_sheet``: departments and items are found
    by code (created when new), and the hall's windows serving each item are set when the sheet
    says so. Only what changes is written and audited."""
    result = ImportResult()
    departments: dict[str, Department] = {}
    for row in rows:
        if row.department_code not in departments:
            departments[row.department_code] = _save_department(row, hall, actor, result)
    windows = list(db.session.scalars(select(Window).where(Window.hall_id == hall.id)
                                      .options(selectinload(Window.items))))
    for row in rows:
        _save_item(row, departments[row.department_code], hall, windows, actor, result)
    db.session.flush()
    return result


def _save_department(row: ItemRow, hall: Hall, actor: Actor, result: ImportResult) -> Department:
    department = row.department
    if department is None:
        department = Department(id=new_id(), code=row.department_code,
                                name=row.department_name, hall_id=hall.id)
        db.session.add(department)
        audit(actor, "department.create", "department", department.id, hall_id=hall.id,
              details={"code": department.code, "name": department.name})
        result.departments_created += 1
    elif row.department_name and row.department_name != department.name:
        audit(actor, "department.update", "department", department.id, hall_id=hall.id,
              details={"code": department.code, "name": [department.name, row.department_name]})
        department.name = row.department_name
        result.departments_updated += 1
    return department


def _save_item(row: ItemRow, department: Department, hall: Hall, windows: list[Window],
               actor: Actor, result: ImportResult) -> None:
    item = row.item
    created = item is None
    if created:
        item = ServiceItem(id=new_id(), code=row.code, department=department)
        db.session.add(item)
    changes: dict = {}
    if not created and item.department_id != department.id:
        changes["department"] = [item.department.code, department.code]
    item.department = department
    for name in ITEM_FIELDS:
        before, after = getattr(item, name), getattr(row, name)
        if created or before != after:
            if not created:
                changes[name] = [before, after]
            setattr(item, name, after)
    if row.windows is not None:
        serving = sorted(w.number for w in windows if item in w.items)
        if serving != row.windows:
            wanted = set(row.windows)
            for window in windows:
                if window.number in wanted and item not in window.items:
                    window.items.append(item)
                elif window.number not in wanted and item in window.items:
                    window.items.remove(item)
            if not created:
                changes["windows"] = [serving, row.windows]
    if created:
        audit(actor, "item.create", "service_item", item.id, hall_id=hall.id,
              details={"code": item.code, "row": row.row})
        result.created += 1
    elif changes:
        audit(actor, "item.update", "service_item", item.id, hall_id=hall.id,
              details={"code": item.code, "row": row.row, "changes": changes})
        result.updated += 1


def import_workbook(data: bytes, hall: Hall, *, actor: Actor) -> ImportResult:
    """Check the whole sheet first (``SheetError`` if any row is wrong), then save it all."""
    return import_items(read_sheet(data, hall), hall, actor=actor)
