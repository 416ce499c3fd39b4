"""Helpers for page tests: signing in through the login form, the CSRF token of a page, and
the public GET pages of the app (from its url_map) with real path values."""
from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import PASSWORD

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
# Routes no page crawl should call: static files and the API (crawled through its endpoints).
SKIPPED_PREFIXES = ("/static", "/api/")


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    found = CSRF_META.search(page.get_data(as_text=True))
    assert found, f"{path} carries no CSRF token"
    return found.group(1)


def page_login(client: FlaskClient, username: str, password: str = PASSWORD, expect: int = 302):
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": csrf_of(client)})
    assert answer.status_code == expect, answer.get_data(as_text=True)[:300]
    return answer


def page_rules(app: Flask, method: str) -> list:
    return [rule for rule in app.url_map.iter_rules()
            if method in rule.methods and not rule.rule.startswith(SKIPPED_PREFIXES)]


def fill(rule: str, values: dict[str, str]) -> str:
    """A rule's path with its parameters replaced by real values; fails on an unknown name so a
    new page route cannot be skipped silently."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in values, f"no test value for <{name}> in {rule}: add one"
        return values[name]
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", value, rule)
