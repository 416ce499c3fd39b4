"""SPEC 5 with real Socket.IO clients against real server processes (gevent)."""
from __future__ import annotations

import json
import threading

import pytest
import requests
from sqlalchemy import select

from kiosks.models import Ticket
from realtime.events import record_event
from realtime.models import Event
from service_hall.auth.models import Device
from service_hall.auth.operations import hash_device_token
from service_hall.extensions import db
from tests.conftest import IS_POSTGRES
from tests.factories import token_for
from tests.live_server import LiveClient
from tests.realtime.helpers import ENVELOPE_KEYS, HallDriver, hall_events, seqs, settle
from windows.models import Window

# What a public client may ever see in an event's data: numbers, windows, counts, texts.
PUBLIC_DATA_KEYS = {"number", "window_number", "window_code", "item_code", "status", "call",
                    "announcement", "spoken", "segments", "waiting", "state", "to_item_code",
                    "to_window_number"}


@pytest.fixture()
def connect():
    opened: list[LiveClient] = []

    def make(server, **auth) -> LiveClient:
        settle()
        live = LiveClient(server, **auth)
        opened.append(live)
        return live

    yield make
    for live in opened:
        live.close()


def called(envelopes):
    return [(e["data"]["number"], e["data"]["window_number"], e["data"]["announcement"])
            for e in envelopes if e["type"] == "ticket.called"]


def test_display_gets_every_call_of_its_hall_and_nothing_else(live_server, client, factory,
                                                               connect):
    h1 = HallDriver(factory.hall_setup("H1", windows=2, items=1), client)
    h2 = HallDriver(factory.hall_setup("H2", windows=1, items=1), client)
    display = connect(live_server, token=factory.device(h1.hall, "display")).connect()
    assert display.wait_ready()["seq"] == 0

    for hall, window in ((h1, 0), (h1, 1), (h2, 0)):
        hall.open(live_server, window)
    h1.issue(live_server, 3)
    h2.issue(live_server, 2)
    for hall, window, action in ((h1, 0, "call-next"), (h2, 0, "call-next"),
                                 (h1, 1, "call-next"), (h1, 0, "no-show"),
                                 (h2, 0, "no-show"), (h2, 0, "call-next"),
                                 (h1, 0, "call-next")):
        hall.act(live_server, window, action)
    # A fence: an H2 event wrongly sent to this display would have come before it.
    last = h1.issue(live_server)[0]

    events = hall_events(display.wait_for(lambda evs: any(
        d.get("data", {}).get("number") == last for _, d in evs if isinstance(d, dict))))
    assert called(events) == [("A001", 1, "请A001号到1号窗口办理"),
                              ("A002", 2, "请A002号到2号窗口办理"),
                              ("A003", 1, "请A003号到1号窗口办理")]
    assert {e["hall"] for e in events} == {"H1"}
    # every public event of the hall but the window states (staff and pads get those), no gap
    settle()
    logged = db.session.execute(select(Event.seq, Event.type).where(
        Event.hall_id == h1.hall.id, Event.audience == "public").order_by(Event.seq)).all()
    assert seqs(events) == [seq for seq, type_ in logged if type_ != "window.state"]
    assert "window.state" in {type_ for _seq, type_ in logged}


def _resume_misses_exactly_the_missed(display_server, api_server, factory, client, connect):
    h1 = HallDriver(factory.hall_setup("H1", windows=1, items=1), client)
    display_token = factory.device(h1.hall, "display")
    first = connect(display_server, token=display_token).connect()
    first.wait_ready()
    h1.issue(api_server)
    seen = hall_events(first.wait_for(lambda evs: len(hall_events(evs)) == 1))[-1]["seq"]
    first.close()

    missed = h1.issue(api_server, 50)
    again = connect(display_server, token=display_token, since=seen).connect()
    ready = again.wait_ready()
    replayed = hall_events(again.events)
    assert ready == {"hall": "H1", "seq": seen + 50, "replayed": 50}
    assert seqs(replayed) == list(range(seen + 1, seen + 51))
    assert [e["data"]["number"] for e in replayed] == missed
    assert {e["type"] for e in replayed} == {"ticket.issued"}

    h1.open(api_server, 0)
    h1.act(api_server, 0, "call-next")
    events = again.wait_for(lambda evs: any(e == "ticket.called" for e, _ in evs))
    live = hall_events(events[events.index(("ready", ready)) + 1:])
    # seen + 51, + 52 are the window's states: not sent to hall screens
    assert [(e["type"], e["seq"]) for e in live] == [("ticket.called", seen + 53)]
    assert len(hall_events(events)) == 50 + 1


