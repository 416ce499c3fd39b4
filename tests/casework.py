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


def two_department_county(factory):
    """County C1 with department D1 (item P5: 5 working days) and D2 (item P3: 3 days)."""
    county = factory.hall("C1")
    d1 = factory.department(county, code="D1", name="市场监管局")
    d2 = factory.department(county, code="D2", name="自然资源局")
    p5 = factory.item(d1, code="P5", prefix="A", kind="promise", promised=5, statutory=20)
    p3 = factory.item(d2, code="P3", prefix="B", kind="promise", promised=3, statutory=10)
    return {"hall": county, "d1": d1, "d2": d2, "p5": p5, "p3": p3}


# Past cases with their outcome counted by hand (today = Fri Nov 27 2026).
IMPORTED = [
    # 0: Fri Feb 13 +5 → due Fri Feb 27. Done Thu Feb 26: (13, 26] = 14, 24, 25, 26 = 4 → early
    ({"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-02-13",
      "completed_on": "2026-02-26"}, "2026-02-27", "early"),
    # 1: done Fri Feb 27: 5 working days → on_time
    ({"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-02-13",
      "completed_on": "2026-02-27"}, "2026-02-27", "on_time"),
    # 2: done Sat Feb 28 (make-up workday): 6 → overdue
    ({"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-02-13",
      "completed_on": "2026-02-28"}, "2026-02-27", "overdue"),
    # 3: Mon Feb 9 +5, hold (Feb 12, Feb 25] = Fri 13, Sat 14, Tue 24, Wed 25 = 4 held →
    #    due = 9th working day = Fri Feb 27; done Feb 27: (9, 27] = 9 − 4 = 5 → on_time
    ({"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-02-09",
      "completed_on": "2026-02-27", "holds": [{"from": "2026-02-12", "to": "2026-02-25"}]},
     "2026-02-27", "on_time"),
    # 4: Mon Apr 27 +3, hold (Apr 29, May 6] = Apr 30, May 6 = 2 → due 5th = Thu May 7;
    #    done Fri May 8: (Apr 27, May 8] = 28, 29, 30, 6, 7, 8 = 6 − 2 = 4 > 3 → overdue
    ({"item_code": "P3", "hall_code": "C1", "accepted_on": "2026-04-27",
      "completed_on": "2026-05-08", "holds": [{"from": "2026-04-29", "to": "2026-05-06"}]},
     "2026-05-07", "overdue"),
    # 5: Tue Sep 29 +3, hold (Sep 30, Oct 9] = Oct 8, 9 = 2 → due 5th: Sep 30, Oct 8, 9,
    #    Sat Oct 10, Mon Oct 12; done Sat Oct 10: (Sep 29, Oct 10] = 4 − 2 = 2 < 3 → early
    ({"item_code": "P3", "hall_code": "C1", "accepted_on": "2026-09-29",
      "completed_on": "2026-10-10", "holds": [{"from": "2026-09-30", "to": "2026-10-09"}]},
     "2026-10-12", "early"),
    # 6: Wed Apr 29 +3: Apr 30, May 6, Thu May 7; done May 7: 3 → on_time
    ({"item_code": "P3", "hall_code": "C1", "accepted_on": "2026-04-29",
      "completed_on": "2026-05-07"}, "2026-05-07", "on_time"),
    # 7: open, Mon Nov 2 +5: 3, 4, 5, 6, Mon Nov 9 → overdue on Nov 27 (open_overdue)
    ({"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-11-02"}, "2026-11-09", None),
    # 8: open, Mon Nov 23 +5 → Mon Nov 30, on hold since Tue Nov 24 (before due): not overdue
    ({"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-11-23",
      "holds": [{"from": "2026-11-24", "to": None}]}, "2026-11-30", None),
    # 9: open, Thu Nov 26 +3: Fri 27, Mon 30, Tue Dec 1 → not overdue
    ({"item_code": "P3", "hall_code": "C1", "accepted_on": "2026-11-26"}, "2026-12-01", None),
]
IMPORT_TODAY = date(2026, 11, 27)
