"""Acceptance (SPEC 3.7 with SPEC 6): an errand logged at a village point under a township that
runs its own node reaches the township hall's inbox there, becomes a case in one step, and its
completion shows to the agent and on the villager's QR page; the county gets the same errand and
case, once, also when it was down while the work was done. Two real server processes."""
from __future__ import annotations

import re

import pytest
import requests

from tests.sync.nodes import PASSWORD, Node, fresh_folder, wait_for
from tests.sync.scenario import make_pair, seed_village_point
from tests.villages import VILLAGER


@pytest.fixture()
def pair():
    made = make_pair(fresh_folder())
    seed_village_point(made.county)
    made.town.start()
    yield made
    made.close()


def _token(node: Node, username: str) -> dict:
    answer = requests.post(node.base + "/api/v1/auth/token",
                           json={"username": username, "password": PASSWORD}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _call(node: Node, method: str, path: str, headers: dict | None = None,
          body: dict | None = None, expect: int = 200):
    answer = requests.request(method, node.base + "/api/v1" + path, headers=headers or {},
                              json=body, timeout=10)
    assert answer.status_code == expect, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def _signed_in(node: Node, username: str) -> requests.Session:
    """A browser session signed in through the login form (CSRF included)."""
    browser = requests.Session()
    page = browser.get(node.base + "/login", timeout=10).text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = browser.post(node.base + "/login", timeout=10, allow_redirects=False,
                          data={"username": username, "password": PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 302, answer.text
    return browser


def _log_and_submit(town: Node, agent: dict) -> dict:
    errand = _call(town, "POST", "/errands", agent, {
        "item_code": "DB1", "villager": dict(VILLAGER), "materials": ["身份证复印件"],
        "note": "老人行动不便"}, expect=201)
    assert errand["status"] == "logged" and errand["point_code"] == "T1V1"
    submitted = _call(town, "POST", f"/errands/{errand['id']}/submit", agent, {})
    assert submitted["status"] == "submitted" and submitted["target_code"] == "T1"
    return submitted


def _accept_and_complete(town: Node, errand: dict) -> dict:
    clerk = _token(town, "clerk-T1-1")
    inbox = _call(town, "GET", "/halls/T1/errands", clerk)
    assert [e["id"] for e in inbox] == [errand["id"]]
    assert inbox[0]["villager"]["name"] == "王*英"
    accepted = _call(town, "POST", f"/errands/{errand['id']}/accept", clerk)  # one step
    assert accepted["status"] == "accepted" and accepted["case_no"]
    assert _call(town, "GET", "/halls/T1/errands", clerk) == []
    case = _call(town, "GET", f"/cases/{accepted['case_id']}", clerk)
    assert case["hall_code"] == "T1" and case["item_code"] == "DB1"
    assert case["applicant"]["name"] == "王*英"  # the villager, copied as applicant
    done = _call(town, "POST", f"/cases/{accepted['case_id']}/complete", clerk)
    assert done["status"] == "completed"
    return accepted


def _shows_completed(node: Node, errand: dict, agent: dict) -> None:
    """What the agent (API and phone page) and the villager (QR page) see at the township."""
    mine = _call(node, "GET", f"/errands/{errand['id']}", agent)
    assert (mine["status"], mine["result"]) == ("completed", "completed")
    assert mine["case_no"] and mine["completed_at"]
    listed = _call(node, "GET", "/errands", agent)
    assert [(e["id"], e["status"]) for e in listed] == [(errand["id"], "completed")]
    page = _signed_in(node, "agent-T1V1").get(node.base + "/agent", timeout=10).text
    entry = page[page.index(f'id="errand-{errand["errand_no"]}"'):]
    assert '<span class="status completed">已办结</span>' in entry.split("</li>")[0]
    _qr_page_says(node, errand, "completed")


def _qr_page_says(node: Node, errand: dict, status: str) -> None:
    token = errand["track_token"]
    tracked = _call(node, "GET", f"/errands/track/{token}")
    assert tracked["status"] == status and tracked["errand_no"] == errand["errand_no"]
    public = requests.get(f"{node.base}/e/{token}", timeout=10)
    assert public.status_code == 200
    assert f'data-status="{status}"' in public.text and errand["errand_no"] in public.text
    assert VILLAGER["name"] not in public.text and VILLAGER["phone"] not in public.text


def _rows(node: Node, table: str, *columns: str) -> dict:
    """Every row of a table (or the columns named), by id, typed by the models."""
    from sqlalchemy import select

    from service_hall.extensions import db
    table = db.metadata.tables[table]
    wanted = [table.c[name] for name in columns] if columns else [table]
    with node.engine.connect() as conn:
        return {row.id: tuple(row) for row in conn.execute(select(table.c.id, *wanted))}


def _county_has_the_same(pair, errand: dict, case_id: str, status: str) -> None:
    """Same ids and state at both nodes, each row once, and the township's trail with them."""
    for table in ("errands", "cases"):
        at_town, at_county = _rows(pair.town, table), _rows(pair.county, table)
        assert len(at_town) == 1, table
        assert at_county == at_town, table
    assert [(str(i), s, str(c)) for i, s, c in
            _rows(pair.county, "errands", "status", "case_id").values()] == [
        (errand["id"], status, case_id)]
    assert [(str(i), s) for i, s in _rows(pair.county, "cases", "status").values()] == [
        (case_id, "completed")]
    at_town, at_county = pair.snapshot(pair.town), pair.snapshot(pair.county)
    assert at_county["audit_log"] == at_town["audit_log"]
    actions = sorted(action for row_id, (_id, action)
                     in _rows(pair.county, "audit_log", "action").items()
                     if row_id in at_town["audit_log"])
    assert actions == sorted(["errand.log", "errand.submit", "case.accept", "errand.accept",
                              "case.complete", "errand.complete"]
                             + (["errand.return"] if status == "returned" else []))
    # Events are recorded again at the county: a double apply would show as extra events.
    assert at_county["events"] == at_town["events"]
    assert [e[0] for e in at_county["events"]].count("errand.submitted") == 1


def _county_view(pair, errand: dict, *, completed: int, returned: int, status: str) -> None:
    supervisor = _token(pair.county, "supervisor")
    seen = _call(pair.county, "GET", f"/errands/{errand['id']}", supervisor)
    assert (seen["status"], seen["result"], seen["target_code"]) == (status, "completed", "T1")
    assert seen["case_no"] and seen["villager"]["name"] == "王*英"  # same data key: readable
    stats = _call(pair.county, "GET", "/stats/errands?hall=C1", supervisor)
    t1 = next(g for g in stats["groups"] if g["hall_code"] == "T1")
    assert (t1["logged"], t1["completed"], t1["returned"]) == (1, completed, returned)
    _qr_page_says(pair.county, errand, status)


def test_errand_from_a_village_point_becomes_a_township_case_and_reaches_the_county(pair):
    town = pair.town
    agent = _token(town, "agent-T1V1")  # the county's account, handed down to T1's node
    errand = _log_and_submit(town, agent)
    # The county follows as it goes: later changes update its copy (the owner check passes).
    wait_for(lambda: pair.county.scalar("SELECT status FROM errands") == "submitted", 10,
             "the submitted errand at the county")
    accepted = _accept_and_complete(town, errand)
    _shows_completed(town, errand, agent)

    pair.wait_synced()
    _county_has_the_same(pair, errand, accepted["case_id"], "completed")
    _county_view(pair, errand, completed=1, returned=0, status="completed")

    returned = _call(town, "POST", f"/errands/{errand['id']}/return", agent)
    assert returned["status"] == "returned"
    pair.wait_synced()
    _county_has_the_same(pair, errand, accepted["case_id"], "returned")
    _county_view(pair, errand, completed=1, returned=1, status="returned")


def test_errand_work_while_the_county_is_down_arrives_when_it_returns(pair):
    town = pair.town
    agent = _token(town, "agent-T1V1")
    pair.county.stop()

    errand = _log_and_submit(town, agent)
    accepted = _accept_and_complete(town, errand)
    _shows_completed(town, errand, agent)
    assert pair.county.scalar("SELECT count(*) FROM errands") == 0
    assert pair.town_head() > pair.town_acked()  # queued, not sent

    pair.county.start()
    pair.wait_synced()
    _county_has_the_same(pair, errand, accepted["case_id"], "completed")
    _county_view(pair, errand, completed=1, returned=0, status="completed")


def test_errand_handed_to_the_county_comes_back_completed_and_the_link_keeps_working(pair):
    """Accepted at the county, the errand's case is the county's: the township gets a copy of it
    with the errand, so the errand can be applied there (and the downlink is not stuck)."""
    town = pair.town
    agent = _token(town, "agent-T1V1")
    errand = _call(town, "POST", "/errands", agent, {
        "item_code": "DB1", "villager": dict(VILLAGER)}, expect=201)
    submitted = _call(town, "POST", f"/errands/{errand['id']}/submit", agent,
                      {"hall_code": "C1"})
    assert submitted["target_code"] == "C1"
    pair.wait_synced()

    county_clerk = _token(pair.county, "clerk-C1-1")
    assert [e["id"] for e in _call(pair.county, "GET", "/halls/C1/errands", county_clerk)] == [
        errand["id"]]
    accepted = _call(pair.county, "POST", f"/errands/{errand['id']}/accept", county_clerk)
    _call(pair.county, "POST", f"/cases/{accepted['case_id']}/complete", county_clerk)

    wait_for(lambda: town.scalar("SELECT status FROM errands") == "completed", 10,
             "the completed errand at the township")
    assert town.scalar("SELECT last_error FROM sync_links WHERE peer = 'county'") == ""
    mine = _call(town, "GET", f"/errands/{errand['id']}", agent)
    assert (mine["status"], mine["target_code"]) == ("completed", "C1")
    assert mine["case_no"] == accepted["case_no"]  # the county's case, copied to the township
    _qr_page_says(town, errand, "completed")

    # Handed back at the township: the county's copy follows, once.
    assert _call(town, "POST", f"/errands/{errand['id']}/return", agent)["status"] == "returned"
    pair.wait_synced()
    for table in ("errands", "cases"):
        assert _rows(pair.county, table) == _rows(pair.town, table), table
    assert len(_rows(pair.county, "cases")) == 1
    _qr_page_says(pair.county, errand, "returned")
