"""Whereabouts (去向牌) and the duty roster of village points (轮流坐班).

One rule decides where someone is on a day (:func:`status_on`); the board and the roster both
use it, so a leave marked on the board is what the roster skips.
"""
from __future__ import annotations

import calendar as month_calendar
from datetime import date, datetime

from sqlalchemy import delete, select

from realtime.events import record_event
from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.auth.models import User
from service_hall.calendar.rules import WorkingCalendar
from service_hall.catalog.models import Hall
from service_hall.clock import local
from service_hall.errors import conflict, unprocessable
from service_hall.extensions import db
from service_hall.staff.models import (WHEREABOUTS, WHEREABOUTS_LABELS, RosterDay, VillageCadre,
                                       WhereaboutsEntry)

BOARD_ROLES = ("clerk", "agent", "supervisor")  # who has a card on a hall's board


# --- whereabouts ---------------------------------------------------------------------------

def set_whereabouts(user: User, *, status: str, note: str, expected_return: datetime | None,
                    starts_on: date, actor: Actor, today: date, now: datetime) -> WhereaboutsEntry:
    """Turn a staff member's card: effective from ``starts_on`` (today or later: a leave may be
    marked ahead) until the next turn or the expected return."""
    if status not in WHEREABOUTS:
        raise unprocessable(f"status 须为 {', '.join(WHEREABOUTS)} 之一", "invalid_status")
    if expected_return is not None and not 2000 <= expected_return.year <= 2100:
        raise unprocessable("预计返回时间不合理 (expected return out of range)", "invalid_return")
    if starts_on < today:
        raise unprocessable("不能改动过去的去向 (the start cannot be in the past)", "past_date")
    if expected_return is not None and local(expected_return).date() < starts_on:
        raise unprocessable("预计返回时间早于开始日期 (expected return before the start)",
                            "invalid_return")
    entry = WhereaboutsEntry(user_id=user.id, user=user, hall_id=user.hall_id, status=status,
                             note=(note or "").strip(), starts_on=starts_on,
                             expected_return=expected_return, set_at=now)
    db.session.add(entry)
    db.session.flush()
    audit(actor, "staff.whereabouts", "user", user.id, hall_id=user.hall_id, to_state=status,
          details={"note": entry.note, "from": starts_on.isoformat(),
                   "expected_return": expected_return.isoformat() if expected_return else None})
    if user.hall is not None and starts_on == today:
        record_event(db.session, user.hall, "staff.whereabouts",
                     board_card(user, entry, today=today), audience="public")
    return entry


def status_on(entries: list[WhereaboutsEntry], day: date) -> WhereaboutsEntry | None:
    """The entry in force on ``day``: the last one started by then, unless its expected return
    has passed (then the person is back at post: None)."""
    current = None
    for entry in sorted(entries, key=lambda e: (e.starts_on, e.set_at)):
        if entry.starts_on <= day:
            current = entry
    if current is None or current.status == "at_post":
        return None
    if current.expected_return is not None and local(current.expected_return).date() < day:
        return None
    return current


def entries_for(user_ids: list, until: date) -> dict:
    """Whereabouts entries of these users started by ``until``, by user id."""
    found: dict = {uid: [] for uid in user_ids}
    if not user_ids:
        return found
    for entry in db.session.scalars(select(WhereaboutsEntry).where(
            WhereaboutsEntry.user_id.in_(user_ids), WhereaboutsEntry.starts_on <= until)):
        found[entry.user_id].append(entry)
    return found


def board_card(user: User, entry: WhereaboutsEntry | None, *, today: date) -> dict:
    """What a real 去向牌 shows: name, post, status, note, expected return. No phone numbers."""
    status = entry.status if entry is not None else "at_post"
    back = entry.expected_return if entry is not None else None
    return {"user_id": str(user.id), "name": user.name or user.username, "role": user.role,
            "status": status, "status_label": WHEREABOUTS_LABELS[status],
            "note": entry.note if entry is not None else "",
            "expected_return": back.isoformat() if back else None,
            "expected_return_text": local(back).strftime("%m-%d %H:%M") if back else ""}


def board(hall: Hall, *, today: date) -> list[dict]:
    users = list(db.session.scalars(select(User).where(
        User.hall_id == hall.id, User.active.is_(True), User.role.in_(BOARD_ROLES))
        .order_by(User.role, User.username)))
    entries = entries_for([u.id for u in users], today)
    return [board_card(u, status_on(entries[u.id], today), today=today) for u in users]


# --- cadres and roster ---------------------------------------------------------------------

def cadres(point: Hall) -> list[User]:
    """The cadres who take turns at a village point: its agents, then the township cadres
    assigned to it, each ordered by username."""
    agents = db.session.scalars(select(User).where(
        User.hall_id == point.id, User.role == "agent", User.active.is_(True))
        .order_by(User.username))
    assigned = db.session.scalars(select(User).join(VillageCadre, VillageCadre.user_id == User.id)
                                  .where(VillageCadre.hall_id == point.id, User.active.is_(True))
                                  .order_by(User.username))
    return list(agents) + list(assigned)


