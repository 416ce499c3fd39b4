"""Nothing personal on anything public (SPEC 7, issue 8).

A small hall is seeded with distinctive names (clerks, an agent, an applicant, a citizen who
types their name and phone into a rating comment, a clerk who names himself in a pause reason),
a real ID number and phone numbers, and worked through a day: tickets issued, called, recalled,
transferred, served, a no-show, a case accepted, ratings. Then everything the public can see
is crawled: every GET page of the url_map that answers without a login (real path values,
real track tokens), every public API answer, the public events in the event log, the bytes a
kiosk prints (once ``kiosks/printing.py`` is in the tree), and what a display board and a phone
following its ticket receive over Socket.IO. None may contain a
seeded name (or its masked form), an 18-character ID number or a mobile phone number.
"""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from realtime.models import Event
from service_hall import privacy
from service_hall.api import ENDPOINTS
from service_hall.auth.models import User
from service_hall.calendar.operations import seed_calendar
from service_hall.extensions import db
from tests.factories import bearer, token_for
from tests.live_server import LiveClient
from tests.browsing import fill, page_rules

APPLICANT = {"name": "欧阳锋", "id_number": "11010519491231002X", "phone": "13800138000"}
CLERKS = {"clerk-C1-1": "张三丰", "clerk-C1-2": "李寻欢"}
AGENT_NAME, ADMIN_NAME, CITIZEN_NAME = "周伯通", "王重阳", "黄药师"
STAFF_PHONE, CITIZEN_PHONE = "13912345678", "13711112222"
VILLAGER = {"name": "洪七公", "id_number": "11010519491231002X", "phone": "13611112222"}
NAMES = [*CLERKS.values(), AGENT_NAME, ADMIN_NAME, CITIZEN_NAME, APPLICANT["name"],
         VILLAGER["name"]]
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def readable(answer) -> str:
    """An answer's text with JSON's \\u escapes decoded (a name must be found however sent)."""
    if answer.is_json:
        return json.dumps(answer.get_json(), ensure_ascii=False)
    if answer.mimetype.startswith("text/") or answer.mimetype.endswith(("xml", "javascript")):
        return answer.get_data(as_text=True)
    return answer.get_data().decode("latin-1")  # images (QR codes): any embedded text as is


CITIZEN_NAMES = [CITIZEN_NAME, APPLICANT["name"], VILLAGER["name"]]
# The public duty boards name the staff on duty and the service card gives cadres' work phones
# (SPEC 3.8): there only citizens' data must never appear.
STAFF_BOARDS = ("/board/", "/v/", "/api/v1/halls/C1/board", "/api/v1/villages/")


def leaks(text: str, *, staff_board: bool = False) -> list[str]:
    names = CITIZEN_NAMES if staff_board else NAMES
    found = [name for name in names if name in text]
    found += [privacy.mask_name(name) for name in names if privacy.mask_name(name) in text]
    found += ID_NUMBER.findall(text)
    phones = PHONE.findall(text)
    found += [p for p in phones if p != STAFF_PHONE] if staff_board else phones
    return found


