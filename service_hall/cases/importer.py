"""Importing past cases from an old system (SPEC 4 ``POST /cases/import``).

All or nothing: every row is checked first and any error refuses the whole batch with a
per-row list. Built for volume (10 million rows come in batches of up to ``MAX_ROWS``):
catalog look-ups are two queries per batch, the calendar is one snapshot, case numbers are one
counter upsert per (hall, day), and rows go in with Core ``executemany`` inserts, never ORM
objects one by one.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

from sqlalchemy import insert, select

from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import Hold, WorkingCalendar, light, outcome
from service_hall.cases.models import Case, CaseCounter, CaseHold
from service_hall.cases.numbering import case_number, number_mark, taken_numbers
from service_hall.cases.operations import next_case_number, promised_days
from service_hall.catalog.models import Department, Hall, ServiceItem
from service_hall.db import insert_for, new_id
from service_hall.errors import ApiError
from service_hall.extensions import db

MAX_ROWS = 10_000
MAX_REPORTED_ERRORS = 200


class RowError(Exception):
    def __init__(self, field: str, message: str, code: str = "invalid"):
        super().__init__(message)
        self.field, self.message, self.code = field, message, code


def _date(row: dict, field: str, *, required: bool = True, where: dict | None = None) -> date | None:
    value = (where or row).get(field)
    if value is None:
        if required:
            raise RowError(field, f"{field}: 必填 (required)")
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise RowError(field, f"{field}: 须为 YYYY-MM-DD (must be a date)")


def _holds(row: dict, accepted: date, end: date, completed: bool) -> list[Hold]:
    holds = []
    for k, raw in enumerate(row.get("holds") or []):
        start = _date(row, "from", where=raw)
        stop = _date(row, "to", required=False, where=raw)
        field = f"holds/{k}"
        if start < accepted:
            raise RowError(field, f"{field}: 中止开始早于受理日 (hold starts before acceptance)")
        if stop is None and (completed or k != len(row["holds"]) - 1):
            raise RowError(field, f"{field}: 只有未办结办件的最后一次中止可以未结束 "
                                  "(only the last hold of an open case may be open)")
        if stop is not None and stop < start:
            raise RowError(field, f"{field}: 结束早于开始 (hold ends before it starts)")
        if stop is not None and stop > end:
            raise RowError(field, f"{field}: 中止结束晚于办结日或今天 (hold ends after "
                                  "completion or today)")
        if holds and start < holds[-1].end:
            raise RowError(field, f"{field}: 中止时段重叠或无序 (holds overlap or are unordered)")
        holds.append(Hold(start, stop))
    return holds


def _compute(row: dict, item: ServiceItem, cal: WorkingCalendar, today: date,
             yellow_days: int) -> dict:
    accepted = _date(row, "accepted_on")
    completed = _date(row, "completed_on", required=False)
    if accepted > today:
        raise RowError("accepted_on", "accepted_on: 晚于今天 (in the future)")
    if completed is not None and not accepted <= completed <= today:
        raise RowError("completed_on", "completed_on: 须在受理日与今天之间 (must be between "
                                       "accepted_on and today)")
    holds = _holds(row, accepted, completed or today, completed is not None)
    promised = promised_days(item)
    closed = [h for h in holds if h.end is not None]
    held = cal.held_working_days(closed, today=today)
    due = cal.due_on(accepted, promised + held)
    values = {"kind": item.kind, "promised_days": promised, "accepted_on": accepted,
              "due_on": due, "held_days": held, "held_since": None, "completed_on": completed,
              "elapsed_days": None, "outcome": None, "light": None, "status": "completed"}
    if completed is not None:
        elapsed = cal.elapsed_working_days(accepted, completed, holds)
        values.update(elapsed_days=elapsed, outcome=outcome(elapsed, promised))
    else:
        open_hold = holds[-1] if holds and holds[-1].end is None else None
        effective = due
        if open_hold is not None:
            effective = cal.due_on(accepted, promised + held + cal.working_days(open_hold.start, today))
        values.update(status="on_hold" if open_hold else "accepted",
                      held_since=open_hold.start if open_hold else None,
                      light=light(cal.working_days_left(effective, today), yellow_days=yellow_days))
    values["_holds"] = holds
    return values


def import_cases(rows: list[dict], *, actor: Actor, cal: WorkingCalendar, today: date,
                 yellow_days: int) -> list[dict]:
    """Check and insert a batch of past cases; returns each row's computed due date and outcome."""
    halls = {h.code: h for h in db.session.scalars(
        select(Hall).where(Hall.code.in_({r["hall_code"] for r in rows})))}
    items = {i.code: (i, owner) for i, owner in db.session.execute(
        select(ServiceItem, Department.hall_id).join(Department)
        .where(ServiceItem.code.in_({r["item_code"] for r in rows})))}
    errors, computed = [], []
    for n, row in enumerate(rows):
        try:
            hall = halls.get(row["hall_code"])
            if hall is None:
                raise RowError("hall_code", f"hall_code: 没有大厅 {row['hall_code']} (unknown hall)",
                               "unknown_hall")
            if not actor.may_see_hall(hall):
                raise RowError("hall_code", f"hall_code: 无权导入大厅 {hall.code} (out of scope)",
                               "out_of_scope")
            found = items.get(row["item_code"])
            if found is None or found[1] not in (hall.id, hall.county_id):
                raise RowError("item_code", f"item_code: 大厅 {hall.code} 没有事项 "
                                            f"{row['item_code']} (unknown item)", "unknown_item")
            values = _compute(row, found[0], cal, today, yellow_days)
            computed.append((hall, found[0], values))
        except RowError as exc:
            errors.append({"row": n, "field": exc.field, "code": exc.code, "message": exc.message})
        except ApiError as exc:  # calendar_missing for one of the row's years
            errors.append({"row": n, "field": "accepted_on", "code": exc.code,
                           "message": exc.message})
    if errors:
        # A row outside the caller's scope makes the whole batch a refusal (403), not bad input.
        status = 403 if any(e["code"] == "out_of_scope" for e in errors) else 422
        raise ApiError(status, "import_rejected",
                       f"{len(errors)} 行有错误，未导入任何办件 ({len(errors)} rows have errors; "
                       "nothing was imported)", details=errors[:MAX_REPORTED_ERRORS])
    numbers = _case_numbers(computed)
    case_rows, hold_rows, answer = [], [], []
    for n, (hall, item, values) in enumerate(computed):
        holds = values.pop("_holds")
        case_id = new_id()
        case_no = numbers[n]
        case_rows.append({**values, "id": case_id, "case_no": case_no, "hall_id": hall.id,
                          "department_id": item.department_id, "item_id": item.id,
                          "warned_level": 0, "reject_reason": "", "imported": True})
        for h in holds:
            hold_rows.append({"id": new_id(), "case_id": case_id, "kind": "materials",
                              "reason": "导入 (imported)", "start_on": h.start, "end_on": h.end,
                              "working_days": cal.working_days(h.start, h.end) if h.end else None})
        answer.append({"row": n, "id": str(case_id), "case_no": case_no, "status": values["status"],
                       "accepted_on": values["accepted_on"].isoformat(),
                       "due_on": values["due_on"].isoformat(),
                       "completed_on": values["completed_on"].isoformat()
                       if values["completed_on"] else None,
                       "elapsed_working_days": values["elapsed_days"],
                       "outcome": values["outcome"]})
    # Plain executemany: psycopg 3 pipelines it (measured faster than multi-row VALUES, whose
    # client-side query splitting dominated at 10,000 rows).
    if case_rows:
        db.session.execute(insert(Case.__table__), case_rows)
    if hold_rows:
        db.session.execute(insert(CaseHold.__table__), hold_rows)
    audit(actor, "case.import", "case_import", uuid.uuid4(),
          details={"rows": len(case_rows), "halls": sorted({h.code for h, _, _ in computed})})
    return answer


