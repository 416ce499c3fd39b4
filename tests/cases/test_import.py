"""``POST /api/v1/cases/import``: computed due dates and outcomes, all or nothing."""
from datetime import date

import pytest
from sqlalchemy import func, select

from service_hall.cases.models import Case, CaseHold
from service_hall.extensions import db
from tests.casework import (IMPORT_TODAY, IMPORTED, freeze_today, seed_2026,
                            two_department_county)
from tests.factories import bearer, token_for


@pytest.fixture()
def county(client, factory, monkeypatch):
    seed_2026()
    freeze_today(monkeypatch, IMPORT_TODAY)
    made = two_department_county(factory)
    factory.user("admin", "admin", made["hall"])
    made["admin"] = bearer(token_for(client, "admin"))
    return made


def test_import_computes_due_dates_and_outcomes(client, county):
    answer = client.post("/api/v1/cases/import", headers=county["admin"],
                         json=[row for row, _, _ in IMPORTED])
    assert answer.status_code == 201, answer.get_json()
    rows = answer.get_json()
    assert [(r["due_on"], r["outcome"]) for r in rows] == [(due, result) for _, due, result in IMPORTED]
    assert [r["status"] for r in rows[7:]] == ["accepted", "on_hold", "accepted"]
    assert rows[3]["elapsed_working_days"] == 5 and rows[4]["elapsed_working_days"] == 4
    assert db.session.scalar(select(func.count()).select_from(Case)) == 10
    assert db.session.scalar(select(func.count()).select_from(CaseHold)) == 4
    # Case numbers by hall and acceptance day: the three of Feb 13 are 0001–0003
    numbers = sorted(r["case_no"] for r in rows if r["accepted_on"] == "2026-02-13")
    assert numbers == ["C1-20260213-0001", "C1-20260213-0002", "C1-20260213-0003"]


def test_import_is_all_or_nothing_with_row_errors(client, county):
    rows = [row for row, _, _ in IMPORTED[:3]] + [
        {"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-03-02",
         "completed_on": "2026-03-01"},
        {"item_code": "NOPE", "hall_code": "C1", "accepted_on": "2026-03-02"},
        {"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-03-02",
         "completed_on": "2026-03-10", "holds": [{"from": "2026-03-01", "to": "2026-03-05"}]},
        {"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-12-30",
         "completed_on": "2027-01-05"},
    ]
    answer = client.post("/api/v1/cases/import", headers=county["admin"], json=rows)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "import_rejected"
    assert [(d["row"], d["code"]) for d in error["details"]] == [
        (3, "invalid"), (4, "unknown_item"), (5, "invalid"), (6, "invalid")]
    # row 3: completed before accepted; 4: unknown item; 5: hold before acceptance;
    # 6: completed in the future (today is Nov 27 2026)
    assert "completed_on" in error["details"][0]["message"]
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_import_refuses_uncovered_years(client, county, monkeypatch):
    freeze_today(monkeypatch, date(2027, 2, 1))
    # Accepted Wed Dec 30 2026 +5 needs January 2027, which has no calendar data
    answer = client.post("/api/v1/cases/import", headers=county["admin"], json=[
        {"item_code": "P5", "hall_code": "C1", "accepted_on": "2026-12-30",
         "completed_on": "2027-01-08"}])
    assert answer.status_code == 422
    assert answer.get_json()["error"]["details"][0]["code"] == "calendar_missing"


def test_import_needs_an_admin_in_scope(client, county, factory):
    other = factory.hall("C2")
    factory.user("admin2", "admin", other)
    outsider = client.post("/api/v1/cases/import", headers=bearer(token_for(client, "admin2")),
                           json=[IMPORTED[0][0]])
    assert outsider.status_code == 403  # out of scope: a refusal, with the row report
    assert outsider.get_json()["error"]["details"][0]["code"] == "out_of_scope"
    factory.user("sup", "supervisor", county["hall"])
    assert client.post("/api/v1/cases/import", headers=bearer(token_for(client, "sup")),
                       json=[IMPORTED[0][0]]).status_code == 403
    assert client.post("/api/v1/cases/import", json=[IMPORTED[0][0]]).status_code == 401
    assert client.post("/api/v1/cases/import", headers=county["admin"],
                       json=[{"item_code": "P5"}]).status_code == 422
