"""Window console and hall display board, rendered by the test client; the console drives the
JSON API with its session cookie and CSRF header as the page's script does."""
from __future__ import annotations

import json
import re

from tests.factories import bearer, csrf_from, login
from tests.pages.helpers import assert_self_contained


def _issue(client, setup, item="C1-I1", **extra):
    answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": item, **extra},
                         headers=bearer(setup["kiosk"]))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _console(client, setup, index=0):
    assert login(client, setup["clerks"][index].username).status_code == 302
    answer = client.get("/console")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/json" id="console-data">(.*?)</script>',
                                html, re.S).group(1))
    return html, data, {"X-CSRFToken": csrf_from(html)}


def test_console_needs_a_clerk_login(client, factory):
    setup = factory.hall_setup()
    assert client.get("/console").status_code == 302
    factory.user("boss", "supervisor", setup["hall"])
    login(client, "boss")
    assert client.get("/console").status_code == 403


def test_console_shows_window_queue_and_buttons(client, factory):
    setup = factory.hall_setup()
    _issue(client, setup)
    _issue(client, setup, item="C1-I2")
    html, data, _csrf = _console(client, setup)
    assert "1号窗口" in html and "公安局" in html
    for label in ("叫号", "重呼", "过号", "开始办理", "办结", "转办", "暂停", "离岗", "关窗"):
        assert f">{label}<" in html, label
    assert '<strong id="waiting">2</strong>' in html
    assert data["state"]["window"]["state"] == "closed" and data["state"]["ticket"] is None
    assert data["api"]["call-next"] == "/api/v1/windows/C1-1/call-next"
    assert data["state_labels"]["paused"] == "暂停"
    assert 'data-live-token="' in html
    assert_self_contained(html)


def test_console_drives_the_window_with_session_and_csrf(client, factory):
    setup = factory.hall_setup()
    _issue(client, setup)
    _html, data, csrf = _console(client, setup)
    api = data["api"]
    # Without the CSRF header a cookie-authenticated write is refused.
    assert client.put(api["state"], json={"state": "idle"}).status_code == 403
    assert client.put(api["state"], json={"state": "idle"}, headers=csrf).status_code == 200
    called = client.post(api["call-next"], headers=csrf)
    assert called.status_code == 200 and called.get_json()["ticket"]["number"] == "A001"
    status = client.get(api["status"]).get_json()
    assert status["ticket"]["number"] == "A001" and status["ticket"]["status"] == "called"
    assert status["ticket"]["item_name"] == "事项C1-I1"
    assert status["window"]["state"] == "serving" and status["waiting"] == 0
    assert client.post(api["recall"], headers=csrf).get_json()["ticket"]["call_count"] == 2
    assert client.post(api["start"], headers=csrf).status_code == 200
    assert client.post(api["finish"], headers=csrf).get_json()["ticket"]["status"] == "done"
    assert client.post(api["call-next"], headers=csrf).status_code == 204
    paused = client.put(api["state"], json={"state": "paused"}, headers=csrf)
    assert paused.status_code == 422 and "原因" in paused.get_json()["error"]["message"]
    paused = client.put(api["state"], json={"state": "paused", "reason": "取材料"}, headers=csrf)
    assert paused.status_code == 200
    status = client.get(api["status"]).get_json()
    assert status["window"] == {"code": "C1-1", "number": 1, "state": "paused",
                                "reason": "取材料", "signed_in": True}


def test_console_transfer_to_another_window(client, factory):
    setup = factory.hall_setup()
    _issue(client, setup)
    html, data, csrf = _console(client, setup)
    assert '<option value="2">2号窗口</option>' in html
    client.put(data["api"]["state"], json={"state": "idle"}, headers=csrf)
    client.post(data["api"]["call-next"], headers=csrf)
    moved = client.post(data["api"]["transfer"], json={"window_number": 2}, headers=csrf)
    assert moved.status_code == 200 and moved.get_json()["ticket"]["number"] == "A001"
    assert client.get(data["api"]["status"]).get_json()["ticket"] is None