def assign_cadres(point: Hall, users: list[User], *, actor: Actor) -> list[User]:
    """Replace the township cadres assigned to a village point (users of its township hall)."""
    for user in users:
        if user.hall_id != point.parent_id or user.role == "admin":
            raise unprocessable(f"{user.username} 不是本乡镇的干部 (not a cadre of the point's "
                                "township)", "not_township_cadre")
    db.session.execute(delete(VillageCadre).where(VillageCadre.hall_id == point.id))
    for user in {u.id: u for u in users}.values():
        db.session.add(VillageCadre(hall_id=point.id, user_id=user.id))
    db.session.flush()
    audit(actor, "roster.cadres", "hall", point.id, hall_id=point.id,
          details={"assigned": sorted(u.username for u in users)})
    return cadres(point)


def month_days(month: str) -> tuple[date, date]:
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except (ValueError, TypeError):
        raise unprocessable("month 须为 YYYY-MM (month must be YYYY-MM)", "invalid_month")
    return first, date(year, number, month_calendar.monthrange(year, number)[1])


def working_days_of(first: date, last: date, cal: WorkingCalendar) -> list[date]:
    days = []
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        day = date.fromordinal(ordinal)
        if cal.is_working_day(day):
            days.append(day)
    return days


def on_leave(entries: list[WhereaboutsEntry], day: date) -> bool:
    entry = status_on(entries, day)
    return entry is not None and entry.status == "leave"


def generate_roster(point: Hall, month: str, *, cal: WorkingCalendar, actor: Actor) -> list[RosterDay]:
    """One cadre per working day of the month, in turn; a cadre on leave that day is skipped
    (the next in turn sits). Replaces the month's roster, edits included."""
    first, last = month_days(month)
    days = working_days_of(first, last, cal)
    people = cadres(point)
    if not people:
        raise conflict(f"{point.name}没有可轮流坐班的干部 (no cadres at this village point)",
                       "no_cadres")
    entries = entries_for([p.id for p in people], last)
    db.session.execute(delete(RosterDay).where(RosterDay.hall_id == point.id,
                                               RosterDay.day >= first, RosterDay.day <= last))
    rows, turn = [], 0
    for day in days:
        for offset in range(len(people)):
            candidate = people[(turn + offset) % len(people)]
            if not on_leave(entries[candidate.id], day):
                break
        else:
            raise conflict(f"{day.isoformat()} 全部干部请假，无人坐班 (every cadre is on leave on "
                           f"{day.isoformat()})", "nobody_available")
        turn = (turn + offset + 1) % len(people)
        rows.append(RosterDay(hall_id=point.id, day=day, user_id=candidate.id, user=candidate,
                              edited=False))
    db.session.add_all(rows)
    db.session.flush()
    audit(actor, "roster.generate", "hall", point.id, hall_id=point.id,
          details={"month": month, "working_days": len(days)})
    return rows


def set_roster_day(point: Hall, day: date, user: User, *, cal: WorkingCalendar,
                   actor: Actor) -> RosterDay:
    """Put another cadre on duty for one working day (they must not be on leave)."""
    if not cal.is_working_day(day):
        raise unprocessable(f"{day.isoformat()} 不是工作日 (not a working day)", "not_a_working_day")
    if user.id not in {p.id for p in cadres(point)}:
        raise unprocessable(f"{user.username} 不是本服务站的坐班干部 (not a cadre of this point)",
                            "not_a_cadre")
    if on_leave(entries_for([user.id], day)[user.id], day):
        raise conflict(f"{user.username} 当天请假 (on leave that day)", "on_leave")
    row = db.session.get(RosterDay, (point.id, day))
    before = row.user.username if row is not None else None
    if row is None:
        row = RosterDay(hall_id=point.id, day=day)
        db.session.add(row)
    row.user_id, row.user, row.edited = user.id, user, True
    db.session.flush()
    audit(actor, "roster.edit", "hall", point.id, hall_id=point.id, from_state=before,
          to_state=user.username, details={"day": day.isoformat()})
    return row


def roster(point: Hall, first: date, last: date) -> list[RosterDay]:
    return list(db.session.scalars(select(RosterDay).where(
        RosterDay.hall_id == point.id, RosterDay.day >= first, RosterDay.day <= last)
        .order_by(RosterDay.day)))


def on_duty(point: Hall, day: date) -> User | None:
    """Today's cadre at a village point, unless on leave after the roster was made."""
    row = db.session.get(RosterDay, (point.id, day))
    if row is None or on_leave(entries_for([row.user_id], day)[row.user_id], day):
        return None
    return row.user
