"""Security basics (SPEC 7, issue 8): CSRF on every form, security headers, session cookie
flags, lockout, the 30-minute idle timeout, audit log retention, no demo secrets in production."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service_hall import create_app
from service_hall.audit.models import AuditEntry
from service_hall.auth.models import User
from service_hall.auth.operations import demo_password_hash
from service_hall.config import DEMO_SECRET
from service_hall.db import utcnow
from service_hall.extensions import db
from service_hall.security import InsecureConfiguration
from tests.conftest import make_settings
from tests.factories import bearer
from tests.browsing import csrf_of, fill, page_login, page_rules

STRONG_SECRET = "a-long-random-production-secret-0123456789"
PAGE_VALUES = {"hall_code": "C1", "token": "x", "name": "departments", "window_code": "C1-1",
               "letter_id": "00000000-0000-0000-0000-000000000000", "code": "C1",
               "errand_id": "00000000-0000-0000-0000-000000000000", "action": "submit",
               "day": "2026-11-27", "key": "qing"}


@pytest.fixture()
def hall(factory):
    setup = factory.hall_setup("C1", windows=2, items=1)
    factory.user("admin", "admin", setup["hall"])
    return setup


@pytest.fixture()
def browser(hall):
    """A client of an app with no application context held open between its requests (the
    ``app`` fixture holds one, and Flask-Login caches the user in ``g`` for as long as it
    lives): each request sees only what its cookies say, as in a browser."""
    return create_app(make_settings(), TESTING=True, RATELIMIT_ENABLED=False).test_client()


def _logged_in(client) -> bool:
    return client.get("/admin/catalog").status_code == 200


# --- CSRF -------------------------------------------------------------------------------------

def test_every_form_route_refuses_a_post_without_a_valid_token(app, browser):
    client = browser
    rules = page_rules(app, "POST")
    paths = [fill(rule.rule, PAGE_VALUES) for rule in rules]
    assert {"/login", "/logout", "/admin/catalog"} <= set(paths)
    page_login(client, "admin")
    assert _logged_in(client)
    for path in paths:
        for token in (None, "forged-token", csrf_of(client, "/").replace("I", "J", 1)):
            data = {"username": "admin", "password": "test-pass"}
            if token is not None:
                data["csrf_token"] = token
            answer = client.post(path, data=data)
            assert answer.status_code == 400, (path, token, answer.status_code)
            assert "CSRF" in answer.get_data(as_text=True)
    assert _logged_in(client)  # the refused /logout did not sign out
    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/")}).status_code == 302
    assert not _logged_in(client)  # and with the token it does: the refusal was the token


def test_cookie_authenticated_api_writes_need_the_csrf_header(browser):
    client = browser
    page_login(client, "clerk-C1-1")
    refused = client.put("/api/v1/windows/C1-1/state", json={"state": "idle"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf"
    accepted = client.put("/api/v1/windows/C1-1/state", json={"state": "idle"},
                          headers={"X-CSRFToken": csrf_of(client, "/")})
    assert accepted.status_code == 200, accepted.get_json()


# --- headers ----------------------------------------------------------------------------------

def _directives(csp: str) -> dict[str, list[str]]:
    parts = [part.split() for part in csp.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def test_security_headers_on_every_public_page_and_api_answer(app, client, hall):
    issued = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                         headers=bearer(hall["kiosk"])).get_json()
    values = {**PAGE_VALUES, "token": issued["track_token"]}
    paths = [fill(rule.rule, values) for rule in page_rules(app, "GET")]
    paths += ["/api/v1/halls", "/api/v1/openapi.json", "/no-such-page", "/api/v1/nope"]
    for path in paths:
        answer = client.get(path)
        csp = _directives(answer.headers.get("Content-Security-Policy", ""))
        scripts = csp.get("script-src", csp.get("default-src"))
        assert scripts and "'self'" in scripts, (path, csp)
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(scripts), path
        assert csp.get("frame-ancestors") == ["'none'"], path
        assert answer.headers.get("X-Frame-Options") == "DENY", path
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", path
        if answer.mimetype == "text/html":
            html = answer.get_data(as_text=True)
            # what the CSP would block anyway must not be in our pages
            # (a JSON data block is not run: it may stay inline)
            assert not re.search(r'<script(?![^>]*\b(?:src=|type="application/json"))[^>]*>',
                                 html), f"inline script in {path}"
            assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler in {path}"


# --- session cookie ---------------------------------------------------------------------------

def _session_cookie(answer) -> str:
    cookies = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, answer.headers
    return cookies[-1]


def test_session_cookie_flags_in_demo_mode_over_http_and_https(browser):
    client = browser
    plain = _session_cookie(page_login(client, "admin"))
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    secure_client = client.application.test_client()
    page = secure_client.get("/login", base_url="https://hall.example")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))[1]
    answer = secure_client.post("/login", base_url="https://hall.example",
                                headers={"Referer": "https://hall.example/login"}, data={
        "username": "admin", "password": "test-pass", "csrf_token": token})
    assert answer.status_code == 302
    cookie = _session_cookie(answer)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_is_secure_in_production_mode(hall):
    app = create_app(make_settings(mode="production", secret_key=STRONG_SECRET), TESTING=True)
    client = app.test_client()
    cookie = _session_cookie(page_login(client, "admin"))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- lockout and idle timeout -----------------------------------------------------------------

def test_page_login_locks_after_five_failures(browser):
    client = browser
    for _ in range(5):
        page_login(client, "admin", "wrong-password", expect=401)
    locked = page_login(client, "admin", expect=423)  # the right password, but locked
    assert "账号已锁定" in locked.get_data(as_text=True)
    assert not _logged_in(client)


class _Clock:
    def __init__(self, start: float):
        self.now = start

    def time(self) -> float:
        return self.now


def test_page_session_ends_after_30_idle_minutes(browser, monkeypatch):
    client = browser
    import time as real_time
    clock = _Clock(real_time.time())
    # the session cookie's signature carries its time (itsdangerous); move that clock
    monkeypatch.setattr("itsdangerous.timed.time", clock)
    page_login(client, "admin")
    for _ in range(3):  # active use keeps it alive well past 30 minutes in total
        clock.now += 29 * 60
        assert _logged_in(client)
    clock.now += 31 * 60
    answer = client.get("/admin/catalog")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    api = client.put("/api/v1/windows/C1-1/state", json={"state": "idle"})
    assert api.status_code == 401


# --- audit retention --------------------------------------------------------------------------

def _audit_ages() -> list[int]:
    db.session.rollback()
    now = utcnow()
    return sorted((now - at).days for at in db.session.scalars(select(AuditEntry.at)))


def test_audit_prune_never_deletes_entries_younger_than_six_months(app, hall):
    import uuid
    now = utcnow()
    for age in (1, 30, 100, 182, 184, 365, 800):
        db.session.add(AuditEntry(at=now - timedelta(days=age, hours=1), action="test",
                                  record_type="test", record_id=uuid.uuid4()))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["hall", "audit-prune", "--keep-days", "0"])
    assert result.exit_code == 0, result.output
    assert "keeping 183 days" in result.output and "Deleted 3 " in result.output
    assert _audit_ages() == [1, 30, 100, 182]
    result = runner.invoke(args=["hall", "audit-prune", "--keep-days", "50"])
    assert "Deleted 0 " in result.output and _audit_ages() == [1, 30, 100, 182]
    assert runner.invoke(args=["hall", "audit-prune"]).exit_code != 0  # --keep-days is required


# --- no demo secrets in production ------------------------------------------------------------

@pytest.mark.parametrize("secret", [DEMO_SECRET, "short"])
def test_production_refuses_the_demo_or_a_weak_secret(app, secret):
    with pytest.raises(InsecureConfiguration, match="SERVICE_HALL_SECRET_KEY"):
        create_app(make_settings(mode="production", secret_key=secret))
    assert create_app(make_settings(mode="demo", secret_key=secret)) is not None


def test_production_refuses_accounts_with_the_demo_password(app, hall):
    admin = db.session.scalars(select(User).where(User.username == "admin")).one()
    admin.password_hash = demo_password_hash("demo-2026")  # as `hall seed-demo` sets it
    db.session.commit()
    with pytest.raises(InsecureConfiguration, match="admin.*set-password"):
        create_app(make_settings(mode="production", secret_key=STRONG_SECRET))
    demo_app = create_app(make_settings(mode="demo", secret_key=STRONG_SECRET))
    result = demo_app.test_cli_runner().invoke(
        args=["hall", "set-password", "admin", "--password", "a-new-strong-password"])
    assert result.exit_code == 0, result.output
    production = create_app(make_settings(mode="production", secret_key=STRONG_SECRET))
    client = production.test_client()
    page_login(client, "admin", "a-new-strong-password")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User)
                             .where(User.password_hash.like("%$DEMO%"))) == 0
