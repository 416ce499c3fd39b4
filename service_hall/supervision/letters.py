"""The three letters (三函, SPEC 3.6), per department and per township hall, for a month.

- Reminder (工作提示函, start of the month): the cases due that month that were still open when
  the month began (open now, or completed on or after its first day).
- Supervision (工作督办函, mid-month): open cases at yellow or red as of the day of issue (or the
  month's last day for a past month), and the open rectifications.
- Warning (工作预警函, month end): the cases completed overdue that month and the open cases at
  red, and the month's on-time rate when under the target, with an accountability record.

A department's letters cover the cases of the county hall (its items at township halls are the
township's); a township hall's cover every case of that hall. A letter is issued only when it
has something to say, is numbered per county, kind and year (绥政服督〔2026〕第12号), keeps a
snapshot of its content, and is issued once: asking again returns the kept letter.
"""
from __future__ import annotations

import calendar as month_calendar
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import WorkingCalendar
from service_hall.cases.models import OPEN_STATUSES, Case
from service_hall.cases.operations import applicant, case_light, effective_due_on
from service_hall.catalog.models import Department, Hall
from service_hall.db import bump_counter
from service_hall.errors import bad_request
from service_hall.extensions import db
from service_hall.ratings.models import Rectification
from service_hall.stats.queries import rates
from service_hall.supervision.models import KIND_MARKS, LETTER_KINDS, Letter, LetterCounter
from windows.models import Window

REPLY_WORKING_DAYS = 5


@dataclass(frozen=True)
class Subject:
    key: str
    name: str
    department_id: uuid.UUID | None = None
    hall_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Rules:
    cal: WorkingCalendar
    today: date
    yellow_days: int
    target: float
    prefix: str


