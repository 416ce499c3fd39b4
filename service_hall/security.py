"""Security headers on every answer: CSP without inline scripts, no framing, no sniffing."""
from __future__ import annotations

import re

from flask import Flask, abort, request

from service_hall.errors import bad_request

# Text no database column can hold: NUL (PostgreSQL refuses it) and unpaired UTF-16 surrogates
# (neither driver can encode them). Refused at the edge, never passed on to a query.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self' ws: wss:; media-src 'self'; font-src 'self'; frame-ancestors 'none'; "
       "base-uri 'self'; form-action 'self'")


def unstorable_text(value: object, where: str = "") -> str | None:
    """Where in a decoded JSON value (or a plain string) unstorable text sits, else None."""
    if isinstance(value, str):
        return where or "body" if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        path = f"{where}/{key}" if where else str(key)
        found = unstorable_text(str(key), path) or unstorable_text(item, path)
        if found:
            return found
    return None


def install_input_guards(app: Flask) -> None:
    @app.before_request
    def _refuse_unstorable_text():
        fields = list(request.args.items(multi=True))
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += list(request.form.items(multi=True))
        if UNSTORABLE.search(request.path) or any(
                UNSTORABLE.search(key) or UNSTORABLE.search(value) for key, value in fields):
            message = "地址或参数含有不允许的字符 (NUL or invalid characters in the URL or form)"
            if request.path.startswith("/api/"):
                raise bad_request(message, "invalid_characters")
            abort(400, message)


def install_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
