"""Who may call what (SPEC 7, issue 8): one table, every declared endpoint × every role and
device kind and anonymous, each against its own hall and another county's hall.

``Y`` = allowed: the answer is anything but 401/403 (404/409/422 for the dummy input are fine);
``.`` = denied: the answer is 401 or 403. A 5xx is always a failure. An endpoint declared in
``service_hall.api.ENDPOINTS`` without a row here fails the test, so a new endpoint cannot ship
without its access decision being written down.

The callers all belong to county hall C1 (the agent to village point C1V under township C1T,
which reaches the halls above it); "own" targets C1's records, "other" the same records of
county C2. Endpoints without a hall in the path name it in the query or body (``?hall=``,
``hall_code``, a ticket or case of that hall); those with no hall at all (``/halls``,
``/calendar``…) are the same call on both sides.
"""
from __future__ import annotations

import io
from datetime import date

import pytest

from service_hall.api import ENDPOINTS
from service_hall.calendar.operations import seed_calendar
from service_hall.extensions import db
from tests.factories import PASSWORD, bearer, token_for

PRINCIPALS = ("admin", "supervisor", "clerk", "agent", "kiosk", "display", "pad", "anonymous")

# (method, rule, variant):           own hall    other hall
#                                    ASCGKDP-    ASCGKDP-     A=admin S=supervisor C=clerk
#                                                             G=agent K=kiosk D=display P=pad
#                                                             -=anonymous
MATRIX: dict[tuple[str, str, str], tuple[str, str]] = {
    # public reads: anyone, any hall
    ("GET", "/halls", ""):                          ("YYYYYYYY", "YYYYYYYY"),
    ("GET", "/halls/<hall_code>/items", ""):        ("YYYYYYYY", "YYYYYYYY"),
    ("GET", "/halls/<hall_code>/windows", ""):      ("YYYYYYYY", "YYYYYYYY"),
    ("GET", "/track/<token>", ""):                  ("YYYYYYYY", "YYYYYYYY"),
    ("GET", "/calendar", ""):                       ("YYYYYYYY", "YYYYYYYY"),
    ("GET", "/calendar/due", ""):                   ("YYYYYYYY", "YYYYYYYY"),
    ("GET", "/ratings/reasons", ""):                ("YYYYYYYY", "YYYYYYYY"),
    ("POST", "/auth/token", ""):                    ("YYYYYYYY", "YYYYYYYY"),
    # tickets: issued by kiosks, clerks and agents of the hall; listed by its staff
    ("POST", "/halls/<hall_code>/tickets", ""):     ("..YYY...", "........"),
    ("GET", "/halls/<hall_code>/tickets", ""):      ("YYY.....", "........"),
    ("POST", "/tickets/<ticket_id>/reactivate", ""): ("..Y.....", "........"),
    ("POST", "/tickets/<ticket_id>/cancel", ""):    ("Y.Y.....", "........"),
    # windows: only the clerk signed in at the window
    ("POST", "/windows/<window_code>/call-next", ""): ("..Y.....", "........"),
    ("POST", "/windows/<window_code>/recall", ""):  ("..Y.....", "........"),
    ("POST", "/windows/<window_code>/no-show", ""): ("..Y.....", "........"),
    ("POST", "/windows/<window_code>/start", ""):   ("..Y.....", "........"),
    ("POST", "/windows/<window_code>/finish", ""):  ("..Y.....", "........"),
    ("POST", "/windows/<window_code>/transfer", ""): ("..Y.....", "........"),
    ("PUT", "/windows/<window_code>/state", ""):    ("..Y.....", "........"),
    # cases: clerks act in their hall; staff read (masked); an admin imports into their scope
    ("POST", "/cases", "ticket"):                   ("..Y.....", "........"),
    ("GET", "/cases/<case_id>", ""):                ("YYY.....", "........"),
    ("POST", "/cases/<case_id>/hold", ""):          ("..Y.....", "........"),
    ("POST", "/cases/<case_id>/resume", ""):        ("..Y.....", "........"),
    ("POST", "/cases/<case_id>/complete", ""):      ("..Y.....", "........"),
    ("POST", "/cases/<case_id>/reject", ""):        ("..Y.....", "........"),
    ("GET", "/halls/<hall_code>/cases", ""):        ("YYY.....", "........"),
    ("POST", "/cases/import", ""):                  ("Y.......", "........"),
    # ratings: by the ticket's QR code (anyone holding it) or the hall's pad
    ("POST", "/ratings", "qr"):                     ("YYYYYYYY", "YYYYYYYY"),
    ("POST", "/ratings", "pad"):                    ("......Y.", "........"),
    ("GET", "/rectifications", ""):                 ("YY......", "........"),
    ("POST", "/rectifications/<rect_id>/close", ""): ("YY......", "........"),
    # supervision and administration
    ("GET", "/stats/completion", ""):               ("YY......", "........"),
    ("GET", "/stats/live", ""):                     ("YY......", "........"),
    ("GET", "/catalog/items.xlsx", ""):             ("YY......", "........"),
    ("POST", "/catalog/items.xlsx", ""):            ("Y.......", "........"),
    ("PUT", "/calendar/days/<day>", ""):            ("Y.......", "Y......."),
    ("GET", "/supervision/tables/<name>", ""):      ("YY......", "........"),
    ("GET", "/letters", ""):                        ("YY......", "........"),
    ("POST", "/letters", ""):                       ("YY......", "........"),
    ("GET", "/letters/<letter_id>", ""):            ("YY......", "........"),
    ("GET", "/sync/status", ""):                    ("YY......", "YY......"),
    # village points: an agent logs, submits and hands back its own point's errands; the hall's
    # clerks read the inbox (accepting needs an errand submitted to their hall: denied here);
    # the errand QR page, the whereabouts board and the duty roster are public
    ("GET", "/errands", ""): ("...Y....", "...Y...."),
    ("GET", "/errands/<errand_id>", ""): ("YY.Y....", "........"),
    ("GET", "/errands/track/<token>", ""): ("YYYYYYYY", "YYYYYYYY"),
    ("GET", "/halls/<hall_code>/board", ""): ("YYYYYYYY", "YYYYYYYY"),
    ("GET", "/halls/<hall_code>/errands", ""): ("YYY.....", "........"),
    ("GET", "/stats/errands", ""): ("YY......", "........"),
    ("GET", "/villages/<hall_code>/roster", ""): ("YYYYYYYY", "YYYYYYYY"),
    ("POST", "/errands", ""): ("...Y....", "...Y...."),
    ("POST", "/errands/<errand_id>/accept", ""): ("........", "........"),
    ("POST", "/errands/<errand_id>/return", ""): ("...Y....", "........"),
    ("POST", "/errands/<errand_id>/submit", ""): ("...Y....", "........"),
    ("POST", "/villages/<hall_code>/roster", ""): ("YY.Y....", "........"),
    ("PUT", "/staff/whereabouts", ""): (".YYY....", ".YYY...."),
    ("PUT", "/villages/<hall_code>/cadres", ""): ("YY.Y....", "........"),
    ("PUT", "/villages/<hall_code>/roster/<day>", ""): ("YY.Y....", "........"),
    # Socket.IO /live rooms (realtime.access.plan, what the connect handler applies):
    # hall = the hall's public events (hall:<code>, or staff:<code> which carries them too)
    ("LIVE", "hall", ""):                           ("YYYYYY.Y", ".......Y"),
    ("LIVE", "staff", ""):                          ("YYYY....", "........"),
    ("LIVE", "window", ""):                         ("..Y...Y.", "........"),
    ("LIVE", "track", ""):                          ("YYYY...Y", ".......Y"),
}
ROOM_KINDS = ("hall", "staff", "window", "track")


