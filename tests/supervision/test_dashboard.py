"""The supervisors' dashboard: access, its tables (drill-down, yellow/red cases), and the xlsx
export holding exactly what the table shows."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.factories import bearer, token_for


def sign_in(app, client, username):
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.post("/login", data={"username": username,
                                       "password": "test-pass"}).status_code == 302


def table(client, headers, name, query=""):
    answer = client.get(f"/api/v1/supervision/tables/{name}?{query}", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_page_for_supervisors_only_without_inline_script(app, client, october):
    assert client.get("/supervise").status_code == 302
    sign_in(app, client, "clerk")
    assert client.get("/supervise").status_code == 403
    client.post("/logout")
    sign_in(app, client, "supervisor")
    page = client.get("/supervise")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "督查工作台" in html and "义合镇便民服务中心" in html
    assert "<script>" not in html and "script-src 'self'" in page.headers["Content-Security-Policy"]
    for path in ("vendor/chartjs/chart.umd.min.js", "vendor/socketio/socket.io.min.js",
                 "js/supervise.js"):
        assert f"/static/{path}" in html
        assert client.get(f"/static/{path}").status_code == 200
    # The page's own session reaches the tables (no token).
    assert client.get("/api/v1/supervision/tables/departments").status_code == 200


def test_departments_drill_down_to_windows_and_halls(client, october, factory):
    sup = october["sup"]
    window = factory.window(october["hall"], 7, [october["p5"]], october["d1"])
    from service_hall.cases.models import Case
    from service_hall.extensions import db
    case = db.session.query(Case).filter_by(case_no="C1-e").one()
    case.window_id = window.id
    db.session.commit()
    departments = table(client, sup, "departments", "from=2026-10-01&to=2026-10-31")
    rows = {r["department"]: r for r in departments["rows"]}
    # October completions at the county hall: D1 d (on time) and e (overdue).
    assert rows["市场监管局"]["completed"] == 2 and rows["市场监管局"]["on_time_rate"] == 0.5
    assert departments["drill"][0] == {"table": "windows", "department": "D1"}
    windows = table(client, sup, "windows", "from=2026-10-01&to=2026-10-31&department=D1")
    # e was handled at window 7; d has no window.
    assert [(r["window"], r["completed"], r["overdue"]) for r in windows["rows"]] == [
        ("7号窗口", 1, 1), ("（未指定窗口）", 1, 0)]
    halls = table(client, sup, "halls", "from=2026-01-01&to=2026-12-31")
    names = {r["hall"]: r for r in halls["rows"]}
    assert "义合镇便民服务中心" in names and names["义合镇便民服务中心"]["open"] == 1
    township = table(client, sup, "windows", "hall=T1")
    assert "义合镇" in township["title"]
    assert client.get("/api/v1/supervision/tables/windows?department=NOPE",
                      headers=sup).status_code == 404
    assert client.get("/api/v1/supervision/tables/nothing", headers=sup).status_code == 404


def test_open_cases_at_yellow_and_red(client, october):
    rows = table(client, october["sup"], "open_cases")["rows"]
    # As of Oct 15: red c (Oct 13), i (Oct 13), j (Oct 14); yellow b (Oct 16); a, g green.
    assert [(r["case_no"], r["light"]) for r in rows] == [
        ("C1-c", "红灯"), ("C1-i", "红灯"), ("T1-j", "红灯"), ("C1-b", "黄灯")]
    assert rows[3]["applicant"] == "张*三"


def test_xlsx_export_holds_the_table(app, client, october):
    sup = october["sup"]
    shown = table(client, sup, "open_cases")
    sign_in(app, client, "supervisor")
    answer = client.get("/supervise/export/open_cases.xlsx")
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(answer.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == shown["title"]
    assert list(values[1]) == [c["label"] for c in shown["columns"]]
    blank = lambda v: None if v == "" else v  # noqa: E731  (an empty cell)
    assert [list(v) for v in values[2:]] == [[blank(r[c["key"]]) for c in shown["columns"]]
                                            for r in shown["rows"]]
    assert len(values) == 2 + 4
    assert client.get("/supervise/export/nothing.xlsx").status_code == 404


def test_out_of_scope_and_wrong_role(client, october, factory):
    factory.user("sup2", "supervisor", factory.hall("C2"))
    outsider = bearer(token_for(client, "sup2"))
    assert client.get("/api/v1/supervision/tables/departments?county=C1",
                      headers=outsider).status_code == 403
    clerk = bearer(token_for(client, "clerk"))
    assert client.get("/api/v1/supervision/tables/departments",
                      headers=clerk).status_code == 403


def test_township_links_show_last_sync_and_unsent_backlog(client, october, factory):
    from datetime import datetime, timezone

    from realtime.sync.models import SyncLink
    from service_hall.extensions import db
    factory.hall("X9", level="county")  # a node of another county never shows here
    synced = datetime(2026, 10, 20, 8, 30, tzinfo=timezone.utc)
    db.session.add_all([SyncLink(peer="T1", applied_seq=40, peer_head=52, acked_seq=7,
                                 last_sync_at=synced),
                        SyncLink(peer="X9", applied_seq=1, peer_head=1, acked_seq=0)])
    db.session.commit()
    sup = bearer(token_for(client, "supervisor"))
    rows = table(client, sup, "links")["rows"]
    assert [(r["hall"], r["last_sync_at"], r["unsent_backlog"]) for r in rows] == [
        ("义合镇便民服务中心", synced.isoformat(), 12)]


def test_live_cards_follow_each_halls_staff_room_with_the_pages_token(app, client, factory,
                                                                      live_server):
    """Window states go to staff rooms only (realtime/publish.py): the dashboard connects with
    the supervisor's token, so a window opening or pausing still refreshes its hall's card."""
    import re

    from tests.live_server import LiveClient
    from tests.realtime.helpers import HallDriver, hall_events

    h1 = HallDriver(factory.hall_setup("H1", windows=1, items=1), client)
    township = factory.hall("T9", level="township", parent=h1.hall)
    factory.user("sup", "supervisor", h1.hall)
    sign_in(app, client, "sup")
    html = client.get("/supervise").get_data(as_text=True)
    token = re.search(r'data-live-token="([^"]+)"', html).group(1)
    halls = [part.split("|")[0] for part in
             re.search(r'data-halls="([^"]*)"', html).group(1).split(";")]
    assert sorted(halls) == ["H1", township.code]
    db_commit()
    cards = {code: LiveClient(live_server, token=token, hall=code).connect() for code in halls}
    try:
        for card in cards.values():
            assert card.wait_ready()["hall"] in halls   # not refused: in the supervisor's scope
        h1.open(live_server, 0)
        events = hall_events(cards["H1"].wait_for(lambda evs: len(hall_events(evs)) == 1))
        assert [e["type"] for e in events] == ["window.state"]
    finally:
        for card in cards.values():
            card.close()


def db_commit():
    from service_hall.extensions import db
    db.session.commit()   # SQLite: end the test's transaction before the server reads
