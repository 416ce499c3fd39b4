"""Helpers for the calendar, case, rating and statistics tests."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from kiosks.models import Ticket
from service_hall.calendar.operations import seed_calendar
from service_hall.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A valid resident ID number (check digit X) and the same with a wrong check digit.
GOOD_ID = "11010519491231002X"
BAD_ID = "110105194912310021"


def seed_2026() -> None:
    seed_calendar(2026, 2026)
    db.session.commit()


def freeze_today(monkeypatch, day: date) -> None:
    """Make ``service_hall.clock`` believe it is 10:00 in Shanghai on ``day``."""
    moment = datetime.combine(day, time(10, 0), tzinfo=SHANGHAI).astimezone(timezone.utc)
    monkeypatch.setattr("service_hall.clock.now", lambda: moment)


def served_ticket(hall, item, window, *, status: str = "done", number: str = "A001") -> Ticket:
    at = datetime.now(timezone.utc)
    ticket = Ticket(hall_id=hall.id, service_day=date(2026, 9, 18), number=number,
                    item_id=item.id, status=status, queue_at=at, issued_at=at,
                    track_token=secrets.token_urlsafe(12), window_id=window.id)
    db.session.add(ticket)
    db.session.commit()
    return ticket


APPLICANT = {"name": "张小三", "id_number": GOOD_ID, "phone": "13812341234"}