def _county(client, factory, code: str) -> dict:
    """A county hall with a township and village point, users of every role, every device
    kind, and records in every state the endpoints act on."""
    setup = factory.hall_setup(code, windows=2, items=2)
    hall = setup["hall"]
    township = factory.hall(f"{code}T", level="township", parent=hall)
    village = factory.hall(f"{code}V", level="village", parent=township)
    for role, at in (("admin", hall), ("supervisor", hall), ("agent", village)):
        factory.user(f"{role}-{code}", role, at)
    tokens = {"admin": token_for(client, f"admin-{code}"),
              "supervisor": token_for(client, f"supervisor-{code}"),
              "clerk": token_for(client, f"clerk-{code}-1"),
              "agent": token_for(client, f"agent-{code}"),
              "kiosk": setup["kiosk"], "display": factory.device(hall, "display"),
              "pad": factory.device(hall, "pad", window=setup["windows"][0])}
    clerk, kiosk = bearer(tokens["clerk"]), bearer(tokens["kiosk"])

    def ok(answer, status=200):
        assert answer.status_code == status, answer.get_json()
        return answer.get_json()

    ok(client.put(f"/api/v1/windows/{code}-1/state", json={"state": "idle"}, headers=clerk))
    issued = [ok(client.post(f"/api/v1/halls/{code}/tickets", json={"item_code": f"{code}-I1"},
                             headers=kiosk), 201) for _ in range(4)]
    for action in ("call-next", "start", "finish", "call-next", "no-show"):
        ok(client.post(f"/api/v1/windows/{code}-1/{action}", headers=clerk))
    ok(client.post(f"/api/v1/windows/{code}-1/call-next", headers=clerk))  # the 3rd: called
    case = ok(client.post("/api/v1/cases", headers=clerk, json={
        "item_code": f"{code}-I1", "applicant": {"name": "张小三", "id_number": "11010519491231002X",
                                                   "phone": "13812341234"}}), 201)
    rating = ok(client.post("/api/v1/ratings", headers=bearer(tokens["pad"]),
                            json={"level": 1, "ticket_id": issued[0]["id"]}), 201)
    assert rating["rectification_id"]
    errand = ok(client.post("/api/v1/errands", headers=bearer(tokens["agent"]), json={
        "item_code": f"{code}-I1", "villager": {"name": "王五", "id_number": "11010519491231002X",
                                                 "phone": "13712341234"}}), 201)
    letters = ok(client.post("/api/v1/letters", headers=bearer(tokens["supervisor"]), json={
        "month": date.today().strftime("%Y-%m"), "kind": "supervision", "county": code}), 201)
    assert letters, "no letter issued: nothing to read in the matrix"
    return {"letter_id": letters[0]["id"], "errand": errand, "code": code, "tokens": tokens, "done": issued[0], "no_show": issued[1],
            "called": issued[2], "waiting": issued[3], "case": case,
            "rect_id": rating["rectification_id"]}


