"""Duty roster (轮流坐班): every working day of a month gets exactly one cadre per village
point, in turn, skipping cadres on leave (SPEC 3.8). November 2026 has 21 working days."""
from datetime import date

import pytest
from sqlalchemy import select

from service_hall.calendar.rules import snapshot
from service_hall.extensions import db
from service_hall.staff.models import RosterDay
from service_hall.staff.operations import working_days_of
from tests.casework import freeze_today
from tests.factories import bearer, token_for
from tests.villages import village_world


@pytest.fixture()
def world(client, factory, monkeypatch):
    freeze_today(monkeypatch, date(2026, 10, 28))
    world = village_world(client, factory)
    for username, name in (("cadre-a", "李明"), ("cadre-b", "张华")):
        user = factory.user(username, "clerk", world["township"], name=name)
        user.phone = "0912-5600" + ("111" if username == "cadre-a" else "222")
    db.session.commit()
    world["township_clerk"] = world["clerk"]
    assigned = client.put("/api/v1/villages/T1V1/cadres", headers=world["clerk"],
                          json={"usernames": ["cadre-a", "cadre-b"]})
    assert assigned.status_code == 200, assigned.get_json()
    assert [c["username"] for c in assigned.get_json()] == ["agent-T1V1", "cadre-a", "cadre-b"]
    return world


def roster(client, world, point="T1V1", month="2026-11"):
    answer = client.post(f"/api/v1/villages/{point}/roster?month={month}", headers=world["clerk"])
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["days"]


def november_working_days() -> list[str]:
    return [d.isoformat() for d in working_days_of(date(2026, 11, 1), date(2026, 11, 30),
                                                   snapshot())]


def test_every_working_day_gets_one_cadre_in_turn(client, world):
    days = roster(client, world)
    working = november_working_days()
    assert len(working) == 21
    assert [d["day"] for d in days] == working  # exactly the working days, each once
    assert "2026-11-07" not in working  # a Saturday
    order = [d["username"] for d in days]
    assert order[:6] == ["agent-T1V1", "cadre-a", "cadre-b"] * 2
    assert {order.count(u) for u in set(order)} == {7}
    other = roster(client, world, point="T1V2")
    assert [d["day"] for d in other] == working
    assert {d["username"] for d in other} == {"agent-T1V2"}
    rows = db.session.scalars(select(RosterDay)).all()
    assert len(rows) == 42 and len({(r.hall_id, r.day) for r in rows}) == 42


def test_leave_marked_on_the_board_is_skipped(client, world):
    cadre_a = bearer(token_for(client, "cadre-a"))
    marked = client.put("/api/v1/staff/whereabouts", headers=cadre_a, json={
        "status": "leave", "note": "探亲", "from": "2026-11-04",
        "expected_return": "2026-11-10T09:00:00+08:00"})
    assert marked.status_code == 200, marked.get_json()
    days = {d["day"]: d["username"] for d in roster(client, world)}
    leave = [day for day in days if "2026-11-04" <= day <= "2026-11-10"]
    assert leave == ["2026-11-04", "2026-11-05", "2026-11-06", "2026-11-09", "2026-11-10"]
    assert all(days[day] != "cadre-a" for day in leave)
    assert days["2026-11-11"] is not None and "cadre-a" in days.values()
    assert list(days) == november_working_days()
    # Turn order continues around the leave: Nov 2 agent, 3 cadre-a, 4 (a's turn would be b)
    assert [days[d] for d in ("2026-11-02", "2026-11-03", "2026-11-04")] == [
        "agent-T1V1", "cadre-a", "cadre-b"]


def test_everybody_on_leave_is_refused_and_nothing_written(client, world, factory):
    alone = client.post("/api/v1/villages/T1V2/roster?month=2026-11", headers=world["clerk"])
    assert alone.status_code == 201
    agent = bearer(token_for(client, "agent-T1V2"))
    client.put("/api/v1/staff/whereabouts", headers=agent,
               json={"status": "leave", "from": "2026-11-16",
                     "expected_return": "2026-11-16T18:00:00+08:00"})
    again = client.post("/api/v1/villages/T1V2/roster?month=2026-11", headers=world["clerk"])
    assert again.status_code == 409 and "2026-11-16" in again.get_json()["error"]["message"]
    kept = client.get("/api/v1/villages/T1V2/roster?month=2026-11").get_json()["days"]
    assert len(kept) == 21  # the earlier roster is left as it was


def test_edit_one_day_and_refusals(client, world):
    roster(client, world)
    edited = client.put("/api/v1/villages/T1V1/roster/2026-11-02", headers=world["clerk"],
                        json={"username": "cadre-b"})
    assert edited.status_code == 200, edited.get_json()
    day = edited.get_json()["days"][0]
    assert day == {"day": "2026-11-02", "username": "cadre-b", "name": "张华",
                   "phone": "0912-5600222", "edited": True}
    weekend = client.put("/api/v1/villages/T1V1/roster/2026-11-07", headers=world["clerk"],
                         json={"username": "cadre-b"})
    assert weekend.status_code == 422
    stranger = client.put("/api/v1/villages/T1V1/roster/2026-11-03", headers=world["clerk"],
                          json={"username": "agent-T1V2"})
    assert stranger.status_code == 422 and stranger.get_json()["error"]["code"] == "not_a_cadre"
    other_agent = client.post("/api/v1/villages/T1V1/roster?month=2026-11",
                              headers=world["other_agent"])
    assert other_agent.status_code == 403
    bad = client.post("/api/v1/villages/T1V1/roster?month=2026-13", headers=world["clerk"])
    assert bad.status_code == 422
    assert client.post("/api/v1/villages/T1/roster?month=2026-11",
                       headers=world["clerk"]).status_code == 404


def test_todays_cadre_on_the_village_page_and_the_card(client, world, monkeypatch):
    days = {d["day"]: d for d in roster(client, world)}
    freeze_today(monkeypatch, date(2026, 11, 3))
    assert days["2026-11-03"]["username"] == "cadre-a"
    page = client.get("/v/T1V1").get_data(as_text=True)
    assert "今日坐班" in page and "李明" in page and "0912-5600111" in page
    card = client.get("/v/T1V1/card").get_data(as_text=True)
    assert "今日坐班：李明" in card
    freeze_today(monkeypatch, date(2026, 11, 7))  # Saturday: nobody on duty
    assert "今日无人坐班" in client.get("/v/T1V1").get_data(as_text=True)


def test_cli_rosters_every_point_under_a_township(app, client, world):
    result = app.test_cli_runner().invoke(args=["hall", "roster", "--month", "2026-11",
                                                "--hall", "T1"])
    assert result.exit_code == 0, result.output
    assert "2 village points rostered, 0 skipped" in result.output
    for point in ("T1V1", "T1V2"):
        days = client.get(f"/api/v1/villages/{point}/roster?month=2026-11").get_json()["days"]
        assert [d["day"] for d in days] == november_working_days()
    missing = app.test_cli_runner().invoke(args=["hall", "roster", "--month", "2031-01"])
    assert missing.exit_code != 0 and "2031" in missing.output
