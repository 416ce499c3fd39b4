"""Errand figures per village point and township: logged, completed, returned, mean days."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from service_hall.errands.models import Errand
from service_hall.extensions import db
from tests.casework import freeze_today
from tests.factories import bearer, token_for
from tests.villages import log, village_world


@pytest.fixture()
def world(client, factory, monkeypatch):
    freeze_today(monkeypatch, date(2026, 11, 23))
    world = village_world(client, factory)
    factory.user("supervisor", "supervisor", world["county"])
    world["supervisor"] = bearer(token_for(client, "supervisor"))
    return world


def carry(client, world, errand, *, back: bool):
    client.post(f"/api/v1/errands/{errand['id']}/submit", headers=world["agent"], json={})
    case_id = client.post(f"/api/v1/errands/{errand['id']}/accept",
                          headers=world["clerk"]).get_json()["case_id"]
    client.post(f"/api/v1/cases/{case_id}/complete", headers=world["clerk"])
    if back:
        assert client.post(f"/api/v1/errands/{errand['id']}/return",
                           headers=world["agent"]).status_code == 200


def test_counts_and_mean_days_per_point_and_township(client, world):
    first, second, _third = log(client, world), log(client, world), log(client, world)
    carry(client, world, first, back=True)
    carry(client, world, second, back=False)
    # Make the returned one take exactly 3 days from logging to hand-back
    row = db.session.scalars(select(Errand).where(Errand.errand_no == first["errand_no"])).one()
    row.returned_at = row.logged_at + timedelta(days=3)
    db.session.commit()

    point = client.get("/api/v1/stats/errands?hall=T1V1", headers=world["supervisor"])
    assert point.status_code == 200, point.get_json()
    figures = point.get_json()
    assert (figures["logged"], figures["completed"], figures["returned"],
            figures["mean_days"]) == (3, 2, 1, 3.0)

    township = client.get("/api/v1/stats/errands?hall=T1", headers=world["supervisor"]).get_json()
    assert [(g["hall_code"], g["logged"], g["completed"], g["returned"])
            for g in township["groups"]] == [("T1V1", 3, 2, 1), ("T1V2", 0, 0, 0)]
    county = client.get("/api/v1/stats/errands?hall=C1", headers=world["supervisor"]).get_json()
    assert [(g["hall_code"], g["logged"], g["mean_days"]) for g in county["groups"]] == [
        ("T1", 3, 3.0)]
    assert client.get("/api/v1/stats/errands?hall=C1", headers=world["agent"]).status_code == 403
    assert client.get("/api/v1/stats/errands", headers=world["supervisor"]).status_code == 400