def test_unassigned_clerk_picks_a_window(client, factory):
    setup = factory.hall_setup()
    factory.user("floater", "clerk", setup["hall"])
    login(client, "floater")
    html = client.get("/console").get_data(as_text=True)
    assert "选择您所在的窗口" in html and 'href="/console?window=C1-3"' in html
    assert "3号窗口" in client.get("/console?window=C1-3").get_data(as_text=True)
    assert client.get("/console?window=NOPE").status_code == 404


def test_display_board_shows_calls_and_waiting_by_category(client, factory):
    from tests.factories import token_for
    setup = factory.hall_setup(windows=12)
    for _ in range(3):
        _issue(client, setup)
    _issue(client, setup, item="C1-I2")
    _issue(client, setup, green_channel=True)
    token = token_for(client, setup["clerks"][11].username)
    client.put("/api/v1/windows/C1-12/state", json={"state": "idle"}, headers=bearer(token))
    called = client.post("/api/v1/windows/C1-12/call-next", headers=bearer(token)).get_json()
    answer = client.get("/display/C1")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    number = called["ticket"]["number"]
    assert f'<td class="num">{number}</td><td class="win">12</td>' in html
    assert f"请{number}号到12号窗口办理" in html
    board = client.get("/display/C1/board.json").get_json()
    waiting = {row["category"]: row for row in board["waiting"]}
    assert waiting["V"]["label"] == "绿色通道"
    assert waiting["A"]["waiting"] + waiting["V"]["waiting"] == 3
    assert waiting["B"]["waiting"] == 1 and waiting["B"]["label"] == "公安局"
    assert board["calls"][0] == {"number": number, "window_number": 12, "status": "called",
                                 "at": board["calls"][0]["at"]}
    assert "最近叫号" in html and "等候人数" in html
    assert "/static/windows/chime.wav" in html
    assert_self_contained(html)


def test_display_board_window_numbers_in_full(client, factory):
    from tests.factories import token_for
    hall = factory.hall("C9")
    department = factory.department(hall, code="C9-D1")
    item = factory.item(department, code="C9-I1")
    window = factory.window(hall, 126, [item], department)
    clerk = factory.clerk(window)
    kiosk = factory.device(hall)
    client.post("/api/v1/halls/C9/tickets", json={"item_code": "C9-I1"}, headers=bearer(kiosk))
    token = token_for(client, clerk.username)
    client.put("/api/v1/windows/C9-126/state", json={"state": "idle"}, headers=bearer(token))
    client.post("/api/v1/windows/C9-126/call-next", headers=bearer(token))
    html = client.get("/display/C9").get_data(as_text=True)
    assert '<td class="win">126</td>' in html and "请A001号到126号窗口办理" in html


def test_display_of_unknown_hall_is_404(client, factory):
    assert client.get("/display/NOPE").status_code == 404
    assert client.get("/display/NOPE/board.json").status_code == 404


def test_every_screen_in_english_with_strict_csp(client, factory):
    setup = factory.hall_setup()
    ticket = _issue(client, setup)
    login(client, setup["clerks"][0].username)
    pages = {"/kiosk/C1?lang=en": "Take a ticket", "/display/C1": "Latest calls",
             f"/t/{ticket['track_token']}": "Your number", "/console": "Call next",
             f"/ticket/{ticket['track_token']}/print": "Queue ticket", "/": "Hall screens"}
    from flask_babel import refresh
    for url, label in pages.items():
        refresh()  # the test's app context outlives requests; Flask-Babel caches the locale on it
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert label in answer.get_data(as_text=True), url
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"], url
    refresh()
    assert client.get("/display/C1?lang=zh").status_code == 200  # back to Chinese, remembered
    refresh()
    assert "最近叫号" in client.get("/display/C1").get_data(as_text=True)
