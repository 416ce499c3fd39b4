"""Completion figures over an imported set, counted by hand (see tests.casework.IMPORTED)."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosks.models import Ticket
from service_hall.extensions import db
from tests.casework import IMPORT_TODAY, IMPORTED, freeze_today, seed_2026, two_department_county
from tests.factories import bearer, token_for


@pytest.fixture()
def county(client, factory, monkeypatch):
    seed_2026()
    freeze_today(monkeypatch, IMPORT_TODAY)
    made = two_department_county(factory)
    factory.user("admin", "admin", made["hall"])
    factory.user("supervisor", "supervisor", made["hall"])
    answer = client.post("/api/v1/cases/import", headers=bearer(token_for(client, "admin")),
                         json=[row for row, _, _ in IMPORTED])
    assert answer.status_code == 201
    made["sup"] = bearer(token_for(client, "supervisor"))
    return made


def test_rates_over_the_imported_set(client, county):
    answer = client.get("/api/v1/stats/completion?hall=C1&from=2026-01-01&to=2026-12-31",
                        headers=county["sup"])
    assert answer.status_code == 200
    figures = answer.get_json()
    # completed rows 0–6: early = rows 0, 5 (2); on time = rows 1, 3, 6 (3);
    # overdue = rows 2, 4 (2); on-time rate = (2 + 3) / 7 = 0.7143
    # open rows 7, 8, 9 (3); open overdue: row 7 only (due Nov 9, today Nov 27)
    assert {k: figures[k] for k in ("completed", "early", "on_time", "overdue", "on_time_rate",
                                    "open", "open_overdue")} == {
        "completed": 7, "early": 2, "on_time": 3, "overdue": 2, "on_time_rate": 0.7143,
        "open": 3, "open_overdue": 1}
    assert figures["early_rate"] == 0.2857 and figures["overdue_rate"] == 0.2857


def test_period_and_department_filters(client, county):
    # Completed Feb 27 – May 7: rows 1 (Feb 27), 2 (Feb 28), 3 (Feb 27), 6 (May 7)
    # → on time 1, 3, 6 = 3; overdue 2 = 1; rate 3/4; no open case accepted by May 7
    figures = client.get("/api/v1/stats/completion?from=2026-02-27&to=2026-05-07",
                         headers=county["sup"]).get_json()
    assert (figures["completed"], figures["early"], figures["on_time"], figures["overdue"],
            figures["on_time_rate"], figures["open"]) == (4, 0, 3, 1, 0.75, 0)
    # Department D2 (item P3): rows 4 (overdue), 5 (early), 6 (on time); open row 9
    d2 = client.get("/api/v1/stats/completion?department=D2&from=2026-01-01&to=2026-12-31",
                    headers=county["sup"]).get_json()
    assert (d2["completed"], d2["early"], d2["on_time"], d2["overdue"], d2["on_time_rate"],
            d2["open"], d2["open_overdue"]) == (3, 1, 1, 1, 0.6667, 1, 0)


def test_no_completed_cases_gives_null_rates(client, county):
    figures = client.get("/api/v1/stats/completion?from=2026-01-01&to=2026-01-31",
                         headers=county["sup"]).get_json()
    assert figures["completed"] == 0 and figures["on_time_rate"] is None


def test_grouping_by_department_and_month(client, county):
    by_department = client.get("/api/v1/stats/completion?group_by=department&from=2026-01-01"
                               "&to=2026-12-31", headers=county["sup"]).get_json()["groups"]
    rows = {g["key"]: g for g in by_department}
    # D1 (P5): rows 0 early, 1 on time, 2 overdue, 3 on time → 3/4; open rows 7 (overdue), 8
    assert (rows["D1"]["completed"], rows["D1"]["on_time_rate"], rows["D1"]["open"],
            rows["D1"]["open_overdue"]) == (4, 0.75, 2, 1)
    assert rows["D1"]["name"] == "市场监管局"
    # D2 (P3): rows 4 overdue, 5 early, 6 on time → 2/3; open row 9
    assert (rows["D2"]["completed"], rows["D2"]["on_time_rate"], rows["D2"]["open"]) == (
        3, 0.6667, 1)
    by_month = client.get("/api/v1/stats/completion?group_by=month&from=2026-01-01&to=2026-12-31",
                          headers=county["sup"]).get_json()["groups"]
    # Feb: rows 0–3 (early 1, on time 2, overdue 1); May: rows 4, 6; Oct: row 5
    assert [(g["key"], g["early"], g["on_time"], g["overdue"]) for g in by_month] == [
        ("2026-02", 1, 2, 1), ("2026-05", 0, 1, 1), ("2026-10", 1, 0, 0)]
    bad = client.get("/api/v1/stats/completion?group_by=colour", headers=county["sup"])
    assert bad.status_code == 400
    assert client.get("/api/v1/stats/completion?from=2026-05-01&to=2026-04-01",
                      headers=county["sup"]).status_code == 400


def test_completion_scope(client, county, factory):
    setup = factory.hall_setup("C2", windows=1, items=1)
    factory.user("sup2", "supervisor", setup["hall"])
    other = bearer(token_for(client, "sup2"))
    assert client.get("/api/v1/stats/completion?hall=C1", headers=other).status_code == 403
    assert client.get("/api/v1/stats/completion?department=D1", headers=other).status_code == 403
    # Without a hall, a supervisor sees only their own county: none of C1's cases
    assert client.get("/api/v1/stats/completion?from=2026-01-01",
                      headers=other).get_json()["completed"] == 0
    clerk = bearer(token_for(client, setup["clerks"][0].username))
    assert client.get("/api/v1/stats/completion", headers=clerk).status_code == 403
    assert client.get("/api/v1/stats/completion").status_code == 401


def test_live_figures(client, factory):
    setup = factory.hall_setup("C1", windows=2, items=2)
    factory.user("supervisor", "supervisor", setup["hall"])
    sup = bearer(token_for(client, "supervisor"))
    kiosk = bearer(setup["kiosk"])
    for code in ("C1-I1", "C1-I1", "C1-I2"):
        assert client.post("/api/v1/halls/C1/tickets", headers=kiosk,
                           json={"item_code": code}).status_code == 201
    # One ticket called 6 minutes after issue, another 10 minutes: mean wait 8 minutes
    ticket_a, ticket_b = db.session.scalars(select(Ticket).order_by(Ticket.number).limit(2)).all()
    for ticket, minutes in ((ticket_a, 6), (ticket_b, 10)):
        ticket.status = "serving"
        ticket.first_called_at = ticket.issued_at + timedelta(minutes=minutes)
    db.session.commit()
    live = client.get("/api/v1/stats/live?hall=C1", headers=sup).get_json()
    assert live["waiting"] == [{"item_code": "C1-I2", "item_name": "事项C1-I2", "waiting": 1}]
    assert live["mean_wait_minutes"] == 8.0
    assert [w["number"] for w in live["windows"]] == [1, 2]
    assert live["windows"][0]["state"] == "closed"
    other = factory.hall_setup("C2", windows=1, items=1)
    factory.user("sup2", "supervisor", other["hall"])
    assert client.get("/api/v1/stats/live?hall=C1",
                      headers=bearer(token_for(client, "sup2"))).status_code == 403
    assert client.get("/api/v1/stats/live?hall=C1",
                      headers=bearer(token_for(client, setup["clerks"][0].username))
                      ).status_code == 403
    assert client.get("/api/v1/stats/live", headers=sup).status_code == 400
