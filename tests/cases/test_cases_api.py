"""Accepting, holding, resuming, completing and rejecting cases through the API."""
from datetime import date

import pytest
from sqlalchemy import func, select, text

from realtime.models import Event
from service_hall.audit.models import AuditEntry
from service_hall.cases.models import Case
from service_hall.extensions import db
from tests.casework import APPLICANT, BAD_ID, GOOD_ID, freeze_today, seed_2026, served_ticket
from tests.factories import bearer, token_for


@pytest.fixture()
def hall(client, factory):
    """County C1: a promise item (5 working days) and an immediate item, two windows."""
    seed_2026()
    county = factory.hall("C1")
    department = factory.department(county, code="C1-D1", name="市场监管局")
    promise = factory.item(department, code="P5", prefix="A", kind="promise", promised=5,
                           statutory=20)
    immediate = factory.item(department, code="IM", prefix="B", kind="immediate")
    windows = [factory.window(county, n, [promise, immediate], department) for n in (1, 2)]
    clerks = [factory.clerk(w) for w in windows]
    return {"hall": county, "promise": promise, "immediate": immediate, "windows": windows,
            "clerk": bearer(token_for(client, clerks[0].username)),
            "other_clerk": bearer(token_for(client, clerks[1].username))}


def accept(client, hall, item="P5", **extra):
    return client.post("/api/v1/cases", headers=hall["clerk"],
                       json={"item_code": item, "applicant": dict(APPLICANT), **extra})


