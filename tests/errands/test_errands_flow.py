"""An errand from a village point through the township hall and back (SPEC 3.7), end to end
through the API and the pages."""
from datetime import date

import pytest
from sqlalchemy import func, select, text

from realtime.models import Event
from service_hall.audit.models import AuditEntry
from service_hall.extensions import db
from tests.casework import freeze_today
from tests.villages import VILLAGER, decode_qr, log, page_login, village_world


@pytest.fixture()
def world(client, factory, monkeypatch):
    freeze_today(monkeypatch, date(2026, 11, 23))
    return village_world(client, factory)


def test_errand_reaches_township_becomes_case_and_completes(client, world, monkeypatch):
    errand = log(client, world)
    assert errand["status"] == "logged"
    assert errand["errand_no"] == "DBT1V1-20261123-001"
    assert errand["materials"] == ["身份证复印件", "户口簿复印件"]
    assert errand["villager"] == {"name": "王*英", "id_number": "110105********002X",
                                  "phone": "139****5678",
                                  "document": {"type": "resident_id", "label": "居民身份证",
                                               "number": "110105********002X"}}
    token = errand["track_token"]

    submitted = client.post(f"/api/v1/errands/{errand['id']}/submit", headers=world["agent"],
                            json={})
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["target_code"] == "T1"  # the township by default

    inbox = client.get("/api/v1/halls/T1/errands", headers=world["clerk"]).get_json()
    assert [e["errand_no"] for e in inbox] == [errand["errand_no"]]
    assert client.get("/api/v1/halls/C1/errands", headers=world["county_clerk"]).get_json() == []

    accepted = client.post(f"/api/v1/errands/{errand['id']}/accept", headers=world["clerk"])
    assert accepted.status_code == 200, accepted.get_json()
    case_id = accepted.get_json()["case_id"]
    assert accepted.get_json()["status"] == "accepted"
    assert client.get("/api/v1/halls/T1/errands", headers=world["clerk"]).get_json() == []
    case = client.get(f"/api/v1/cases/{case_id}", headers=world["clerk"]).get_json()
    assert case["hall_code"] == "T1" and case["item_code"] == "DB1"
    assert case["applicant"]["name"] == "王*英"  # the villager copied as applicant
    assert case["due_on"] == "2026-11-26"  # 3 working days after Mon Nov 23

    freeze_today(monkeypatch, date(2026, 11, 25))
    done = client.post(f"/api/v1/cases/{case_id}/complete", headers=world["clerk"])
    assert done.status_code == 200 and done.get_json()["outcome"] == "early"

    mine = client.get(f"/api/v1/errands/{errand['id']}", headers=world["agent"]).get_json()
    assert mine["status"] == "completed" and mine["result"] == "completed"
    assert client.get(f"/api/v1/errands/track/{token}").get_json()["status"] == "completed"

    # What the villager and the agent see on their pages
    public = client.get(f"/e/{token}").get_data(as_text=True)
    assert "已办结" in public and errand["errand_no"] in public
    assert "王" not in public and "13912345678" not in public and "002X" not in public
    page_login(client, "agent-T1V1")
    agent_page = client.get("/agent").get_data(as_text=True)
    assert errand["errand_no"] in agent_page and "已办结" in agent_page
    assert "王*英" in agent_page and "王秀英" not in agent_page

    returned = client.post(f"/api/v1/errands/{errand['id']}/return", headers=world["agent"])
    assert returned.status_code == 200 and returned.get_json()["status"] == "returned"
    assert "已送达" in client.get(f"/e/{token}").get_data(as_text=True)


def test_villager_data_is_stored_encrypted_and_everything_is_audited(client, world):
    errand = log(client, world)
    client.post(f"/api/v1/errands/{errand['id']}/submit", headers=world["agent"], json={})
    raw = db.session.execute(text("SELECT villager_name_enc, villager_id_enc, villager_phone_enc,"
                                  " villager_id_hash FROM errands")).one()
    stored = " ".join(raw)
    assert VILLAGER["name"] not in stored and VILLAGER["id_number"] not in stored
    assert VILLAGER["phone"] not in stored
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.at)).all()
    assert actions == ["errand.log", "errand.submit"]
    staff = db.session.scalars(select(Event).where(Event.hall_code == "T1")).all()
    assert [(e.type, e.audience) for e in staff] == [("errand.submitted", "staff")]
    public = db.session.scalars(select(Event).where(Event.audience == "public")).all()
    assert all("王" not in str(e.data) and "13912345678" not in str(e.data) for e in public)
    assert {e.track_token for e in public} == {errand["track_token"]}


