"""What happens to a case (SPEC 3.4): accept, hold, resume, complete, reject, warn.

Plain functions: they change state, flush, audit and record events; the caller commits. Every
date computation goes through ``service_hall.calendar.rules`` (the one place for the rules).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kiosks.models import Ticket
from realtime.events import record_event
from service_hall import documents, privacy
from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import WorkingCalendar, light, outcome
from service_hall.cases.models import HOLD_KINDS, LIGHT_LEVELS, OPEN_STATUSES, Case, CaseCounter, CaseHold
from service_hall.cases.numbering import case_number, number_mark, taken_numbers
from service_hall.catalog.models import Hall, ServiceItem
from service_hall.db import bump_counter, utcnow
from service_hall.errors import conflict, forbidden, unprocessable
from service_hall.extensions import db
from windows.models import Window


def next_case_number(hall: Hall, day: date) -> str:
    """The next free number of ``hall`` on ``day``, in this node's number space for the hall
    (serials some case of the hall already has are skipped: see ``cases.numbering``)."""
    mark = number_mark(db.session, hall.id)
    while True:
        serial = bump_counter(db.session, CaseCounter, {"hall_id": hall.id, "day": day})
        number = case_number(hall, day, serial, mark)
        if not taken_numbers(db.session, hall.id, [number]):
            return number


def promised_days(item: ServiceItem) -> int:
    """Immediate items are done the same day (0 working days); promise items within N."""
    return item.promised_days if item.kind == "promise" else 0


def effective_due_on(case: Case, cal: WorkingCalendar, today: date) -> date:
    """The due date pushed by closed holds (stored) and by an open hold up to today."""
    if case.held_since is None:
        return case.due_on
    running = cal.working_days(case.held_since, today)
    return cal.due_on(case.accepted_on, case.promised_days + case.held_days + running)


def case_light(case: Case, cal: WorkingCalendar, today: date, yellow_days: int) -> str | None:
    if not case.open:
        return None
    left = cal.working_days_left(effective_due_on(case, cal, today), today)
    return light(left, yellow_days=yellow_days)


def accept_case(hall: Hall, item: ServiceItem, applicant: dict, *, actor: Actor,
                cal: WorkingCalendar, today: date, now: datetime, yellow_days: int,
                ticket: Ticket | None = None) -> Case:
    """Accept (受理) a case; due on the Nth working day after today (N = promised days)."""
    name = privacy.normalise_name(applicant.get("name", ""))
    document = documents.from_person(applicant, today=today)
    phone = privacy.normalise_phone(applicant.get("phone", ""))
    if ticket is not None:
        if ticket.hall_id != hall.id:
            raise forbidden("该号不属于本大厅 (the ticket belongs to another hall)",
                            "out_of_scope")
        if ticket.status not in ("called", "serving", "done"):
            raise conflict(f"号的状态为{ticket.status}，不能受理 (ticket is {ticket.status})",
                           "invalid_ticket_state")
    promised = promised_days(item)
    due = cal.due_on(today, promised)
    document_enc, document_hash = documents.protect(document)
    case = Case(case_no=next_case_number(hall, today), hall_id=hall.id,
                department_id=item.department_id, item_id=item.id, hall=hall, item=item,
                window_id=actor.window_id, ticket_id=ticket.id if ticket else None,
                handled_by_user_id=actor.user_id, status="accepted", kind=item.kind,
                promised_days=promised, accepted_on=today, accepted_at=now, due_on=due,
                held_days=0, warned_level=0,
                applicant_name_enc=privacy.encrypt(name),
                applicant_id_enc=document_enc, applicant_id_hash=document_hash,
                applicant_phone_enc=privacy.encrypt(phone))
    db.session.add(case)
    db.session.flush()
    case.light = light(cal.working_days_left(due, today), yellow_days=yellow_days)
    audit(actor, "case.accept", "case", case.id, hall_id=hall.id, to_state="accepted",
          details={"case_no": case.case_no, "item": item.code, "due_on": due.isoformat()})
    return case


def _require(case: Case, *statuses: str) -> None:
    if case.status not in statuses:
        raise conflict(f"办件状态为{case.status}，不能执行此操作 (case is {case.status})",
                       "invalid_case_state")


def _change(case: Case, status: str, actor: Actor, action: str, **details) -> None:
    before = case.status
    case.status = status
    audit(actor, action, "case", case.id, hall_id=case.hall_id, from_state=before,
          to_state=status, details=details or None)


def hold_case(case: Case, *, kind: str, reason: str, actor: Actor, today: date) -> Case:
    """Stop the clock (补正 / 特别程序) from the end of today."""
    _require(case, "accepted")
    if kind not in HOLD_KINDS:
        raise unprocessable("kind 须为 materials 或 special_procedure", "invalid_kind")
    reason = (reason or "").strip()
    if not reason:
        raise unprocessable("须填写中止原因 (a reason is required)", "reason_required")
    db.session.add(CaseHold(case=case, kind=kind, reason=reason, start_on=today))
    case.held_since = today
    _change(case, "on_hold", actor, "case.hold", kind=kind, reason=reason)
    return case


def _close_hold(case: Case, cal: WorkingCalendar, today: date) -> int:
    hold = next(h for h in case.holds if h.end_on is None)
    hold.end_on = today
    hold.working_days = cal.working_days(hold.start_on, today)
    case.held_days += hold.working_days
    case.held_since = None
    case.due_on = cal.due_on(case.accepted_on, case.promised_days + case.held_days)
    return hold.working_days


def resume_case(case: Case, *, actor: Actor, cal: WorkingCalendar, today: date,
                yellow_days: int) -> Case:
    """Restart the clock; the hold's working days push the due date."""
    _require(case, "on_hold")
    held = _close_hold(case, cal, today)
    _change(case, "accepted", actor, "case.resume", held_working_days=held,
            due_on=case.due_on.isoformat())
    case.light = case_light(case, cal, today, yellow_days)
    return case


