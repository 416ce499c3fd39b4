"""An agent sees and changes only their own village point's errands (SPEC 3.7)."""
from datetime import date

import pytest
from sqlalchemy import select

from service_hall.errands.models import Errand
from service_hall.extensions import db
from tests.casework import freeze_today
from tests.factories import bearer, token_for
from tests.villages import log, page_login, village_world


@pytest.fixture()
def world(client, factory, monkeypatch):
    freeze_today(monkeypatch, date(2026, 11, 23))
    world = village_world(client, factory)
    world["errand"] = log(client, world)
    return world


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/v1/errands/{id}", None),
    ("post", "/api/v1/errands/{id}/submit", {}),
    ("post", "/api/v1/errands/{id}/return", None),
])
def test_another_points_agent_is_refused(client, world, method, path, body):
    url = path.format(id=world["errand"]["id"])
    kwargs = {"json": body} if body is not None else {}
    refused = getattr(client, method)(url, headers=world["other_agent"], **kwargs)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "out_of_scope"
    assert getattr(client, method)(url, **kwargs).status_code == 401
    assert db.session.scalars(select(Errand.status)).all() == ["logged"]


def test_listings_are_per_point(client, world):
    mine = client.get("/api/v1/errands", headers=world["agent"]).get_json()
    assert [e["errand_no"] for e in mine] == [world["errand"]["errand_no"]]
    assert client.get("/api/v1/errands", headers=world["other_agent"]).get_json() == []
    # Agents do not read a hall's inbox; a clerk of another hall gets 403
    assert client.get("/api/v1/halls/T1/errands", headers=world["agent"]).status_code == 403
    assert client.get("/api/v1/halls/T1/errands",
                      headers=world["county_clerk"]).status_code == 403


def test_other_agents_page_does_not_show_it(client, world):
    assert page_login(client, "agent-T1V2") == "/agent"  # agents land on their phone page
    page = client.get("/agent").get_data(as_text=True)
    assert world["errand"]["errand_no"] not in page
    assert client.get(f"/agent/errands/{world['errand']['id']}/receipt").status_code == 403


def test_clerk_sees_only_errands_handed_to_their_hall(client, world, factory):
    url = f"/api/v1/errands/{world['errand']['id']}"
    assert client.get(url, headers=world["clerk"]).status_code == 403  # not submitted yet
    client.post(url + "/submit", headers=world["agent"], json={})
    assert client.get(url, headers=world["clerk"]).status_code == 200
    assert client.get(url, headers=world["county_clerk"]).status_code == 403