@pytest.fixture()
def day(client, factory):
    """C1 with two windows worked through a day; its tokens and track tokens."""
    year = date.today().year
    seed_calendar(year, year, weekends_only=True)
    setup = factory.hall_setup("C1", windows=2, items=2)
    township = factory.hall("C1T", level="township", parent=setup["hall"])
    village = factory.hall("C1V", level="village", parent=township)
    factory.user("agent-C1V", "agent", village, name=AGENT_NAME)
    factory.user("admin", "admin", setup["hall"], name=ADMIN_NAME)
    for user in db.session.scalars(select(User)):
        user.name = CLERKS.get(user.username, user.name)
        user.phone = STAFF_PHONE
    db.session.commit()
    kiosk, clerks = bearer(setup["kiosk"]), {}
    for n in (1, 2):
        clerks[n] = bearer(token_for(client, f"clerk-C1-{n}"))
        assert client.put(f"/api/v1/windows/C1-{n}/state", json={"state": "idle"},
                          headers=clerks[n]).status_code == 200
    answers = []

    def call(method, path, headers=None, expect=200, **kwargs):
        answer = client.open(path, method=method, headers=headers or {}, **kwargs)
        assert answer.status_code == expect, (path, answer.get_json())
        answers.append(answer)
        return answer.get_json()

    tickets = [call("POST", "/api/v1/halls/C1/tickets", kiosk, 201,
                    json={"item_code": f"C1-I{1 + n % 2}", "green_channel": n == 0})
               for n in range(6)]
    w1 = "/api/v1/windows/C1-1"
    call("POST", f"{w1}/call-next", clerks[1])
    call("POST", f"{w1}/recall", clerks[1])
    call("POST", f"{w1}/start", clerks[1])
    call("POST", "/api/v1/cases", clerks[1], 201, json={
        "item_code": "C1-I1", "ticket_id": tickets[0]["id"], "applicant": APPLICANT})
    call("POST", f"{w1}/finish", clerks[1])
    call("POST", f"{w1}/call-next", clerks[1])
    call("POST", f"{w1}/transfer", clerks[1], json={"window_number": 2})
    call("POST", f"{w1}/call-next", clerks[1])
    call("POST", f"{w1}/no-show", clerks[1])
    call("PUT", f"{w1}/state", clerks[1], json={"state": "paused",
                                                "reason": f"{CLERKS['clerk-C1-1']}去开会 {STAFF_PHONE}"})
    call("POST", "/api/v1/windows/C1-2/call-next", clerks[2])
    call("POST", "/api/v1/ratings", None, 201, json={
        "level": 1, "track_token": tickets[0]["track_token"],
        "comment": f"我是{CITIZEN_NAME}，电话{CITIZEN_PHONE}，身份证{APPLICANT['id_number']}"})
    errand = call("POST", "/api/v1/errands", bearer(token_for(client, "agent-C1V")), 201,
                  json={"item_code": "C1-I1", "villager": VILLAGER, "note": VILLAGER["name"]})
    db.session.commit()
    return {"setup": setup, "tickets": tickets, "answers": answers, "errand": errand,
            "display": factory.device(setup["hall"], "display")}


def printed_slip(answer: dict) -> str | None:
    """The bytes a kiosk's thermal printer gets for a ticket (python-escpos ``Dummy``), as text;
    None while the printing module (branch ``pages``) is not in this tree."""
    try:
        from escpos.printer import Dummy

        from kiosks.api import slip_for
        from kiosks.printing import render
    except ImportError:
        return None
    printer = Dummy()
    render(printer, slip_for(answer))
    return printer.output.decode("gb18030", errors="replace")


def _at_village(rule: str, values: dict) -> dict:
    """Village-point routes (the point's page, card, roster) name the village point."""
    if rule.startswith(("/v/", "/villages/")):
        return {**values, "hall_code": "C1V"}
    return values


def _public_api_paths(values: dict) -> list[str]:
    queries = {"/calendar": f"?year={date.today().year}",
               "/calendar/due": f"?from={date.today().isoformat()}&working_days=3"}
    return ["/api/v1" + fill(spec.rule, _at_village(spec.rule, values)) + queries.get(spec.rule, "")
            for spec in ENDPOINTS if spec.allow is None and spec.method == "GET"]


