"""Paper tickets: ESC/POS bytes (GB18030), printer selection from config, printing after commit."""
from __future__ import annotations

from datetime import datetime

import pytest
from escpos.printer import Dummy

from kiosks import printing
from kiosks.printing import PrinterConfigError, TicketSlip, parse_printer, print_slip, render
from tests.factories import bearer, token_for

SLIP = TicketSlip(hall_name="绥德县政务服务中心", number="A007", item_name="户籍迁移登记",
                  waiting_ahead=3, estimated_wait_minutes=15,
                  issued_at=datetime(2026, 11, 27, 9, 5), track_url="http://hall.test/t/abc123")


def rendered(slip: TicketSlip = SLIP) -> bytes:
    p = Dummy()
    render(p, slip)
    return p.output


def test_slip_is_gb18030_with_number_notice_and_qr():
    out = rendered()
    assert "绥德县政务服务中心".encode("gb18030") in out
    assert b"A007" in out
    assert "户籍迁移登记".encode("gb18030") in out
    assert "前面等候：3 人".encode("gb18030") in out
    assert "2026-11-27 09:05".encode() in out
    assert "叫号三次未到窗口办理，本单作废".encode("gb18030") in out
    # The QR code (GS ( k, store data) carries the tracking URL.
    assert b"\x1d(k" in out and b"http://hall.test/t/abc123" in out
    # Big number: character size 4x4 (GS ! 0x33) just before it; then a cut (GS V).
    assert out.index(b"\x1d!3") < out.index(b"A007")
    assert b"\x1dV" in out[-4:]
    # Not UTF-8: a printer in GB18030 mode would print garbage.
    assert "叫号三次".encode("utf-8") not in out


@pytest.mark.parametrize("spec, expected", [
    ("", None),
    ("network:192.0.2.5:9100", ("network", {"host": "192.0.2.5", "port": 9100})),
    ("network:printer.local", ("network", {"host": "printer.local", "port": 9100})),
    ("usb:0x0416:0x5011", ("usb", {"idVendor": 0x0416, "idProduct": 0x5011})),
    ("file:/dev/usb/lp0", ("file", {"devfile": "/dev/usb/lp0"})),
])
def test_printer_spec_is_parsed(spec, expected):
    assert parse_printer(spec) == expected


@pytest.mark.parametrize("spec", ["lpt:1", "network:", "network:host:port", "usb:zz:1", "file:"])
def test_bad_printer_spec_is_refused_clearly(spec):
    with pytest.raises(PrinterConfigError, match="SERVICE_HALL_PRINTER"):
        parse_printer(spec)


def test_print_to_file_backend(tmp_path):
    target = tmp_path / "lp0"
    assert print_slip(f"file:{target}", SLIP) is True
    data = target.read_bytes()
    assert b"A007" in data and "本单作废".encode("gb18030") in data


def test_printer_fault_never_raises(tmp_path):
    assert print_slip(f"file:{tmp_path}/missing-dir/lp0", SLIP) is False
    assert print_slip("", SLIP) is False
    assert print_slip("bogus:1", SLIP) is False


def test_kiosk_ticket_is_printed_after_commit_once(app, client, factory, monkeypatch):
    setup = factory.hall_setup()
    app.config["SERVICE_HALL"].printer = "file:/dev/null"
    printed: list[tuple[TicketSlip, bool]] = []

    def fake_print(spec, slip):
        from kiosks.models import Ticket
        from service_hall.extensions import db
        # The ticket is committed before printing: a fresh connection sees it.
        with db.engine.connect() as conn:
            from sqlalchemy import select
            row = conn.execute(select(Ticket.number).where(Ticket.number == slip.number)).first()
        printed.append((slip, row is not None))
        return True

    monkeypatch.setattr("kiosks.api.print_slip", fake_print)
    headers = {**bearer(setup["kiosk"]), "Idempotency-Key": "press-1"}
    first = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"}, headers=headers)
    assert first.status_code == 201 and first.get_json()["printed"] is True
    again = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"}, headers=headers)
    assert again.get_json()["number"] == first.get_json()["number"]
    assert again.get_json()["printed"] is False  # a retry never prints a second slip
    assert len(printed) == 1
    slip, committed = printed[0]
    assert committed and slip.number == "A001" and slip.hall_name == "大厅C1"
    assert slip.track_url.endswith("/t/" + first.get_json()["track_token"])


def test_no_personal_data_on_the_slip(app, client, factory, monkeypatch):
    setup = factory.hall_setup()
    factory.user("desk-zhang", "clerk", setup["hall"], name="张三丰")
    app.config["SERVICE_HALL"].printer = "file:/dev/null"
    outputs = []

    def capture(spec, slip):
        p = Dummy()
        render(p, slip)
        outputs.append(p.output)
        return True

    monkeypatch.setattr("kiosks.api.print_slip", capture)
    answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I2",
                                                           "green_channel": True},
                         headers=bearer(setup["kiosk"]))
    assert answer.status_code == 201
    out = outputs[0]
    assert b"V001" in out
    for private in ("张三丰", "desk-zhang", "kiosk-C1", "绿色通道"):
        assert private.encode("gb18030") not in out


def test_clerk_issued_ticket_is_not_printed_on_the_hall_printer(app, client, factory, monkeypatch):
    setup = factory.hall_setup()
    app.config["SERVICE_HALL"].printer = "file:/dev/null"
    monkeypatch.setattr("kiosks.api.print_slip", lambda spec, slip: pytest.fail("printed"))
    token = token_for(client, setup["clerks"][0].username)
    answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                         headers=bearer(token))
    assert answer.status_code == 201 and "printed" not in answer.get_json()


def test_without_printer_the_kiosk_is_told_nothing_printed(client, factory):
    setup = factory.hall_setup()
    answer = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                         headers=bearer(setup["kiosk"]))
    assert answer.get_json()["printed"] is False
    assert printing.open_printer("") is None