def test_reconnect_with_since_gets_exactly_the_missed_events_then_live(
        live_server, factory, client, connect):
    _resume_misses_exactly_the_missed(live_server, live_server, factory, client, connect)


def test_displays_resuming_together_while_tickets_are_taken_miss_nothing(
        live_server, factory, client, connect):
    """A reconnect storm: the displays share reads of the log (realtime/replay.py) while new
    events keep coming; each still gets every event after its since, in order."""
    h1 = HallDriver(factory.hall_setup("H1", windows=1, items=1), client)
    token = factory.device(h1.hall, "display")
    h1.issue(live_server, 6)
    displays = [connect(live_server, token=token, since=2) for _ in range(8)]

    def take(n: int) -> None:
        for _ in range(n):
            answer = requests.post(f"{live_server.url}/api/v1/halls/H1/tickets", timeout=10,
                                   json={"item_code": h1.item_code},
                                   headers={"Authorization": f"Bearer {h1.kiosk}"})
            assert answer.status_code == 201, answer.text
    threads = [threading.Thread(target=take, args=(10,))] + [
        threading.Thread(target=display.connect) for display in displays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for display in displays:
        events = display.wait_for(lambda evs: 16 in seqs(hall_events(evs)))
        kept, last = [], 2
        for envelope in hall_events(events):   # the client rule: drop seq <= last seen
            if envelope["seq"] > last:
                kept.append(envelope["seq"])
                last = envelope["seq"]
        assert kept == list(range(3, 17))
        ready = next(data for name, data in events if name == "ready")
        assert ready["replayed"] >= 4


def test_resume_across_two_processes_sharing_redis(redis_url, start_servers, factory, client,
                                                   connect):
    display_side, api_side = start_servers(2, redis_url=redis_url)
    _resume_misses_exactly_the_missed(display_side, api_side, factory, client, connect)


def test_clerk_socket_stays_in_its_hall_and_window(live_server, factory, client, connect):
    h1 = HallDriver(factory.hall_setup("H1", windows=2, items=1), client)
    h2 = HallDriver(factory.hall_setup("H2", windows=1, items=1), client)
    clerk = h1.clerks[0]

    def refusal(**auth):
        answer = connect(live_server, **auth).try_connect()
        assert answer is not None, f"{auth} was accepted"
        return answer["data"]["code"]

    assert refusal(token=clerk, hall="H2") == "out_of_scope"
    assert refusal(token=clerk, hall="H1", window="H1-2") == "not_your_window"
    assert refusal(token=clerk, hall="NOPE") == "unknown_hall"
    assert refusal(token="not-a-token", hall="H1") == "invalid_token"
    assert refusal(token=factory.device(h1.hall, "display"), hall="H2") == "out_of_scope"
    assert refusal(hall="H1", window="H1-1") == "forbidden"
    assert refusal(hall="H1", since=-1) == "bad_request"

    mine = connect(live_server, token=clerk, hall="H1", window="H1-1").connect()
    assert mine.wait_ready()["hall"] == "H1"
    assert mine.call("subscribe", {"hall": "H2"})["error"]["code"] == "out_of_scope"
    assert mine.call("subscribe", {"window": "H1-2"})["error"]["code"] == "not_your_window"
    assert mine.of_type("error")[0]["code"] == "out_of_scope"
    h2.open(live_server, 0)
    h1.open(live_server, 1)
    events = hall_events(mine.wait_for(lambda evs: len(hall_events(evs)) == 1))
    assert [(e["hall"], e["type"], e["data"]["window_code"]) for e in events] == [
        ("H1", "window.state", "H1-2")]


def test_pad_follows_only_its_window(live_server, factory, client, connect):
    h1 = HallDriver(factory.hall_setup("H1", windows=2, items=1), client)
    window = db.session.scalars(select(Window).where(Window.code == "H1-1")).one()
    db.session.add(Device(name="pad-1", kind="pad", hall_id=h1.hall.id, window_id=window.id,
                          token_hash=hash_device_token("dev.pad-H1-1")))
    db.session.commit()
    assert connect(live_server, token="dev.pad-H1-1", window="H1-2").try_connect()[
        "data"]["code"] == "not_your_window"
    pad = connect(live_server, token="dev.pad-H1-1").connect()
    pad.wait_ready()
    h1.open(live_server, 1)
    h1.open(live_server, 0)
    events = hall_events(pad.wait_for(lambda evs: len(hall_events(evs)) == 1))
    assert [(e["type"], e["data"]["window_code"]) for e in events] == [
        ("window.state", "H1-1")]


def test_public_clients_get_public_events_without_personal_data(live_server, factory, client,
                                                                connect):
    h1 = HallDriver(factory.hall_setup("H1", windows=1, items=1), client)
    first, second = h1.issue(live_server, 2)
    record_event(db.session, h1.hall, "case.warning",  # staff only: it names the applicant
                 {"applicant": "张三", "phone": "13800000000", "case": "C-1"}, audience="staff")
    db.session.commit()
    tokens = list(db.session.scalars(select(Ticket.track_token).order_by(Ticket.number)))

    board = connect(live_server, hall="H1", since=0).connect()
    phone = connect(live_server, track=tokens[1], since=0).connect()
    staff = connect(live_server, token=h1.clerks[0], since=0).connect()
    assert board.wait_ready()["replayed"] == 2 and phone.wait_ready()["replayed"] == 1
    assert [e["type"] for e in hall_events(staff.wait_for(
        lambda evs: any(e == "ready" for e, _ in evs)))] == [
        "ticket.issued", "ticket.issued", "case.warning"]

    h1.open(live_server, 0)
    h1.act(live_server, 0, "call-next")
    h1.act(live_server, 0, "no-show")
    h1.act(live_server, 0, "call-next")
    board_events = hall_events(board.wait_for(
        lambda evs: len([e for e, _ in evs if e == "ticket.called"]) == 2))
    phone_events = hall_events(phone.wait_for(
        lambda evs: any(e == "ticket.called" for e, _ in evs)))

    assert called(board_events) == [("A001", 1, "请A001号到1号窗口办理"),
                                    ("A002", 1, "请A002号到1号窗口办理")]
    assert [(e["type"], e["data"]["number"]) for e in phone_events] == [
        ("ticket.issued", second), ("ticket.called", second)]
    for envelope in board_events + phone_events:
        assert set(envelope) == ENVELOPE_KEYS
        assert set(envelope["data"]) <= PUBLIC_DATA_KEYS, envelope
        sent = json.dumps(envelope, ensure_ascii=False)
        assert "张三" not in sent and not any(token in sent for token in tokens)
    assert "case.warning" not in {e["type"] for e in board_events + phone_events}


FAIL_TRIGGER_SQLITE = """
CREATE TRIGGER test_fail_called BEFORE INSERT ON events WHEN NEW.type = 'ticket.called'
BEGIN SELECT RAISE(ABORT, 'test: failing commit'); END"""
FAIL_TRIGGER_PG = [
    """CREATE OR REPLACE FUNCTION test_fail_called() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'test: failing commit'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER test_fail_called BEFORE INSERT ON events FOR EACH ROW
       WHEN (NEW.type = 'ticket.called') EXECUTE FUNCTION test_fail_called()""",
]


def _set_failing_commit(on: bool) -> None:
    with db.engine.begin() as conn:
        if on:
            for statement in (FAIL_TRIGGER_PG if IS_POSTGRES else [FAIL_TRIGGER_SQLITE]):
                conn.exec_driver_sql(statement)
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS test_fail_called"
                                 + (" ON events" if IS_POSTGRES else ""))


