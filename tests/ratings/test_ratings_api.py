"""Ratings (SPEC 3.5): by QR track token or window pad, once per ticket and case; bad ratings
open a rectification due by the working-day rule."""
from datetime import date

import pytest
from sqlalchemy import func, select

from service_hall.auth.models import Device
from service_hall.extensions import db
from service_hall.ratings.models import Rating, Rectification
from service_hall.ratings.operations import seed_rating_reasons
from tests.casework import APPLICANT, freeze_today, seed_2026, served_ticket
from tests.factories import bearer, token_for


@pytest.fixture()
def hall(client, factory, monkeypatch):
    seed_2026()
    seed_rating_reasons()
    db.session.commit()
    freeze_today(monkeypatch, date(2026, 9, 18))  # Fri Sep 18 2026
    setup = factory.hall_setup("C1", windows=2, items=1)
    pad = factory.device(setup["hall"], kind="pad", name="pad-1")
    device = db.session.scalars(select(Device).where(Device.kind == "pad")).one()
    device.window_id = setup["windows"][0].id
    db.session.commit()
    factory.user("supervisor", "supervisor", setup["hall"])
    setup["pad"] = bearer(pad)
    setup["sup"] = bearer(token_for(client, "supervisor"))
    setup["ticket"] = served_ticket(setup["hall"], setup["items"][0], setup["windows"][0])
    return setup


def reason_ids(client, level):
    levels = client.get("/api/v1/ratings/reasons").get_json()
    return [r["id"] for r in next(l for l in levels if l["level"] == level)["reasons"]]