@pytest.fixture()
def counties(client, factory):
    year = date.today().year
    seed_calendar(year, year, weekends_only=True)
    db.session.commit()
    return {"own": _county(client, factory, "C1"), "other": _county(client, factory, "C2")}


def request_for(method: str, rule: str, variant: str, target: dict) -> tuple[str, dict]:
    """The path and keyword arguments of a call aimed at ``target``'s records."""
    code = target["code"]
    values = {"hall_code": code, "window_code": f"{code}-1", "token": target["waiting"]["track_token"],
              "ticket_id": target["no_show"]["id"] if rule.endswith("reactivate")
              else target["waiting"]["id"],
              "case_id": target["case"]["id"], "rect_id": target["rect_id"], "day": "2030-01-02",
              "letter_id": target["letter_id"], "name": "departments",
              "errand_id": target["errand"]["id"]}
    if rule.startswith("/villages/"):  # village-point routes name the county's village point
        values["hall_code"] = f"{code}V"
    if rule == "/errands/track/<token>":
        values["token"] = target["errand"]["track_token"]
    path = "/api/v1" + rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", value)
    hall_query = {"query_string": {"hall": code}}
    kwargs = {
        ("POST", "/auth/token"): {"json": {"username": "admin-C1", "password": PASSWORD}},
        ("GET", "/calendar"): {"query_string": {"year": date.today().year}},
        ("GET", "/calendar/due"): {"query_string": {"from": date.today().isoformat(),
                                                    "working_days": 3}},
        ("POST", "/halls/<hall_code>/tickets"): {"json": {"item_code": f"{code}-I1"}},
        ("POST", "/windows/<window_code>/transfer"): {"json": {"window_number": 2}},
        ("PUT", "/windows/<window_code>/state"): {"json": {"state": "idle"}},
        ("POST", "/cases"): {"json": {"item_code": "C1-I1", "ticket_id": target["called"]["id"],
                                      "applicant": {"name": "李四", "phone": "13912345678",
                                                    "id_number": "11010519491231002X"}}},
        ("POST", "/cases/<case_id>/hold"): {"json": {"kind": "materials", "reason": "缺材料"}},
        ("POST", "/cases/<case_id>/reject"): {"json": {"reason": "不符合条件"}},
        ("POST", "/cases/import"): {"json": [{"item_code": f"{code}-I1", "hall_code": code,
                                              "accepted_on": f"{date.today().year}-01-05"}]},
        ("POST", "/ratings"): {"json": {"level": 5, "track_token": target["done"]["track_token"]}
                               if variant == "qr" else {"level": 4, "ticket_id": target["done"]["id"]}},
        ("GET", "/rectifications"): hall_query,
        ("POST", "/rectifications/<rect_id>/close"): {"json": {"result": "已整改"}},
        ("GET", "/stats/completion"): hall_query,
        ("GET", "/stats/live"): hall_query,
        ("GET", "/catalog/items.xlsx"): hall_query,
        ("POST", "/catalog/items.xlsx"): {**hall_query, "content_type": "multipart/form-data",
                                          "data": {"file": (io.BytesIO(b"not a sheet"), "x.xlsx")}},
        ("PUT", "/calendar/days/<day>"): {"json": {"kind": "holiday", "note": "测试"}},
        ("GET", "/supervision/tables/<name>"): {"query_string": {"county": code}},
        ("GET", "/letters"): {"query_string": {"county": code}},
        ("POST", "/errands"): {"json": {"item_code": f"{code}-I1", "villager": {
            "name": "赵六", "id_number": "11010519491231002X", "phone": "13612341234"}}},
        ("POST", "/errands/<errand_id>/submit"): {"json": {}},
        ("GET", "/stats/errands"): hall_query,
        ("PUT", "/staff/whereabouts"): {"json": {"status": "meeting", "note": "县里开会"}},
        ("PUT", "/villages/<hall_code>/cadres"): {"json": {"usernames": []}},
        ("POST", "/villages/<hall_code>/roster"): {"query_string": {
            "month": date.today().strftime("%Y-%m")}},
        ("GET", "/villages/<hall_code>/roster"): {"query_string": {
            "month": date.today().strftime("%Y-%m")}},
        ("PUT", "/villages/<hall_code>/roster/<day>"): {"json": {"username": f"agent-{code}"}},
        ("POST", "/letters"): {"json": {"month": date.today().strftime("%Y-%m"),
                                        "kind": "reminder", "county": code}},
    }.get((method, rule), {})
    return path, kwargs


