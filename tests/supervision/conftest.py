"""A hand-built October 2026 for the supervision tests (holidays Oct 1–7, make-up workday
Oct 10; today Thursday Oct 15)."""
from __future__ import annotations

from datetime import date

import pytest

from service_hall import privacy
from service_hall.cases.models import Case
from service_hall.extensions import db
from service_hall.ratings.models import Rating, Rectification
from tests.casework import freeze_today, seed_2026, two_department_county
from tests.factories import aware, bearer, token_for

TODAY = date(2026, 10, 15)
D = lambda m, d: date(2026, m, d)  # noqa: E731


def _case(hall, item, no, *, accepted, due, status="accepted", completed=None, outcome=None,
          elapsed=None, name=None):
    case = Case(case_no=no, hall_id=hall.id, department_id=item.department_id, item_id=item.id,
                status=status, kind="promise", promised_days=item.promised_days,
                accepted_on=accepted, due_on=due, held_days=0, completed_on=completed,
                outcome=outcome, elapsed_days=elapsed, warned_level=0, reject_reason="")
    if name:
        case.applicant_name_enc = privacy.encrypt(name)
        case.applicant_id_enc = privacy.encrypt("11010519491231002X")
        case.applicant_phone_enc = privacy.encrypt("13812341234")
    db.session.add(case)
    return case


def _rectification(hall, department, status, opened):
    rating = Rating(hall_id=hall.id, department_id=department.id, level=1, reasons=["态度生硬推诿"],
                    comment="", channel="pad", created_at=aware(2026, 10, 10))
    db.session.add(rating)
    db.session.flush()
    db.session.add(Rectification(hall_id=hall.id, department_id=department.id, rating_id=rating.id,
                                 status=status, opened_on=opened, due_on=D(11, 2), result=""))


@pytest.fixture()
def october(client, factory, monkeypatch):
    seed_2026()
    freeze_today(monkeypatch, TODAY)
    made = two_department_county(factory)
    county, p5, p3 = made["hall"], made["p5"], made["p3"]
    township = factory.hall("T1", level="township", parent=county, name="义合镇便民服务中心")
    factory.user("supervisor", "supervisor", county)
    factory.user("clerk", "clerk", county)
    _case(county, p5, "C1-a", accepted=D(10, 12), due=D(10, 20))                 # green
    _case(county, p5, "C1-b", accepted=D(10, 9), due=D(10, 16), name="张小三")    # yellow
    _case(county, p5, "C1-c", accepted=D(9, 28), due=D(10, 13))                  # red
    _case(county, p5, "C1-d", accepted=D(9, 28), due=D(10, 9), status="completed",
          completed=D(10, 9), outcome="on_time", elapsed=5)
    _case(county, p5, "C1-e", accepted=D(9, 28), due=D(10, 9), status="completed",
          completed=D(10, 12), outcome="overdue", elapsed=7)
    _case(county, p5, "C1-f", accepted=D(9, 24), due=D(10, 12), status="completed",
          completed=D(9, 29), outcome="early", elapsed=3)                        # done before Oct
    _case(county, p5, "C1-g", accepted=D(10, 14), due=D(11, 5))                  # due in Nov
    _case(county, p5, "C1-h", accepted=D(10, 12), due=D(10, 20), status="rejected")
    _case(county, p3, "C1-i", accepted=D(10, 8), due=D(10, 13))                  # D2, red
    _case(township, p5, "T1-j", accepted=D(10, 8), due=D(10, 14))                # township, red
    _rectification(county, made["d1"], "open", D(10, 10))
    _rectification(county, made["d1"], "closed", D(10, 9))
    db.session.commit()
    made["township"] = township
    made["sup"] = bearer(token_for(client, "supervisor"))
    return made