def test_nothing_is_emitted_for_a_rolled_back_transaction(live_server, factory, client,
                                                          connect):
    h1 = HallDriver(factory.hall_setup("H1", windows=1, items=1), client)
    h1.open(live_server, 0)
    h1.issue(live_server, 2)
    display = connect(live_server, token=factory.device(h1.hall, "display"), since=0).connect()
    staff = connect(live_server, token=h1.clerks[0], hall="H1", since=0).connect()
    before = display.wait_ready()["seq"]
    assert before == 3  # window.state, 2 × ticket.issued
    assert staff.wait_ready()["seq"] == 3

    _set_failing_commit(True)
    try:
        # call-next records window.state and ticket.called; the commit fails on the second.
        h1.act(live_server, 0, "call-next", expect=500)
    finally:
        _set_failing_commit(False)
    h1.act(live_server, 0, "call-next")

    events = hall_events(display.wait_for(
        lambda evs: any(e == "ticket.called" for e, _ in evs)))
    assert [(e["type"], e["seq"]) for e in events] == [  # no window states on a hall screen
        ("ticket.issued", 2), ("ticket.issued", 3), ("ticket.called", 5)]
    assert events[-1]["data"]["number"] == "A001"
    everything = hall_events(staff.wait_for(
        lambda evs: any(e == "ticket.called" for e, _ in evs)))
    assert [(e["type"], e["seq"]) for e in everything[3:]] == [("window.state", 4),
                                                               ("ticket.called", 5)]
    logged = db.session.scalars(select(Event.seq).where(Event.hall_id == h1.hall.id)
                                .order_by(Event.seq)).all()
    assert logged == [1, 2, 3, 4, 5]


