"""Security headers on every answer (CSP without inline scripts, no framing, no sniffing), the
refusal of text no database can store (NUL, unpaired surrogates) before it reaches a query,
session cookies marked Secure over https, and the refusal to run production with demo secrets."""
from __future__ import annotations

import re

from flask import Flask, abort, request
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

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


class SessionInterface(SecureCookieSessionInterface):
    """The page session cookie is Secure in production mode (``SESSION_COOKIE_SECURE``) and on
    any request that arrived over https (behind a proxy: with ``ProxyFix`` and X-Forwarded-Proto),
    so a demo on plain http still works and a deployment behind TLS never leaks it to http."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


class InsecureConfiguration(RuntimeError):
    """Production mode refuses to start with the demo secret or demo passwords."""


def refuse_demo_secrets(app: Flask) -> None:
    """Outside demo mode, refuse the demo secret key and any account that still has the demo
    password (set by ``seed-demo``); both are printed in the README for anyone to read."""
    from service_hall.config import DEMO_SECRET
    settings = app.config["SERVICE_HALL"]
    if settings.mode == "demo":
        return
    if settings.secret_key == DEMO_SECRET or len(settings.secret_key) < 16:
        raise InsecureConfiguration(
            "拒绝启动：SERVICE_HALL_SECRET_KEY 未设置或为演示密钥 (refusing to start in "
            f"{settings.mode} mode: set SERVICE_HALL_SECRET_KEY to a random value of at least 16 "
            "characters, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`; "
            "SERVICE_HALL_MODE=demo runs the demo)")
    from service_hall.auth.models import User
    from service_hall.auth.operations import DEMO_SALT_MARK
    from service_hall.extensions import db
    with app.app_context():
        try:
            demo_users = db.session.scalars(
                select(User.username).where(User.password_hash.like(f"%${DEMO_SALT_MARK}%$%"))
                .order_by(User.username).limit(6)).all()
        except (OperationalError, ProgrammingError):  # no schema yet: `flask db upgrade` runs
            demo_users = []
        finally:
            db.session.remove()
    if demo_users:
        shown = ", ".join(demo_users[:5]) + (" …" if len(demo_users) > 5 else "")
        raise InsecureConfiguration(
            f"拒绝启动：仍有账号使用演示密码 (refusing to start in {settings.mode} mode: accounts "
            f"still have the demo password: {shown}). Change them with "
            "`SERVICE_HALL_MODE=demo flask --app wsgi hall set-password USERNAME`, or remove "
            "the demo data.")
