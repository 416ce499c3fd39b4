"""Rating a visit or a case, and following bad ratings until rectified (SPEC 3.5)."""
from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kiosks.models import Ticket
from service_hall.audit.operations import audit
from service_hall.auth.actor import Actor
from service_hall.calendar.rules import WorkingCalendar
from service_hall.cases.models import Case
from service_hall.errors import ApiError, conflict, unprocessable
from service_hall.extensions import db
from service_hall.ratings.models import LEVELS, RECTIFY_LEVELS, Rating, RatingReason, Rectification
from windows.models import Window

DEFAULT_REASONS = {
    5: ["服务热情周到", "办事效率高", "一次办成", "解释清楚耐心"],
    4: ["服务态度好", "办理较快", "材料指导清楚"],
    3: ["等候时间偏长", "流程有待简化", "指引不够清楚"],
    2: ["等候时间过长", "服务态度冷淡", "材料要求反复", "解释不清楚"],
    1: ["态度生硬推诿", "多次跑腿仍未办成", "超时未办结", "吃拿卡要或不作为"],
}


def seed_rating_reasons() -> int:
    """The default reasons per level (idempotent: nothing is added when any reason exists)."""
    if db.session.scalar(select(func.count()).select_from(RatingReason)):
        return 0
    rows = [RatingReason(level=level, text=text, position=k)
            for level, texts in DEFAULT_REASONS.items() for k, text in enumerate(texts)]
    db.session.add_all(rows)
    db.session.flush()
    return len(rows)


def active_reasons() -> list[RatingReason]:
    return list(db.session.scalars(select(RatingReason).where(RatingReason.active.is_(True))
                                   .order_by(RatingReason.level.desc(), RatingReason.position)))


def _reason_texts(level: int, reason_ids: list[str]) -> list[str]:
    try:
        keys = [uuid.UUID(r) for r in reason_ids]
    except ValueError:
        raise unprocessable("reasons: 不是有效的原因编号 (unknown reason id)", "invalid_reason")
    found = {r.id: r for r in db.session.scalars(select(RatingReason).where(
        RatingReason.id.in_(keys), RatingReason.level == level, RatingReason.active.is_(True)))}
    if len(found) != len(set(keys)):
        raise unprocessable(f"reasons: 原因不属于{LEVELS[level]}这一档 (a reason does not belong "
                            f"to level {level})", "invalid_reason")
    return [found[k].text for k in dict.fromkeys(keys)]


def _already_rated() -> Exception:
    return conflict("已经评价过了，每次办事只能评价一次 (already rated)", "already_rated")


def rate(*, level: int, reason_ids: list[str], comment: str, channel: str, actor: Actor,
         cal: WorkingCalendar, today: date, now: datetime, rectify_days: int,
         ticket: Ticket | None = None, case: Case | None = None) -> Rating:
    """Record one rating of a ticket or a case; 2 or 1 opens a rectification for the
    department, due ``rectify_days`` working days after today."""
    if (ticket is None) == (case is None):
        raise unprocessable("须评价一张号或一个办件 (rate a ticket or a case)", "invalid_subject")
    if level not in LEVELS:
        raise unprocessable("level 须为 1–5 (level must be 1–5)", "invalid_level")
    reasons = _reason_texts(level, reason_ids)
    if ticket is not None:
        if ticket.status not in ("serving", "done"):
            raise conflict("办理完成后才能评价 (rate after being served)", "not_served")
        if db.session.scalar(select(Rating.id).where(Rating.ticket_id == ticket.id)):
            raise _already_rated()
        window = db.session.get(Window, ticket.window_id) if ticket.window_id else None
        hall_id, window_id = ticket.hall_id, ticket.window_id
        department_id = (window.department_id if window and window.department_id
                         else ticket.item.department_id)
    else:
        if db.session.scalar(select(Rating.id).where(Rating.case_id == case.id)):
            raise _already_rated()
        hall_id, window_id, department_id = case.hall_id, case.window_id, case.department_id
    rating = Rating(hall_id=hall_id, department_id=department_id, window_id=window_id,
                    ticket_id=ticket.id if ticket else None, case_id=case.id if case else None,
                    level=level, reasons=reasons, comment=(comment or "").strip(),
                    channel=channel, created_at=now)
    try:
        with db.session.begin_nested():  # a concurrent second rating hits the unique index
            db.session.add(rating)
            db.session.flush()
    except IntegrityError:
        raise _already_rated()
    audit(actor, "rating.create", "rating", rating.id, hall_id=hall_id, to_state=str(level),
          details={"channel": channel, "reasons": reasons})
    if level in RECTIFY_LEVELS:
        due = _rectification_due(cal, today, rectify_days)
        rect = Rectification(hall_id=hall_id, department_id=department_id, rating_id=rating.id,
                             status="open", opened_on=today, due_on=due)
        db.session.add(rect)
        db.session.flush()
        audit(actor, "rectification.open", "rectification", rect.id, hall_id=hall_id,
              to_state="open", details={"due_on": due.isoformat() if due else None,
                                        "level": level})
    return rating


def _rectification_due(cal, today: date, rectify_days: int) -> date | None:
    """The due date, or None when it falls in a year whose calendar is not loaded yet: a
    citizen's rating is never refused for that; ``fill_pending_due_dates`` sets it later."""
    try:
        return cal.due_on(today, rectify_days)
    except ApiError as exc:
        if exc.code != "calendar_missing":
            raise
        return None


def fill_pending_due_dates(cal, *, rectify_days: int) -> int:
    """Give open rectifications without a due date one, now that the calendar allows it."""
    filled = 0
    for rect in db.session.scalars(select(Rectification).where(
            Rectification.status == "open", Rectification.due_on.is_(None))):
        rect.due_on = _rectification_due(cal, rect.opened_on, rectify_days)
        filled += rect.due_on is not None
    return filled


def close_rectification(rect: Rectification, *, result: str, actor: Actor,
                        today: date) -> Rectification:
    """Close with the written result of the rectification."""
    if rect.status != "open":
        raise conflict("整改已关闭 (rectification already closed)", "already_closed")
    result = (result or "").strip()
    if not result:
        raise unprocessable("须填写整改结果 (a written result is required)", "result_required")
    rect.status, rect.result, rect.closed_on = "closed", result, today
    rect.closed_by_user_id = actor.user_id
    audit(actor, "rectification.close", "rectification", rect.id, hall_id=rect.hall_id,
          from_state="open", to_state="closed", details={"result": result})
    return rect
