from sqlalchemy import select

from service_hall.audit.models import AuditEntry
from service_hall.extensions import db
from tests.casework import seed_2026
from tests.factories import bearer, token_for


def test_due_endpoint_is_public_and_follows_the_calendar(client, factory):
    seed_2026()
    # Fri Feb 13 +5: Sat 14 (make-up), Tue 24, 25, 26, Fri 27
    answer = client.get("/api/v1/calendar/due?from=2026-02-13&working_days=5")
    assert answer.status_code == 200
    assert answer.get_json()["due_on"] == "2026-02-27"


def test_due_endpoint_refuses_a_year_without_data(client, factory):
    seed_2026()
    answer = client.get("/api/v1/calendar/due?from=2027-01-04&working_days=3")
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "calendar_missing"
    assert "2027" in answer.get_json()["error"]["message"]
    # From 2026 into 2027: Dec 31 is the 1st working day, the 2nd is unknown
    spill = client.get("/api/v1/calendar/due?from=2026-12-30&working_days=2")
    assert spill.status_code == 422 and spill.get_json()["error"]["code"] == "calendar_missing"


def test_due_endpoint_bad_parameters_are_400(client, factory):
    seed_2026()
    for query in ("from=2026-02-30&working_days=3", "from=2026-02-13&working_days=x",
                  "from=2026-02-13&working_days=-1", "working_days=3", "from=2026-02-13"):
        answer = client.get(f"/api/v1/calendar/due?{query}")
        assert answer.status_code == 400, query
        assert answer.get_json()["error"]["code"] in ("invalid_date", "invalid_number")


def test_year_listing(client, factory):
    seed_2026()
    days = client.get("/api/v1/calendar?year=2026").get_json()["days"]
    assert len(days) == 365
    by_date = {d["date"]: d for d in days}
    assert by_date["2026-02-14"]["kind"] == "makeup_workday"
    assert by_date["2026-02-16"] == {"date": "2026-02-16", "kind": "holiday", "note": "春节"}
    assert by_date["2026-09-20"]["kind"] == "makeup_workday"   # a Sunday
    assert by_date["2026-03-01"]["kind"] == "weekend"
    assert by_date["2026-03-02"]["kind"] == "workday"
    assert client.get("/api/v1/calendar?year=2027").status_code == 422


def test_admin_edit_changes_due_dates_at_once(client, factory):
    seed_2026()
    hall = factory.hall("C1")
    factory.user("admin", "admin", hall)
    # Mon Mar 2 +1 = Tue Mar 3 … until an administrator declares Mar 3 a holiday
    assert client.get("/api/v1/calendar/due?from=2026-03-02&working_days=1"
                      ).get_json()["due_on"] == "2026-03-03"
    answer = client.put("/api/v1/calendar/days/2026-03-03", headers=bearer(token_for(client, "admin")),
                        json={"kind": "holiday", "note": "临时放假"})
    assert answer.status_code == 200
    assert answer.get_json() == {"date": "2026-03-03", "kind": "holiday", "note": "临时放假"}
    assert client.get("/api/v1/calendar/due?from=2026-03-02&working_days=1"
                      ).get_json()["due_on"] == "2026-03-04"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.set_day")).one()
    assert (entry.actor_label, entry.from_state, entry.to_state) == ("admin", "workday", "holiday")


def test_only_admins_edit_and_only_covered_years(client, factory):
    seed_2026()
    setup = factory.hall_setup("C1", windows=1, items=1)
    factory.user("admin", "admin", setup["hall"])
    clerk = bearer(token_for(client, setup["clerks"][0].username))
    assert client.put("/api/v1/calendar/days/2026-03-03", headers=clerk,
                      json={"kind": "holiday"}).status_code == 403
    assert client.put("/api/v1/calendar/days/2026-03-03",
                      json={"kind": "holiday"}).status_code == 401
    admin = bearer(token_for(client, "admin"))
    missing = client.put("/api/v1/calendar/days/2027-01-01", headers=admin, json={"kind": "holiday"})
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "calendar_missing"
    assert client.put("/api/v1/calendar/days/2026-03-03", headers=admin,
                      json={"kind": "party"}).status_code == 422
    assert client.put("/api/v1/calendar/days/2026-13-03", headers=admin,
                      json={"kind": "holiday"}).status_code == 400


def test_seed_command_and_weekends_only_year(app, factory):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hall", "calendar-seed", "--from-year", "2026", "--to-year", "2026"])
    assert result.exit_code == 0 and "2026" in result.output
    again = runner.invoke(args=["hall", "calendar-seed", "--from-year", "2026", "--to-year", "2026"])
    assert "nothing changed" in again.output
    refused = runner.invoke(args=["hall", "calendar-seed", "--from-year", "2027"])
    assert refused.exit_code != 0 and "2004–2026" in refused.output
    made = runner.invoke(args=["hall", "calendar-seed", "--from-year", "2027", "--weekends-only"])
    assert made.exit_code == 0
    client = app.test_client()
    # Fri Jan 1 2027 +1 by weekdays only (holidays still to be entered): Mon Jan 4
    assert client.get("/api/v1/calendar/due?from=2027-01-01&working_days=1"
                      ).get_json()["due_on"] == "2027-01-04"
