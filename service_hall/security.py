"""Security headers on every answer (CSP without inline scripts, no framing, no sniffing), and
the refusal of text no database can store (NUL, unpaired surrogates) before it reaches a query."""
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


def unstorable_text(value: object) -> str | None:
    """Where in a decoded JSON value unstorable text sits (``"a/0/b"``, ``"body"`` for the
    top), else None. Walks without recursion: the decoder allows nesting near the stack limit."""
    pending: list[tuple[str, object]] = [("", value)]
    while pending:
        where, node = pending.pop()
        if isinstance(node, str):
            if UNSTORABLE.search(node):
                return where or "body"
            continue
        if isinstance(node, dict):
            children = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        for key, child in children:
            path = f"{where}/{key}" if where else str(key)
            if UNSTORABLE.search(str(key)):
                return path
            pending.append((path, child))
    return None


def install_input_guards(app: Flask) -> None:
    @app.before_request
    def _refuse_unstorable_text():
        fields = list(request.args.items(multi=True))
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += list(request.form.items(multi=True))
        if UNSTORABLE.search(request.path) or any(
                UNSTORABLE.search(str(key)) or UNSTORABLE.search(str(value or ""))
                for key, value in fields):
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
