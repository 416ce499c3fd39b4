"""The next-ticket rule of SPEC 3.2: appointments, transferred-in, green:ordinary 1:2, FIFO."""
from datetime import timedelta

from service_hall.clock import now
from tests.factories import Desk
from windows.queue import advance_cycle, mix_order


def _drain(desk: Desk, window: str) -> list[str]:
    served = []
    while (number := desk.serve(window)) is not None:
        served.append(number)
    return served


def test_fifo_within_ordinary(client, factory):
    desk = Desk(client, factory.hall_setup("C1", windows=1, items=2))
    for code in ("C1-I1", "C1-I2", "C1-I1"):
        desk.issue(code)
    desk.open("C1-1")
    assert _drain(desk, "C1-1") == ["A001", "B001", "A002"]


def test_green_and_ordinary_interleave_one_to_two(client, factory):
    desk = Desk(client, factory.hall_setup("C1", windows=1, items=1))
    for _ in range(6):
        desk.issue("C1-I1")
    for _ in range(3):
        desk.issue("C1-I1", green=True)
    desk.open("C1-1")
    assert _drain(desk, "C1-1") == ["V001", "A001", "A002", "V002", "A003", "A004", "V003",
                                    "A005", "A006"]


def test_green_not_starved_when_it_arrives_late_and_ordinary_not_starved_by_green(client, factory):
    desk = Desk(client, factory.hall_setup("C1", windows=1, items=1))
    desk.open("C1-1")
    for _ in range(4):
        desk.issue("C1-I1")
    # No green waiting: ordinary tickets are taken (the green turn is not wasted for ever).
    assert desk.serve("C1-1") == "A001"
    desk.issue("C1-I1", green=True)
    desk.issue("C1-I1", green=True)
    desk.issue("C1-I1", green=True)
    # At most two ordinary tickets pass a waiting green one; greens never take three turns in a row.
    assert _drain(desk, "C1-1") == ["A002", "V001", "A003", "A004", "V002", "V003"]


def test_transferred_in_goes_before_green_and_ordinary(client, factory):
    desk = Desk(client, factory.hall_setup("C1", windows=2, items=1))
    desk.open("C1-1")
    desk.open("C1-2")
    desk.issue("C1-I1")            # A001
    desk.issue("C1-I1", green=True)  # V001
    desk.issue("C1-I1")            # A002
    assert desk.call("C1-1") == "V001"
    desk.act("C1-1", "transfer", window_number=2)
    assert desk.serve("C1-2") == "V001"  # transferred in: first, keeps its number
    assert desk.serve("C1-2") == "A001"


def test_started_appointments_come_first_and_future_ones_wait(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=1)
    desk = Desk(client, setup)
    desk.issue("C1-I1")
    desk.issue("C1-I1", green=True)
    clerk = desk.clerk("C1-1")
    started = (now() - timedelta(minutes=5)).isoformat()
    later = (now() + timedelta(hours=2)).isoformat()
    for slot in (later, started):
        answer = client.post("/api/v1/halls/C1/tickets", headers=clerk,
                             json={"item_code": "C1-I1", "appointment_at": slot})
        assert answer.status_code == 201
    desk.open("C1-1")
    # Y002 (slot started) first; Y001's slot is in two hours, so it is not called today yet.
    assert _drain(desk, "C1-1") == ["Y002", "V001", "A001"]


def test_kiosk_cannot_check_in_appointments(client, factory):
    desk = Desk(client, factory.hall_setup("C1", windows=1, items=1))
    answer = client.post("/api/v1/halls/C1/tickets", headers=desk.kiosk,
                         json={"item_code": "C1-I1", "appointment_at": now().isoformat()})
    assert answer.status_code == 403


def test_window_only_calls_items_it_serves(client, factory):
    setup = factory.hall_setup("C1", windows=1, items=2)
    other = factory.window(setup["hall"], 2, [setup["items"][1]], setup["department"])
    factory.clerk(other)
    desk = Desk(client, setup)
    desk.issue("C1-I1")
    desk.open("C1-2")
    assert desk.call("C1-2") is None  # A001 is for item 1, which window 2 does not serve


def test_mix_cycle_rule_for_other_ratios():
    ratio = (2, 3)
    cycle, order = 0, []
    for _ in range(10):
        preferred, _other = mix_order(cycle, ratio)
        order.append(preferred[0])
        cycle = advance_cycle(cycle, preferred, ratio)
    assert "".join(order) == "ggoooggooo"