def complete_case(case: Case, *, actor: Actor, cal: WorkingCalendar, today: date,
                  now: datetime) -> Case:
    """Complete (办结): elapsed working days against the promise give the outcome."""
    _require(case, *OPEN_STATUSES)
    if case.held_since is not None:
        _close_hold(case, cal, today)
    case.completed_on, case.completed_at = today, now
    case.elapsed_days = cal.working_days(case.accepted_on, today) - case.held_days
    case.outcome = outcome(case.elapsed_days, case.promised_days)
    case.light = None
    _change(case, "completed", actor, "case.complete", outcome=case.outcome,
            elapsed_working_days=case.elapsed_days)
    _follow_errand(case, actor, now)
    return case


def reject_case(case: Case, *, reason: str, actor: Actor, today: date,
                cal: WorkingCalendar) -> Case:
    """Refuse (不予许可/退件) with a written reason; the case leaves the completion figures."""
    _require(case, *OPEN_STATUSES)
    reason = (reason or "").strip()
    if not reason:
        raise unprocessable("须填写退件原因 (a reason is required)", "reason_required")
    if case.held_since is not None:
        _close_hold(case, cal, today)
    case.reject_reason, case.light = reason, None
    _change(case, "rejected", actor, "case.reject", reason=reason)
    _follow_errand(case, actor, utcnow())
    return case


def _follow_errand(case: Case, actor: Actor, now: datetime) -> None:
    # An errand carried from a village point follows its case to the end (SPEC 3.7).
    from service_hall.errands.operations import follow_case  # errands import this module
    follow_case(case, actor=actor, now=now)


def applicant(case: Case, *, reveal: bool = False) -> dict | None:
    """The applicant, masked by ``service_hall.documents.person`` unless revealed (audited by the
    caller)."""
    if case.applicant_id_enc is None:
        return None
    return documents.person(case.applicant_name_enc, case.applicant_id_enc,
                          case.applicant_phone_enc, reveal=reveal)


def warn_cases(*, cal: WorkingCalendar, today: date, yellow_days: int, actor: Actor) -> dict:
    """Recompute the lights of open cases; warn the handling clerk and the supervisors
    (``case.warning``, staff audience) the first time a case reaches yellow and red."""
    counts = {"checked": 0, "yellow": 0, "red": 0}
    cases = db.session.scalars(select(Case).where(Case.status.in_(OPEN_STATUSES))
                               .options(joinedload(Case.hall), joinedload(Case.item))
                               .order_by(Case.hall_id, Case.due_on))
    windows: dict = {}
    for case in cases:
        counts["checked"] += 1
        due = effective_due_on(case, cal, today)
        left = cal.working_days_left(due, today)
        case.light = light(left, yellow_days=yellow_days)
        level = LIGHT_LEVELS[case.light]
        if level <= case.warned_level:
            continue
        case.warned_level = level
        counts[case.light] += 1
        if case.window_id and case.window_id not in windows:
            windows[case.window_id] = db.session.get(Window, case.window_id)
        window = windows.get(case.window_id)
        record_event(db.session, case.hall, "case.warning", {
            "case_id": str(case.id), "case_no": case.case_no, "light": case.light,
            "item_code": case.item.code, "item_name": case.item.name,
            "due_on": due.isoformat(), "working_days_left": left,
            "window_number": window.number if window else None,
            "handled_by_user_id": str(case.handled_by_user_id) if case.handled_by_user_id else None,
        }, audience="staff", window_code=window.code if window else None)
        audit(actor, "case.warning", "case", case.id, hall_id=case.hall_id,
              to_state=case.light, details={"due_on": due.isoformat(), "left": left})
    db.session.flush()
    return counts