def parse_month(text: str | None) -> tuple[date, date]:
    """"2026-10" -> (2026-10-01, 2026-10-31); a clear 400 for anything else."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise bad_request("month: 须为 YYYY-MM (month must look like 2026-10)", "invalid_month")
    if len(text) != 7:
        raise bad_request("month: 须为 YYYY-MM (month must look like 2026-10)", "invalid_month")
    return first, date(year, month, month_calendar.monthrange(year, month)[1])


def subjects(county: Hall) -> list[Subject]:
    """Every department of the county, then every township hall."""
    found = [Subject(f"department:{d.id}", d.name, department_id=d.id)
             for d in db.session.scalars(select(Department).where(Department.hall_id == county.id)
                                         .order_by(Department.code))]
    found += [Subject(f"hall:{h.id}", h.name, hall_id=h.id)
              for h in db.session.scalars(select(Hall).where(
                  Hall.county_id == county.id, Hall.level == "township").order_by(Hall.code))]
    return found


def _cases_of(subject: Subject, county: Hall):
    stmt = select(Case).options(joinedload(Case.item))
    if subject.department_id is not None:
        return stmt.where(Case.department_id == subject.department_id, Case.hall_id == county.id)
    return stmt.where(Case.hall_id == subject.hall_id)


def _rectifications_of(subject: Subject, county: Hall):
    stmt = select(Rectification).options(joinedload(Rectification.department))
    if subject.department_id is not None:
        return stmt.where(Rectification.department_id == subject.department_id,
                          Rectification.hall_id == county.id)
    return stmt.where(Rectification.hall_id == subject.hall_id)


def _case_rows(cases: list[Case], rules: Rules, as_of: date) -> list[dict]:
    window_ids = {c.window_id for c in cases if c.window_id}
    numbers = dict(db.session.execute(select(Window.id, Window.number).where(
        Window.id.in_(window_ids))).all()) if window_ids else {}
    rows = []
    for case in cases:
        person = applicant(case)
        rows.append({
            "case_no": case.case_no, "item_code": case.item.code, "item_name": case.item.name,
            "accepted_on": case.accepted_on.isoformat(),
            "due_on": (effective_due_on(case, rules.cal, as_of) if case.open
                       else case.due_on).isoformat(),
            "status": case.status, "outcome": case.outcome,
            "light": case_light(case, rules.cal, as_of, rules.yellow_days),
            "completed_on": case.completed_on.isoformat() if case.completed_on else None,
            "promised_days": case.promised_days, "elapsed_days": case.elapsed_days,
            "window_number": numbers.get(case.window_id),
            # Masked only (SPEC 7): a letter is printed and passed around.
            "applicant": person["name"] if person else None})
    return rows


def _lit(cases, rules: Rules, as_of: date, lights: tuple[str, ...]) -> list[Case]:
    return [c for c in cases if case_light(c, rules.cal, as_of, rules.yellow_days) in lights]


def _open_candidates(subject, county, rules: Rules, as_of: date, *, red_only: bool) -> list[Case]:
    # The stored due date is never later than the effective one: a cheap bound in SQL first.
    bound = as_of if red_only else rules.cal.due_on(as_of, rules.yellow_days)
    return list(db.session.scalars(_cases_of(subject, county).where(
        Case.status.in_(OPEN_STATUSES), Case.accepted_on <= as_of, Case.due_on <= bound)
        .order_by(Case.due_on, Case.case_no)))


def content_for(kind: str, subject: Subject, county: Hall, first: date, last: date,
                rules: Rules) -> dict | None:
    """What the letter says, or None when there is nothing to say."""
    as_of = min(rules.today, last)
    content: dict = {"month": f"{first:%Y-%m}", "as_of": as_of.isoformat(),
                     "issuer": county.name, "recipient": subject.name, "cases": [],
                     "rectifications": []}
    if kind == "reminder":
        cases = list(db.session.scalars(_cases_of(subject, county).where(
            Case.due_on >= first, Case.due_on <= last,
            or_(Case.status.in_(OPEN_STATUSES),
                and_(Case.status == "completed", Case.completed_on >= first)))
            .order_by(Case.due_on, Case.case_no)))
        content["cases"] = _case_rows(cases, rules, as_of)
        return content if cases else None
    if kind == "supervision":
        cases = _lit(_open_candidates(subject, county, rules, as_of, red_only=False), rules,
                     as_of, ("yellow", "red"))
        open_items = list(db.session.scalars(_rectifications_of(subject, county).where(
            Rectification.status == "open", Rectification.opened_on <= as_of)
            .order_by(Rectification.due_on)))
        content["cases"] = _case_rows(cases, rules, as_of)
        content["rectifications"] = [{
            "opened_on": r.opened_on.isoformat(), "due_on": r.due_on.isoformat(),
            "department": r.department.name, "overdue": r.due_on < as_of,
            "level": r.rating.level, "reasons": list(r.rating.reasons or [])}
            for r in open_items]
        return content if cases or open_items else None
    late = list(db.session.scalars(_cases_of(subject, county).where(
        Case.status == "completed", Case.outcome == "overdue", Case.completed_on >= first,
        Case.completed_on <= last).order_by(Case.completed_on, Case.case_no)))
    red = _lit(_open_candidates(subject, county, rules, as_of, red_only=True), rules, as_of,
               ("red",))
    counts = dict.fromkeys(("early", "on_time", "overdue", "open", "open_overdue"), 0)
    counts.update(dict(db.session.execute(
        _cases_of(subject, county).with_only_columns(Case.outcome, func.count())
        .where(Case.status == "completed", Case.completed_on >= first,
               Case.completed_on <= last).group_by(Case.outcome)).all()))
    figures = rates(counts)
    under = figures["on_time_rate"] is not None and figures["on_time_rate"] < rules.target
    if not (late or red or under):
        return None
    content["cases"] = _case_rows(late + red, rules, as_of)
    content["figures"] = {**figures, "open_overdue": len(red), "target": rules.target,
                          "under_target": under}
    content["accountability"] = {
        "responsible": subject.name,
        "findings": [f for f in (
            f"本月按时办结率 {figures['on_time_rate']:.2%}，低于目标 {rules.target:.0%}" if under else "",
            f"本月超期办结 {len(late)} 件" if late else "",
            f"截至 {as_of:%Y年%m月%d日} 超期未办结 {len(red)} 件" if red else "") if f],
        "demand": "请于收函之日起5个工作日内书面报告超期原因、责任人员及整改措施；"
                  "逾期未报告或整改不力的，按规定启动问责程序。",
        "reply_due_on": rules.cal.due_on(as_of, REPLY_WORKING_DAYS).isoformat()}
    return content


def number_for(prefix: str, kind: str, year: int, serial: int) -> str:
    return f"{prefix}{KIND_MARKS[kind]}〔{year}〕第{serial}号"


def issue_letter(kind: str, month: str, subject: Subject, county: Hall, rules: Rules, *,
                 actor: Actor, now: datetime) -> tuple[Letter | None, bool]:
    """The letter of ``kind`` for ``subject`` and ``month``: the kept one if issued already
    (created False), else a new numbered one, or None when there is nothing to say."""
    if kind not in LETTER_KINDS:
        raise bad_request(f"kind: 须为 {', '.join(LETTER_KINDS)} 之一", "invalid_kind")
    first, last = parse_month(month)
    existing = _existing(kind, month, subject)
    if existing is not None:
        return existing, False
    content = content_for(kind, subject, county, first, last, rules)
    if content is None:
        return None, False
    try:
        with db.session.begin_nested():
            serial = bump_counter(db.session, LetterCounter,
                                  {"county_id": county.id, "kind": kind, "year": first.year})
            letter = Letter(county_id=county.id, kind=kind, month=month, year=first.year,
                            serial=serial, number=number_for(rules.prefix, kind, first.year, serial),
                            subject_key=subject.key, department_id=subject.department_id,
                            subject_hall_id=subject.hall_id, subject_name=subject.name,
                            content=content, created_at=now, created_by_user_id=actor.user_id)
            db.session.add(letter)
            db.session.flush()
    except IntegrityError:  # issued at the same moment by someone else: theirs stands
        return _existing(kind, month, subject), False
    audit(actor, "letter.issue", "letter", letter.id, hall_id=county.id,
          details={"number": letter.number, "kind": kind, "month": month,
                   "subject": subject.name, "cases": len(content["cases"])})
    return letter, True


def _existing(kind: str, month: str, subject: Subject) -> Letter | None:
    return db.session.scalars(select(Letter).where(
        Letter.kind == kind, Letter.month == month, Letter.subject_key == subject.key)).first()


def issue_letters(kind: str, month: str, county: Hall, rules: Rules, *, actor: Actor,
                  now: datetime, only: list[Subject] | None = None) -> list[tuple[Letter, bool]]:
    """Issue ``kind`` for every department and township hall of the county that needs one."""
    issued = []
    for subject in only if only is not None else subjects(county):
        letter, created = issue_letter(kind, month, subject, county, rules, actor=actor, now=now)
        if letter is not None:
            issued.append((letter, created))
    return issued
