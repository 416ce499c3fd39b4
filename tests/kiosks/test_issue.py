"""Issuing tickets: numbering, green channel, idempotency, daily cap, tracking, rollover."""
from datetime import timedelta

from sqlalchemy import func, select

from kiosks.models import Ticket
from kiosks.operations import ESTIMATE_TTL, ESTIMATES
from service_hall.caching import process_cache
from service_hall.extensions import db
from tests.factories import Desk, bearer, token_for


def test_numbers_per_prefix_start_at_001_and_green_channel_uses_v(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=2)
    desk = Desk(client, setup)
    numbers = [desk.issue("C1-I1")["number"], desk.issue("C1-I2")["number"],
               desk.issue("C1-I1")["number"], desk.issue("C1-I1", green=True)["number"]]
    assert numbers == ["A001", "B001", "A002", "V001"]


def test_numbering_is_per_hall(client, factory):
    first = factory.hall_setup("C1", windows=1, items=1)
    second = factory.hall_setup("C2", windows=1, items=1)
    assert Desk(client, first).issue("C1-I1")["number"] == "A001"
    assert Desk(client, second).issue("C2-I1")["number"] == "A001"


def test_issue_answer_has_wait_estimate_and_track_token(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    desk = Desk(client, setup)
    desk.issue("C1-I1")
    ticket = desk.issue("C1-I1")
    assert ticket["status"] == "waiting" and ticket["waiting_ahead"] == 1
    # No service history yet: the default 5 minutes per ticket ahead.
    assert ticket["estimated_wait_minutes"] == 5
    tracked = client.get(f"/api/v1/track/{ticket['track_token']}").get_json()
    assert tracked["number"] == "A002" and tracked["waiting_ahead"] == 1
    assert tracked["window_number"] is None


def test_estimate_uses_recent_mean_service_time(client, factory, app):
    setup = factory.hall_setup("C1", windows=1, items=1)
    clock = [1000.0]
    process_cache(ESTIMATES).clock = lambda: clock[0]
    desk = Desk(client, setup)
    desk.open("C1-1")
    desk.issue("C1-I1")
    desk.issue("C1-I1")
    assert desk.issue("C1-I1")["estimated_wait_minutes"] == 10  # 2 ahead × default 5 minutes
    desk.serve("C1-1")
    served = db.session.scalars(select(Ticket).where(Ticket.status == "done")).one()
    served.started_at = served.finished_at - timedelta(minutes=12)
    db.session.commit()
    # The mean is recomputed at most every ESTIMATE_TTL seconds per hall and item.
    assert desk.issue("C1-I1")["estimated_wait_minutes"] == 10  # 2 ahead × cached 5 minutes
    clock[0] += ESTIMATE_TTL + 1
    assert desk.issue("C1-I1")["estimated_wait_minutes"] == 36  # 3 ahead × 12 minutes


def test_same_idempotency_key_returns_the_first_ticket(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    headers = {**bearer(setup["kiosk"]), "Idempotency-Key": "press-1"}
    first = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"}, headers=headers)
    again = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_daily_cap_refuses_with_409_and_writes_nothing(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    setup["items"][0].daily_cap = 2
    db.session.commit()
    desk = Desk(client, setup)
    desk.issue("C1-I1")
    desk.issue("C1-I1")
    refused = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                          headers=desk.kiosk)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "daily_cap_reached"
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_unknown_item_and_item_not_offered_here(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    township_only = factory.item(setup["department"], code="TOWN", prefix="T",
                                 levels=("township",))
    desk = Desk(client, setup)
    for code in ("NOPE", township_only.code):
        answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": code},
                             headers=desk.kiosk)
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "unknown_item"


def test_kiosk_of_another_hall_cannot_issue_and_clerk_cannot_read_other_hall(client, factory):
    factory.hall_setup("C1", windows=1, items=1)
    other = factory.hall_setup("C2", windows=1, items=1)
    answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                         headers=bearer(other["kiosk"]))
    assert answer.status_code == 403
    clerk = bearer(token_for(client, "clerk-C2-1"))
    assert client.get("/api/v1/halls/C1/tickets", headers=clerk).status_code == 403
    assert client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                       headers=clerk).status_code == 403


def test_anonymous_cannot_issue(client, factory):
    factory.hall_setup("C1", windows=1, items=1)
    answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"})
    assert answer.status_code == 401


def test_list_tickets_filters_by_status(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    desk = Desk(client, setup)
    desk.open("C1-1")
    desk.issue("C1-I1")
    desk.issue("C1-I1")
    desk.call("C1-1")
    clerk = desk.clerk("C1-1")
    waiting = client.get("/api/v1/halls/C1/tickets?status=waiting", headers=clerk).get_json()
    called = client.get("/api/v1/halls/C1/tickets?status=called", headers=clerk).get_json()
    assert [t["number"] for t in waiting] == ["A002"]
    assert [(t["number"], t["window_number"]) for t in called] == [("A001", 1)]
    bad = client.get("/api/v1/halls/C1/tickets?status=nope", headers=clerk)
    assert bad.status_code == 400 and "error" in bad.get_json()


def test_rollover_closes_open_tickets_of_earlier_days(client, factory, app):
    setup = factory.hall_setup("C1", windows=1, items=1)
    desk = Desk(client, setup)
    desk.open("C1-1")
    desk.issue("C1-I1")
    desk.issue("C1-I1")
    desk.call("C1-1")
    for ticket in db.session.scalars(select(Ticket)):
        ticket.service_day -= timedelta(days=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["hall", "rollover"])
    assert "Closed 2" in result.output
    db.session.expire_all()
    assert {t.status for t in db.session.scalars(select(Ticket))} == {"no_show"}
    windows = client.get("/api/v1/halls/C1/windows").get_json()
    assert windows[0]["state"] == "idle"


def test_a_new_day_starts_again_at_001(client, factory, monkeypatch):
    import kiosks.api
    from service_hall.clock import now
    setup = factory.hall_setup("C1", windows=1, items=1)
    desk = Desk(client, setup)
    assert [desk.issue("C1-I1")["number"], desk.issue("C1-I1")["number"]] == ["A001", "A002"]
    tomorrow = now() + timedelta(days=1)
    monkeypatch.setattr(kiosks.api, "now", lambda: tomorrow)
    assert desk.issue("C1-I1")["number"] == "A001"