def test_reasons_are_listed_per_level(client, hall):
    levels = client.get("/api/v1/ratings/reasons").get_json()
    assert [(l["level"], l["label"]) for l in levels] == [
        (5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")]
    assert all(l["reasons"] for l in levels)


def test_rating_of_one_opens_rectification_due_in_15_working_days(client, hall):
    reasons = reason_ids(client, 1)[:1]
    answer = client.post("/api/v1/ratings", json={
        "track_token": hall["ticket"].track_token, "level": 1, "reasons": reasons})
    assert answer.status_code == 201
    rating = answer.get_json()
    # Fri Sep 18 + 15 working days: Sun Sep 20 (make-up) 1, 21 2, 22 3, 23 4, 24 5
    # (Sep 25–27 Mid-Autumn), 28 6, 29 7, 30 8 (Oct 1–7 National Day), Oct 8 9, 9 10,
    # Sat Oct 10 (make-up) 11, 12 12, 13 13, 14 14, Thu Oct 15 15
    assert rating["rectification_due_on"] == "2026-10-15"
    listed = client.get("/api/v1/rectifications?status=open", headers=hall["sup"]).get_json()
    assert [(r["due_on"], r["department_code"], r["level"]) for r in listed] == [
        ("2026-10-15", "C1-D1", 1)]
    closed = client.post(f"/api/v1/rectifications/{listed[0]['id']}/close", headers=hall["sup"],
                         json={"result": "已对窗口人员批评教育并整改"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert client.post(f"/api/v1/rectifications/{listed[0]['id']}/close", headers=hall["sup"],
                       json={"result": "again"}).status_code == 409
    assert client.get("/api/v1/rectifications?status=open", headers=hall["sup"]).get_json() == []


def test_second_rating_of_the_same_ticket_is_refused(client, hall):
    first = client.post("/api/v1/ratings", json={"track_token": hall["ticket"].track_token,
                                                 "level": 5})
    assert first.status_code == 201 and first.get_json()["rectification_id"] is None
    again = client.post("/api/v1/ratings", headers=hall["pad"],
                        json={"ticket_id": str(hall["ticket"].id), "level": 2})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    assert db.session.scalar(select(func.count()).select_from(Rating)) == 1
    assert db.session.scalar(select(func.count()).select_from(Rectification)) == 0


def test_pad_rates_its_window_and_cases_once(client, hall):
    clerk = bearer(token_for(client, hall["clerks"][0].username))
    case = client.post("/api/v1/cases", headers=clerk, json={
        "item_code": "C1-I1", "ticket_id": str(hall["ticket"].id), "applicant": APPLICANT})
    assert case.status_code == 201
    case_id = case.get_json()["id"]
    assert client.post("/api/v1/ratings", headers=hall["pad"],
                       json={"case_id": case_id, "level": 4}).status_code == 201
    assert client.post("/api/v1/ratings", json={"track_token": hall["ticket"].track_token,
                                                "subject": "case", "level": 3}).status_code == 409
    # The ticket itself can still be rated once
    assert client.post("/api/v1/ratings", json={"track_token": hall["ticket"].track_token,
                                                "level": 4}).status_code == 201


def test_rating_input_is_checked(client, hall):
    token = hall["ticket"].track_token
    wrong_level_reason = reason_ids(client, 5)[:1]
    bad = client.post("/api/v1/ratings", json={"track_token": token, "level": 1,
                                               "reasons": wrong_level_reason})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_reason"
    assert client.post("/api/v1/ratings", json={"track_token": token, "level": 6}).status_code == 422
    assert client.post("/api/v1/ratings", json={"track_token": "nope", "level": 5}).status_code == 404
    waiting = served_ticket(hall["hall"], hall["items"][0], hall["windows"][0], status="waiting",
                            number="A002")
    assert client.post("/api/v1/ratings", json={"track_token": waiting.track_token,
                                                "level": 5}).status_code == 409


def test_rating_scope(client, hall, factory):
    # No track token and no pad: 401; a pad of another window or hall: 403
    assert client.post("/api/v1/ratings", json={"ticket_id": str(hall["ticket"].id),
                                                "level": 5}).status_code == 401
    other_window_ticket = served_ticket(hall["hall"], hall["items"][0], hall["windows"][1],
                                        number="A003")
    assert client.post("/api/v1/ratings", headers=hall["pad"], json={
        "ticket_id": str(other_window_ticket.id), "level": 5}).status_code == 403
    other = factory.hall_setup("C2", windows=1, items=1)
    other_pad = bearer(factory.device(other["hall"], kind="pad", name="pad-2"))
    assert client.post("/api/v1/ratings", headers=other_pad, json={
        "ticket_id": str(hall["ticket"].id), "level": 5}).status_code == 403


def test_rectification_scope(client, hall, factory):
    client.post("/api/v1/ratings", json={"track_token": hall["ticket"].track_token, "level": 2})
    rect_id = client.get("/api/v1/rectifications", headers=hall["sup"]).get_json()[0]["id"]
    other = factory.hall_setup("C2", windows=1, items=1)
    factory.user("sup2", "supervisor", other["hall"])
    sup2 = bearer(token_for(client, "sup2"))
    assert client.get("/api/v1/rectifications", headers=sup2).get_json() == []
    assert client.get("/api/v1/rectifications?hall=C1", headers=sup2).status_code == 403
    assert client.post(f"/api/v1/rectifications/{rect_id}/close", headers=sup2,
                       json={"result": "x"}).status_code == 403
    clerk = bearer(token_for(client, hall["clerks"][0].username))
    assert client.get("/api/v1/rectifications", headers=clerk).status_code == 403
    assert client.post(f"/api/v1/rectifications/{rect_id}/close", headers=clerk,
                       json={"result": "x"}).status_code == 403


def test_bad_rating_near_year_end_is_kept_and_gets_its_due_date_once_the_calendar_arrives(
        client, hall, monkeypatch, app):
    from service_hall.calendar.operations import seed_year
    freeze_today(monkeypatch, date(2026, 12, 28))  # 15 working days later falls in 2027
    answer = client.post("/api/v1/ratings", json={
        "track_token": hall["ticket"].track_token, "level": 2, "reasons": reason_ids(client, 2)[:1]})
    assert answer.status_code == 201  # the citizen's rating is never refused for the calendar
    assert answer.get_json()["rectification_due_on"] is None
    seed_year(2027, weekends_only=True)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["hall", "cases-warn"])
    assert "Gave 1 rectifications their due date" in result.output, result.output
    rect = db.session.scalars(select(Rectification)).one()
    # Mon Dec 28 + 15 working days: Dec 29 1, 30 2, 31 3, then 2027 weekdays only:
    # Jan 1 (Fri) 4, 4–8 5–9, 11–15 10–14, Mon Jan 18 15
    assert rect.due_on == date(2027, 1, 18)
