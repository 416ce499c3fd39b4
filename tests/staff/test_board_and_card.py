"""The whereabouts board (去向牌) and the printable service card (便民服务卡)."""
from datetime import date

import pytest
from sqlalchemy import select

from realtime.models import Event
from service_hall.extensions import db
from tests.casework import freeze_today
from tests.factories import bearer, token_for
from tests.villages import decode_qr, page_login, village_world


@pytest.fixture()
def world(client, factory, monkeypatch):
    freeze_today(monkeypatch, date(2026, 11, 23))
    return village_world(client, factory)


def test_whereabouts_show_on_the_public_board_without_phones(client, world):
    answer = client.put("/api/v1/staff/whereabouts", headers=world["clerk"], json={
        "status": "meeting", "note": "县里开会", "expected_return": "2026-11-23T15:30:00+08:00"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status_label"] == "开会"
    board = client.get("/api/v1/halls/T1/board").get_json()
    assert [(c["status"], c["note"], c["expected_return_text"]) for c in board] == [
        ("meeting", "县里开会", "11-23 15:30")]
    page = client.get("/board/T1").get_data(as_text=True)
    assert "开会" in page and "县里开会" in page and "11-23 15:30" in page
    village_board = client.get("/board/T1V1").get_data(as_text=True)
    assert "高建军" in village_board and "在岗" in village_board
    assert "13700001111" not in village_board  # no phone numbers on the board
    event = db.session.scalars(select(Event).where(Event.type == "staff.whereabouts")).one()
    assert event.audience == "public" and event.hall_code == "T1"
    assert event.data["status"] == "meeting" and "phone" not in event.data


def test_whereabouts_refusals(client, world):
    bad = client.put("/api/v1/staff/whereabouts", headers=world["clerk"],
                     json={"status": "holiday"})
    assert bad.status_code == 422
    past = client.put("/api/v1/staff/whereabouts", headers=world["clerk"],
                      json={"status": "leave", "from": "2026-11-01"})
    assert past.status_code == 422 and past.get_json()["error"]["code"] == "past_date"
    far = client.put("/api/v1/staff/whereabouts", headers=world["clerk"],
                     json={"status": "out", "expected_return": "0001-01-01T00:00:00+14:00"})
    assert far.status_code == 422 and far.get_json()["error"]["code"] == "invalid_return"
    assert client.put("/api/v1/staff/whereabouts", json={"status": "out"}).status_code == 401


def test_expected_return_passed_means_back_at_post(client, world, monkeypatch):
    client.put("/api/v1/staff/whereabouts", headers=world["agent"], json={
        "status": "villages", "note": "入户走访", "expected_return": "2026-11-23T17:00:00+08:00"})
    assert client.get("/api/v1/halls/T1V1/board").get_json()[0]["status"] == "villages"
    freeze_today(monkeypatch, date(2026, 11, 24))
    assert client.get("/api/v1/halls/T1V1/board").get_json()[0]["status"] == "at_post"


def test_whereabouts_form_page(client, world):
    page_login(client, "agent-T1V1")
    import re
    page = client.get("/me/whereabouts").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/me/whereabouts", data={"csrf_token": csrf, "status": "out",
                                                  "note": "送材料到镇上"})
    assert answer.status_code == 302
    assert "外出办事" in client.get("/board/T1V1").get_data(as_text=True)


def test_service_card_prints_names_numbers_address_and_a_qr_to_the_point(client, world):
    card = client.get("/v/T1V1/card")
    html = card.get_data(as_text=True)
    assert card.status_code == 200
    assert "便民服务卡" in html and "义合镇高家沟村便民服务站" in html
    assert "高建军 · 13700001111" in html  # the cadre's work number
    assert "义合镇政府院内" in html and "周一至周五 9:00–17:00" in html
    assert 'src="/v/T1V1/qr.png"' in html
    png = client.get("/v/T1V1/qr.png")
    assert png.mimetype == "image/png"
    url = decode_qr(png.data)
    assert url == "http://localhost/v/T1V1"
    point_page = client.get(url.removeprefix("http://localhost")).get_data(as_text=True)
    assert "群众事务代办" in point_page and "高龄老人补贴申请" in point_page
    assert client.get("/v/T1/card").status_code == 404  # a township is not a village point