def test_public_pages_api_answers_and_events_carry_no_personal_data(app, client, day):
    problems, crawled = [], 0
    tokens = [t["track_token"] for t in day["tickets"]] + [day["errand"]["track_token"]]

    def check(where: str, text: str) -> None:
        nonlocal crawled
        crawled += 1
        found = leaks(text, staff_board=where.startswith(STAFF_BOARDS))
        if found:
            problems.append(f"{where}: {found}")

    # what the kiosk screen shows and prints after each ticket
    for answer in day["answers"]:
        if answer.request.path.endswith("/tickets"):
            check("kiosk answer", readable(answer))
            slip = printed_slip(answer.get_json())
            if slip is not None:
                check(f"printed ticket {answer.get_json()['number']}", slip)
    public = []
    for token in tokens:
        values = {"hall_code": "C1", "token": token, "name": "departments",
                  "window_code": "C1-1", "code": "C1",
                  "letter_id": "00000000-0000-0000-0000-000000000000",
                  "errand_id": "00000000-0000-0000-0000-000000000000", "action": "submit",
                  "day": "2026-11-27", "key": "qing"}
        if token == day["errand"]["track_token"]:  # the errand's QR pages, at its village point
            values["hall_code"] = "C1V"
        for rule in page_rules(app, "GET"):
            if ("/e/" in rule.rule or "/errands/track/" in rule.rule) != (
                    token == day["errand"]["track_token"]):
                continue  # ticket tokens open ticket pages, the errand's token errand pages
            public.append(fill(rule.rule, _at_village(rule.rule, values)))
        public += [path for path in _public_api_paths(values)
                   if ("/errands/track/" in path) == (token == day["errand"]["track_token"])]
    for path in sorted(set(public)):
        answer = client.get(path)
        if answer.status_code in (301, 302) and "/login" in answer.headers.get("Location", ""):
            continue  # not public
        assert answer.status_code == 200, (path, answer.status_code)
        check(path, readable(answer))
    db.session.rollback()
    events = db.session.scalars(select(Event).where(Event.audience == "public")).all()
    assert {"ticket.issued", "ticket.called", "ticket.transferred", "window.state"} <= {
        e.type for e in events}
    for event in events:
        check(f"event {event.seq} {event.type}", json.dumps(event.envelope(), ensure_ascii=False))
    printed = printed_slip(day["tickets"][0]) is not None
    print(f"\nprivacy crawl: {crawled} public answers and events checked "
          f"({len(set(public))} paths, {len(events)} public events, printed tickets "
          f"{'checked' if printed else 'not in this tree yet'})")
    assert not problems, "\n".join(problems)
    # the seeded data really exists where staff may see it (the crawl could find it)
    staff = client.get("/api/v1/halls/C1/cases", headers=bearer(token_for(client, "admin")))
    assert privacy.mask_name(APPLICANT["name"]) in leaks(readable(staff))


def test_display_and_phone_sockets_receive_no_personal_data(live_server, day):
    db.session.commit()  # SQLite: release the test's transaction before the server reads
    display = LiveClient(live_server, token=day["display"], since=0).connect()
    phones = [LiveClient(live_server, track=t["track_token"], since=0).connect()
              for t in day["tickets"][:3]]
    board = LiveClient(live_server, hall="C1", since=0).connect()
    try:
        received = []
        for live in (display, board, *phones):
            live.wait_ready()
            received += live.events
        # a live event too, not only the replay
        kiosk = day["setup"]["kiosk"]
        assert live_server.post("/api/v1/halls/C1/tickets", kiosk,
                                {"item_code": "C1-I1"}).status_code == 201
        display.wait_for(lambda evs: sum(1 for e, _ in evs if e == "ticket.issued") >= 7)
        received += display.events
        types = {event for event, _ in received}
        # (window states go to staff and pads only: realtime.publish.NOT_FOR_HALL_SCREENS)
        assert {"ticket.called", "ticket.issued"} <= types, types
        found = [(event, leaks(json.dumps(data, ensure_ascii=False)))
                 for event, data in received if leaks(json.dumps(data, ensure_ascii=False))]
        print(f"\nprivacy over Socket.IO: {len(received)} messages to a display, a board and "
              f"{len(phones)} phones checked")
        assert not found, found
    finally:
        for live in (display, board, *phones):
            live.close()
