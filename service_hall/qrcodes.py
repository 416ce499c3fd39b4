"""QR codes as PNG images, drawn here (qrcode + Pillow), never fetched from a web service."""
from __future__ import annotations

import io

import qrcode
from flask import Response
from qrcode.constants import ERROR_CORRECT_M


def qr_png(text: str, *, box_size: int = 8) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def qr_response(text: str) -> Response:
    response = Response(qr_png(text), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
