"""Who may call each case endpoint: a clerk of another hall gets 403, nobody gets 401."""
from datetime import date

import pytest

from tests.casework import APPLICANT, freeze_today, seed_2026
from tests.factories import bearer, token_for


@pytest.fixture()
def world(client, factory, monkeypatch):
    seed_2026()
    freeze_today(monkeypatch, date(2026, 2, 13))
    home = factory.hall_setup("C1", windows=1, items=1)
    away = factory.hall_setup("C2", windows=1, items=1)
    clerk = bearer(token_for(client, home["clerks"][0].username))
    case = client.post("/api/v1/cases", headers=clerk,
                       json={"item_code": "C1-I1", "applicant": APPLICANT}).get_json()
    return {"case": case, "clerk": clerk,
            "stranger": bearer(token_for(client, away["clerks"][0].username))}


ACTIONS = [
    ("get", "/api/v1/cases/{id}", None),
    ("post", "/api/v1/cases/{id}/hold", {"kind": "materials", "reason": "缺材料"}),
    ("post", "/api/v1/cases/{id}/resume", None),
    ("post", "/api/v1/cases/{id}/complete", None),
    ("post", "/api/v1/cases/{id}/reject", {"reason": "不符合条件"}),
    ("get", "/api/v1/halls/C1/cases", None),
]


@pytest.mark.parametrize("method, path, body", ACTIONS)
def test_another_halls_clerk_is_refused(client, world, method, path, body):
    url = path.format(id=world["case"]["id"])
    kwargs = {"json": body} if body is not None else {}
    refused = getattr(client, method)(url, headers=world["stranger"], **kwargs)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "out_of_scope"
    assert getattr(client, method)(url, **kwargs).status_code == 401


def test_only_clerks_accept_and_only_in_their_hall(client, world, factory):
    supervisor = factory.user("sup", "supervisor", None)
    assert supervisor.hall_id is None
    sup = bearer(token_for(client, "sup"))
    assert client.post("/api/v1/cases", headers=sup,
                       json={"item_code": "C1-I1", "applicant": APPLICANT}).status_code == 403
    # A clerk of C2 cannot accept an item C1 offers and C2 does not
    assert client.post("/api/v1/cases", headers=world["stranger"],
                       json={"item_code": "C1-I1", "applicant": APPLICANT}).status_code == 404
    # A deployment-wide supervisor may read, but not act
    assert client.get(f"/api/v1/cases/{world['case']['id']}", headers=sup).status_code == 200
    assert client.post(f"/api/v1/cases/{world['case']['id']}/complete",
                       headers=sup).status_code == 403
