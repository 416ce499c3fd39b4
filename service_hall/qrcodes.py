"""QR codes as PNG or SVG images, drawn here (qrcode + Pillow), never fetched from a web service."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Response
from qrcode.constants import ERROR_CORRECT_M


def qr_png(text: str, *, box_size: int = 8, border: int = 4) -> bytes:
    image = qrcode.make(text, box_size=box_size, border=border, error_correction=ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(text: str, *, border: int = 4) -> bytes:
    """A scalable SVG: sharp on a kiosk screen and on paper at any size."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=border,
                        error_correction=ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def qr_response(text: str) -> Response:
    response = Response(qr_png(text), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