@pytest.mark.parametrize("villager, code", [
    ({"id_number": "110105194912310021"}, "invalid_document_check_character"),
    ({"phone": "12345"}, "invalid_phone"),
    ({"name": ""}, "invalid_name"),
])
def test_bad_villager_data_is_refused_and_nothing_written(client, world, villager, code):
    answer = client.post("/api/v1/errands", headers=world["agent"], json={
        "item_code": "DB1", "villager": {**VILLAGER, **villager}})
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == code
    assert db.session.scalar(select(func.count()).select_from(text("errands"))) == 0


def test_only_agent_loggable_items_and_their_own_materials(client, world):
    answer = client.post("/api/v1/errands", headers=world["agent"],
                         json={"item_code": "CO1", "villager": VILLAGER})
    assert answer.status_code == 404  # not offered at village level
    answer = client.post("/api/v1/errands", headers=world["agent"], json={
        "item_code": "DB1", "villager": VILLAGER, "materials": ["结婚证"]})
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "unknown_material"


def test_handed_to_the_county_and_lifecycle_order(client, world):
    errand = log(client, world)
    early = client.post(f"/api/v1/errands/{errand['id']}/return", headers=world["agent"])
    assert early.status_code == 409
    to_county = client.post(f"/api/v1/errands/{errand['id']}/submit", headers=world["agent"],
                            json={"hall_code": "C1"})
    assert to_county.get_json()["target_code"] == "C1"
    # The township clerk cannot accept what went to the county; the county clerk can
    assert client.post(f"/api/v1/errands/{errand['id']}/accept",
                       headers=world["clerk"]).status_code == 403
    assert client.post(f"/api/v1/errands/{errand['id']}/accept",
                       headers=world["county_clerk"]).status_code == 200
    assert client.post(f"/api/v1/errands/{errand['id']}/accept",
                       headers=world["county_clerk"]).status_code == 409
    other = log(client, world)
    wrong = client.post(f"/api/v1/errands/{other['id']}/submit", headers=world["agent"],
                        json={"hall_code": "T1V2"})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "invalid_target"


def test_rejected_case_completes_the_errand_with_that_result(client, world):
    errand = log(client, world)
    client.post(f"/api/v1/errands/{errand['id']}/submit", headers=world["agent"], json={})
    case_id = client.post(f"/api/v1/errands/{errand['id']}/accept",
                          headers=world["clerk"]).get_json()["case_id"]
    client.post(f"/api/v1/cases/{case_id}/reject", headers=world["clerk"],
                json={"reason": "不符合条件"})
    tracked = client.get(f"/api/v1/errands/track/{errand['track_token']}").get_json()
    assert tracked["status"] == "completed" and tracked["result"] == "rejected"


def test_receipt_renders_chinese_and_a_qr_code_to_the_track_page(client, world):
    errand = log(client, world)
    page_login(client, "agent-T1V1")
    receipt = client.get(f"/agent/errands/{errand['id']}/receipt")
    html = receipt.get_data(as_text=True)
    assert receipt.status_code == 200
    assert "群众事务代办回执" in html and "高龄老人补贴申请" in html and "☑ 身份证复印件" in html
    assert "☐ 一寸照片" in html and "王*英" in html
    png = client.get(f"/e/{errand['track_token']}/qr.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert f'src="/e/{errand["track_token"]}/qr.png"' in html
    assert decode_qr(png.data) == f"http://localhost/e/{errand['track_token']}"
    assert client.get(decode_qr(png.data).removeprefix("http://localhost")).status_code == 200


def test_inbox_page_and_one_step_accept_from_it(client, world):
    errand = log(client, world)
    client.post(f"/api/v1/errands/{errand['id']}/submit", headers=world["agent"], json={})
    page_login(client, world["clerk_user"].username)
    page = client.get("/halls/T1/inbox").get_data(as_text=True)
    assert errand["errand_no"] in page and "义合镇高家沟村便民服务站" in page
    assert "王*英" in page and "王秀英" not in page
    import re
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(f"/halls/T1/inbox/{errand['id']}/accept", data={"csrf_token": csrf})
    assert answer.status_code == 302
    assert client.get(f"/api/v1/errands/{errand['id']}",
                      headers=world["clerk"]).get_json()["status"] == "accepted"
    assert errand["errand_no"] not in client.get("/halls/T1/inbox").get_data(as_text=True)


@pytest.mark.parametrize("villager", [
    {"id_number": "610826195003150025"},   # Suide, born 1950: 610826 dates from 1999
    {"id_number": "６１２７２７１９６３０７０８００１９"},  # the old Suide code, full width
    {"document": {"type": "tw_permit", "number": "12345678"}},
])
def test_villagers_of_every_document_are_logged(client, world, villager):
    fields = {k: v for k, v in VILLAGER.items() if k != "id_number"}
    answer = client.post("/api/v1/errands", headers=world["agent"], json={
        "item_code": "DB1", "villager": {**fields, **villager}})
    assert answer.status_code == 201, answer.get_json()
    assert db.session.scalar(select(func.count()).select_from(text("errands"))) == 1