def test_too_much_missed_or_unknown_since_asks_to_resync(start_servers, factory, client,
                                                         connect):
    (server,) = start_servers(1, replay_limit=5)
    h1 = HallDriver(factory.hall_setup("H1", windows=1, items=1), client)
    h1.issue(server, 7)
    token = factory.device(h1.hall, "display")
    assert connect(server, token=token, since=0).connect().wait_ready() == {
        "hall": "H1", "seq": 7, "missed": 7}
    assert connect(server, token=token, since=99).connect().wait_ready() == {
        "hall": "H1", "seq": 7, "missed": 0}
    resumed = connect(server, token=token, since=2).connect()
    assert resumed.wait_ready() == {"hall": "H1", "seq": 7, "replayed": 5}
    assert seqs(hall_events(resumed.events)) == [3, 4, 5, 6, 7]


def test_foreign_origin_is_refused(live_server, factory, connect):
    factory.hall_setup("H1", windows=1, items=1)
    stranger = connect(live_server, hall="H1")
    with pytest.raises(Exception):
        stranger.sio.connect(live_server.url, auth={"hall": "H1"}, namespaces=["/live"],
                             transports=["websocket"], wait_timeout=5,
                             headers={"Origin": "http://evil.example"})
    assert connect(live_server, hall="H1").connect().wait_ready()["hall"] == "H1"


def test_an_event_that_never_reached_the_server_is_read_from_the_log_in_order(
        live_server, factory, client, connect):
    h1 = HallDriver(factory.hall_setup("H1", windows=1, items=1), client)
    staff = connect(live_server, token=h1.clerks[0]).connect()
    staff.wait_ready()
    h1.issue(live_server)
    staff.wait_for(lambda evs: len(hall_events(evs)) == 1)
    # Committed by another process (here: the test's) and published only there, as a CLI job
    # without Redis would, or lost on the bus.
    record_event(db.session, h1.hall, "case.warning", {"case": "C-1"}, audience="staff")
    db.session.commit()
    h1.issue(live_server)
    events = hall_events(staff.wait_for(lambda evs: len(hall_events(evs)) == 3))
    assert [(e["type"], e["seq"]) for e in events] == [
        ("ticket.issued", 1), ("case.warning", 2), ("ticket.issued", 3)]


def test_supervisor_subscribes_to_a_township_with_since(live_server, factory, client, connect):
    county = HallDriver(factory.hall_setup("C1", windows=1, items=1), client)
    town = HallDriver(factory.hall_setup("T1", windows=1, items=1, level="township",
                                         parent=county.hall), client)
    factory.hall_setup("C2", windows=1, items=1)  # another county
    factory.user("sup-C1", "supervisor", county.hall)
    supervisor = connect(live_server, token=token_for(client, "sup-C1")).connect()
    assert supervisor.wait_ready()["hall"] == "C1"
    town.issue(live_server, 2)

    assert supervisor.call("subscribe", {"hall": "C2"})["error"]["code"] == "out_of_scope"
    assert supervisor.call("subscribe", {"hall": "T1", "since": 0}) == {
        "hall": "T1", "rooms": ["staff:T1"]}
    town.issue(live_server)
    events = supervisor.wait_for(lambda evs: len(hall_events(evs)) == 3)
    assert [(e["hall"], e["seq"]) for e in hall_events(events)] == [
        ("T1", 1), ("T1", 2), ("T1", 3)]
    assert [e for e, _ in events] == ["ready", "error", "ticket.issued", "ticket.issued",
                                      "ready", "ticket.issued"]  # replay, ready, live
