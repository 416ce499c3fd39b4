"""Paper tickets on an ESC/POS thermal printer (python-escpos).

The printer is named by ``SERVICE_HALL_PRINTER``: ``network:HOST[:PORT]``, ``usb:VID:PID``
(hex, e.g. ``usb:0x0416:0x5011``), ``file:/dev/usb/lp0``, or empty for none. Text goes out as
GB18030. Printing runs after the ticket's transaction commits, from plain values (a
:class:`TicketSlip`), never from ORM objects or inside a transaction: a jammed printer must not
lose or block a ticket. A slip carries the ticket number only, never personal data.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from escpos.escpos import Escpos

from windows.operations import NO_SHOW_NOTICE

log = logging.getLogger(__name__)
NETWORK_TIMEOUT = 5  # seconds: a kiosk must not hang on a dead printer
BACKENDS = ("network", "usb", "file")


class PrinterConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TicketSlip:
    """Everything printed on a ticket: public values only."""

    hall_name: str
    number: str
    item_name: str
    waiting_ahead: int
    estimated_wait_minutes: int
    issued_at: datetime          # local time of the hall
    track_url: str


def parse_printer(spec: str | None) -> tuple[str, dict] | None:
    """``network:192.0.2.5:9100`` → ("network", {...}); empty → None; nonsense → error."""
    spec = (spec or "").strip()
    if not spec:
        return None
    backend, _, rest = spec.partition(":")
    if backend == "network":
        host, _, port = rest.partition(":")
        if not host:
            raise PrinterConfigError(f"SERVICE_HALL_PRINTER: no host in {spec!r}")
        try:
            return backend, {"host": host, "port": int(port or 9100)}
        except ValueError:
            raise PrinterConfigError(f"SERVICE_HALL_PRINTER: bad port in {spec!r}") from None
    if backend == "usb":
        vendor, _, product = rest.partition(":")
        try:
            return backend, {"idVendor": int(vendor, 16), "idProduct": int(product, 16)}
        except ValueError:
            raise PrinterConfigError(
                f"SERVICE_HALL_PRINTER: usb needs VID:PID in hex, got {spec!r}") from None
    if backend == "file":
        if not rest:
            raise PrinterConfigError(f"SERVICE_HALL_PRINTER: no device file in {spec!r}")
        return backend, {"devfile": rest}
    raise PrinterConfigError(
        f"SERVICE_HALL_PRINTER must start with one of {', '.join(BACKENDS)}: got {spec!r}")


def open_printer(spec: str | None) -> Escpos | None:
    parsed = parse_printer(spec)
    if parsed is None:
        return None
    backend, args = parsed
    from escpos import printer
    if backend == "network":
        return printer.Network(args["host"], port=args["port"], timeout=NETWORK_TIMEOUT)
    if backend == "usb":
        return printer.Usb(args["idVendor"], args["idProduct"])
    return printer.File(args["devfile"])


def render(p: Escpos, slip: TicketSlip) -> None:
    """Lay the ticket out: hall, number (big), item, queue, time, notice, QR code."""
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p.textln(slip.hall_name)
    p.set(align="center", bold=False, normal_textsize=True)
    p.textln("排队凭条")
    p.ln()
    p.set(align="center", bold=True, custom_size=True, width=4, height=4)
    p.textln(slip.number)
    p.set(align="center", bold=False, normal_textsize=True)
    p.ln()
    p.set(align="left", double_height=True)
    p.textln(f"办理事项：{slip.item_name}")
    p.textln(f"前面等候：{slip.waiting_ahead} 人")
    p.textln(f"预计等候：约 {slip.estimated_wait_minutes} 分钟")
    p.set(align="left", normal_textsize=True)
    p.textln(f"取号时间：{slip.issued_at:%Y-%m-%d %H:%M}")
    p.ln()
    p.set(align="center", bold=True)
    p.textln(f"{NO_SHOW_NOTICE}。")
    p.set(align="center", bold=False)
    p.textln("扫码查看排队进度、评价服务")
    p.qr(slip.track_url, size=6, native=True)
    p.ln()
    p.textln("请妥善保管，过号请到窗口咨询")
    p.cut()


def print_slip(spec: str | None, slip: TicketSlip) -> bool:
    """Print one ticket; True when it went out. Errors are logged, never raised: the ticket is
    already committed and shown on screen with its QR code."""
    try:
        p = open_printer(spec)
    except PrinterConfigError:
        log.exception("ticket printer misconfigured")
        return False
    if p is None:
        return False
    try:
        render(p, slip)
        return True
    except Exception:  # noqa: BLE001 - any printer fault (paper, cable, USB) is the same to us
        log.exception("printing ticket %s failed", slip.number)
        return False
    finally:
        try:
            p.close()
        except Exception:  # noqa: BLE001
            pass