def test_accept_gives_case_number_and_due_date(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    answer = accept(client, hall)
    assert answer.status_code == 201
    case = answer.get_json()
    # Fri Feb 13 + 5 working days: Sat 14 (make-up), Tue 24, 25, 26, Fri 27
    assert (case["status"], case["accepted_on"], case["due_on"]) == (
        "accepted", "2026-02-13", "2026-02-27")
    assert case["case_no"] == "C1-20260213-0001"
    assert case["window_number"] == 1
    assert accept(client, hall).get_json()["case_no"] == "C1-20260213-0002"
    freeze_today(monkeypatch, date(2026, 2, 14))
    assert accept(client, hall).get_json()["case_no"] == "C1-20260214-0001"


def test_immediate_item_is_due_and_completed_the_same_day(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    case = accept(client, hall, "IM").get_json()
    assert case["due_on"] == "2026-02-13"
    done = client.post(f"/api/v1/cases/{case['id']}/complete", headers=hall["clerk"])
    assert done.status_code == 200
    assert (done.get_json()["outcome"], done.get_json()["elapsed_working_days"]) == ("on_time", 0)


def test_hold_over_spring_festival_then_complete_on_time(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    case = accept(client, hall).get_json()
    freeze_today(monkeypatch, date(2026, 2, 14))
    held = client.post(f"/api/v1/cases/{case['id']}/hold", headers=hall["clerk"],
                       json={"kind": "materials", "reason": "缺营业执照副本"})
    assert held.status_code == 200 and held.get_json()["status"] == "on_hold"
    freeze_today(monkeypatch, date(2026, 2, 25))
    resumed = client.post(f"/api/v1/cases/{case['id']}/resume", headers=hall["clerk"]).get_json()
    # Hold (Sat Feb 14, Wed Feb 25]: Tue 24, Wed 25 = 2 working days (15–23 are holidays)
    assert resumed["holds"][0]["working_days"] == 2
    # Due = 5 + 2 = 7th working day after Feb 13: 14, 24, 25, 26, 27, Sat 28, Mon Mar 2
    assert resumed["due_on"] == "2026-03-02"
    freeze_today(monkeypatch, date(2026, 3, 2))
    done = client.post(f"/api/v1/cases/{case['id']}/complete", headers=hall["clerk"]).get_json()
    # (Feb 13, Mar 2] = 14, 24, 25, 26, 27, 28, Mar 2 = 7, minus 2 held = 5 = promised → on time
    assert (done["status"], done["elapsed_working_days"], done["outcome"]) == (
        "completed", 5, "on_time")
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.record_id == Case.id.type.python_type(case["id"])).order_by(AuditEntry.at)).all()
    assert actions == ["case.accept", "case.hold", "case.resume", "case.complete"]


def test_completing_late_is_overdue(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    case = accept(client, hall).get_json()
    freeze_today(monkeypatch, date(2026, 2, 28))
    done = client.post(f"/api/v1/cases/{case['id']}/complete", headers=hall["clerk"]).get_json()
    # (Feb 13, Feb 28] = Sat 14, 24, 25, 26, 27, Sat 28 = 6 > 5
    assert (done["elapsed_working_days"], done["outcome"]) == (6, "overdue")


def test_reject_needs_a_reason_and_closes_the_case(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    case = accept(client, hall).get_json()
    assert client.post(f"/api/v1/cases/{case['id']}/reject", headers=hall["clerk"],
                       json={"reason": " "}).status_code == 422
    rejected = client.post(f"/api/v1/cases/{case['id']}/reject", headers=hall["clerk"],
                           json={"reason": "不符合受理条件"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    again = client.post(f"/api/v1/cases/{case['id']}/complete", headers=hall["clerk"])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "invalid_case_state"


def test_resume_without_hold_is_409(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    case = accept(client, hall).get_json()
    assert client.post(f"/api/v1/cases/{case['id']}/resume",
                       headers=hall["clerk"]).status_code == 409


def test_wrong_check_digit_is_422_and_nothing_is_written(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    answer = client.post("/api/v1/cases", headers=hall["clerk"], json={
        "item_code": "P5", "applicant": {**APPLICANT, "id_number": BAD_ID}})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "invalid_document_check_character"
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    # The counter was not bumped either: the next case is still number 0001
    assert accept(client, hall).get_json()["case_no"] == "C1-20260213-0001"


def test_accepting_in_a_year_without_calendar_is_422(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2027, 3, 1))
    answer = accept(client, hall)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "calendar_missing"


def test_database_holds_no_personal_data_in_clear(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    accept(client, hall)
    rows = db.session.execute(text("SELECT * FROM cases")).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    for secret in (GOOD_ID, GOOD_ID[:6] + "19491231", "张小三", "13812341234"):
        assert secret not in stored
    # … while the keyed hash finds the applicant
    from service_hall.documents import lookup_hash
    assert db.session.scalar(select(func.count()).select_from(Case).where(
        Case.applicant_id_hash == lookup_hash(GOOD_ID))) == 1


def test_answers_are_masked_and_reveal_is_for_the_handling_clerk_only(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    case = accept(client, hall).get_json()
    assert case["applicant"] == {"name": "张*三", "id_number": "110105********002X",
                                 "phone": "138****1234",
                                 "document": {"type": "resident_id", "label": "居民身份证",
                                              "number": "110105********002X"}}
    shown = client.get(f"/api/v1/cases/{case['id']}", headers=hall["other_clerk"]).get_json()
    assert shown["applicant"]["id_number"] == "110105********002X"
    refused = client.get(f"/api/v1/cases/{case['id']}?reveal=1", headers=hall["other_clerk"])
    assert refused.status_code == 403
    revealed = client.get(f"/api/v1/cases/{case['id']}?reveal=1", headers=hall["clerk"]).get_json()
    assert revealed["applicant"] == {**APPLICANT, "document": {
        "type": "resident_id", "label": "居民身份证", "number": APPLICANT["id_number"]}}
    reveals = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "case.reveal")).all()
    assert [r.actor_label for r in reveals] == ["clerk-C1-1"]


def test_applicant_document_stands_in_for_the_id_number(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    applicant = {"name": "陈大文", "phone": "13812341234",
                 "document": {"type": "hmt_residence", "number": "８１００００199001010019"}}
    answer = client.post("/api/v1/cases", headers=hall["clerk"],
                         json={"item_code": "P5", "applicant": applicant})
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["applicant"]["document"] == {
        "type": "hmt_residence", "label": "港澳台居民居住证", "number": "810000********0019"}
    from service_hall.documents import lookup_hash
    assert db.session.scalar(select(func.count()).select_from(Case).where(
        Case.applicant_id_hash == lookup_hash("810000199001010019"))) == 1
    wrong = client.post("/api/v1/cases", headers=hall["clerk"], json={
        "item_code": "P5", "applicant": {**applicant, "document": {
            "type": "hmt_residence", "number": "810000199002300019"}}})
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["code"] == "invalid_document_date"
    assert "出生日期" in wrong.get_json()["error"]["message"]
    neither = client.post("/api/v1/cases", headers=hall["clerk"], json={
        "item_code": "P5", "applicant": {"name": "陈大文", "phone": "13812341234"}})
    assert neither.status_code in (400, 422)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1


def test_case_from_a_ticket(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    ticket = served_ticket(hall["hall"], hall["promise"], hall["windows"][0], status="serving")
    answer = accept(client, hall, ticket_id=str(ticket.id))
    assert answer.status_code == 201
    assert db.session.scalars(select(Case.ticket_id)).one() == ticket.id
    waiting = served_ticket(hall["hall"], hall["promise"], hall["windows"][0], status="waiting",
                            number="A002")
    assert accept(client, hall, ticket_id=str(waiting.id)).status_code == 409


def test_hall_case_list_with_status_and_light(client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    first = accept(client, hall).get_json()            # due Fri Feb 27
    immediate = accept(client, hall, "IM").get_json()  # due Fri Feb 13
    freeze_today(monkeypatch, date(2026, 2, 24))
    listed = client.get("/api/v1/halls/C1/cases?status=accepted", headers=hall["clerk"]).get_json()
    assert {c["case_no"] for c in listed} == {first["case_no"], immediate["case_no"]}
    # On Tue Feb 24: the P5 case has (24, 27] = 3 working days left → green; the immediate
    # case was due Feb 13: (13, 24] = Sat 14, Tue 24 → 2 days late → red
    red = client.get("/api/v1/halls/C1/cases?light=red", headers=hall["clerk"]).get_json()
    green = client.get("/api/v1/halls/C1/cases?light=green", headers=hall["clerk"]).get_json()
    assert [c["case_no"] for c in red] == [immediate["case_no"]]
    assert [c["case_no"] for c in green] == [first["case_no"]]
    assert red[0]["working_days_left"] == -2
    assert client.get("/api/v1/halls/C1/cases?light=blue",
                      headers=hall["clerk"]).status_code == 400


def test_warnings_at_yellow_and_red_once_per_level(app, client, hall, monkeypatch):
    freeze_today(monkeypatch, date(2026, 2, 13))
    case = accept(client, hall).get_json()  # due Fri Feb 27
    runner = app.test_cli_runner()

    def warnings():
        return [(e.data["case_no"], e.data["light"], e.audience, e.window_code)
                for e in db.session.scalars(select(Event).where(Event.type == "case.warning")
                                            .order_by(Event.seq))]

    freeze_today(monkeypatch, date(2026, 2, 25))  # (25, 27] = 2 left: green, no warning
    assert "0 new yellow" in runner.invoke(args=["hall", "cases-warn"]).output
    freeze_today(monkeypatch, date(2026, 2, 26))  # (26, 27] = 1 left: yellow
    runner.invoke(args=["hall", "cases-warn"])
    runner.invoke(args=["hall", "cases-warn"])    # the same day again: no second warning
    assert warnings() == [(case["case_no"], "yellow", "staff", "C1-1")]
    freeze_today(monkeypatch, date(2026, 3, 1))   # Sun Mar 1: (27, Mar 1] = Sat 28 → 1 late: red
    output = runner.invoke(args=["hall", "cases-warn"]).output
    assert "1 new red" in output
    assert warnings()[-1] == (case["case_no"], "red", "staff", "C1-1")
    assert len(warnings()) == 2