def follow(kind: str, token: str | None, target: dict) -> str:
    """Ask /live for a room of ``kind`` in ``target``'s hall as the socket's connect handler
    does: "joined" when the client is put in that room, else the refusal or the rooms given."""
    from realtime.access import Refused, Request, plan
    from realtime.socket import _actor
    code = target["code"]
    want = {"hall": Request(hall=code), "staff": Request(hall=code),
            "window": Request(hall=code, window=f"{code}-1"),
            "track": Request(hall=code, track=target["waiting"]["track_token"])}[kind]
    try:
        rooms = plan(_actor(token), want).rooms
    except Refused as refused:
        return f"refused ({refused.code})"
    finally:
        db.session.rollback()
    wanted = {"hall": {f"hall:{code}", f"staff:{code}"}, "staff": {f"staff:{code}"},
              "window": {f"window:{code}-1"},
              "track": {f"track:{target['waiting']['track_token']}"}}[kind]
    return "joined" if wanted & set(rooms) else f"given only {rooms}"


def test_every_declared_endpoint_has_a_row(app):  # the app imports every API module
    declared = {(spec.method, spec.rule) for spec in ENDPOINTS}
    tabled = {(method, rule) for method, rule, _ in MATRIX if method != "LIVE"}
    assert not declared - tabled, f"endpoints without an access row: {sorted(declared - tabled)}"
    assert not tabled - declared, f"rows for endpoints that do not exist: {sorted(tabled - declared)}"
    for row, cells in MATRIX.items():
        assert all(len(c) == len(PRINCIPALS) and set(c) <= {"Y", "."} for c in cells), row
    assert {rule for method, rule, _ in MATRIX if method == "LIVE"} == set(ROOM_KINDS)


def test_access_matrix(client, counties):
    wrong, checked = [], 0
    own_tokens = counties["own"]["tokens"]
    for (method, rule, variant), cells in MATRIX.items():
        for side, expected_row in zip(("own", "other"), cells):
            for principal, expected in zip(PRINCIPALS, expected_row):
                token = own_tokens.get(principal)
                checked += 1
                if method == "LIVE":
                    outcome = follow(rule, token, counties[side])
                    if (outcome == "joined") != (expected == "Y"):
                        wrong.append(f"/live {rule} room {principal}@{side}: {outcome}, expected "
                                     f"{'join' if expected == 'Y' else 'refusal'}")
                    continue
                path, kwargs = request_for(method, rule, variant, counties[side])
                headers = bearer(token) if token else {}
                answer = client.open(path, method=method, headers=headers, **kwargs)
                denied = answer.status_code in (401, 403)
                where = f"{method} {rule} {variant} {principal}@{side}: {answer.status_code}"
                if answer.status_code >= 500:
                    wrong.append(f"{where} (server error)")
                elif denied != (expected == "."):
                    wrong.append(f"{where}, expected {'deny' if expected == '.' else 'allow'} "
                                 f"{answer.get_json(silent=True)}")
    print(f"\naccess matrix: {checked} cells checked over {len(MATRIX)} rows (API endpoints "
          f"and /live rooms) × {len(PRINCIPALS)} callers × own/other hall")
    assert not wrong, "\n".join(wrong)
    assert checked == len(MATRIX) * len(PRINCIPALS) * 2
