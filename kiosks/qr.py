"""QR codes of ticket tracking URLs, drawn on the server (no script or service from outside)."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def qr_svg(text: str) -> bytes:
    """A scalable SVG: sharp on a kiosk screen and on paper at any size."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2,
                        error_correction=ERROR_CORRECT_M)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def qr_png(text: str, *, box_size: int = 8) -> bytes:
    image = qrcode.make(text, border=2, box_size=box_size, error_correction=ERROR_CORRECT_M)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