def _case_numbers(computed: list) -> list[str]:
    """The batch's numbers from its reserved serials; one a case of the hall already has (the
    counter was behind, see ``cases.numbering``) is replaced by the next free one."""
    serials = _reserve_case_numbers(computed)
    marks = {hall.id: number_mark(db.session, hall.id) for hall, _, _ in computed}
    numbers = [case_number(hall, values["accepted_on"], serials[n], marks[hall.id])
               for n, (hall, _, values) in enumerate(computed)]
    by_hall: dict = defaultdict(list)
    for n, (hall, _, _) in enumerate(computed):
        by_hall[hall.id].append(n)
    for hall_id, members in by_hall.items():
        taken = taken_numbers(db.session, hall_id, [numbers[n] for n in members])
        for n in members:
            if numbers[n] in taken:
                hall, _, values = computed[n]
                numbers[n] = next_case_number(hall, values["accepted_on"])
    return numbers


def _reserve_case_numbers(computed: list) -> list[int]:
    """Serials for the whole batch: one multi-row counter upsert per 1,000 (hall, day) pairs,
    each bumped by its number of rows; serials are handed out in row order."""
    groups: dict = defaultdict(list)
    for n, (hall, _, values) in enumerate(computed):
        groups[(hall.id, values["accepted_on"])].append(n)
    keys = list(groups)
    last: dict = {}
    insert_ = insert_for(db.session)
    for i in range(0, len(keys), 1000):
        chunk = [{"hall_id": h, "day": d, "value": len(groups[(h, d)])} for h, d in keys[i:i + 1000]]
        stmt = insert_(CaseCounter).values(chunk)
        stmt = stmt.on_conflict_do_update(
            index_elements=["hall_id", "day"],
            set_={"value": CaseCounter.value + stmt.excluded.value},
        ).returning(CaseCounter.hall_id, CaseCounter.day, CaseCounter.value)
        last.update({(h, d): v for h, d, v in db.session.execute(stmt)})
    serials = [0] * len(computed)
    for key, members in groups.items():
        for k, n in enumerate(members):
            serials[n] = last[key] - len(members) + 1 + k
    return serials
