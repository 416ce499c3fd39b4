"""Bad input over every declared endpoint (issue 2): never a 5xx, every 4xx in the error shape,
and nothing written by a refused request.

The endpoints come from ``service_hall.api.ENDPOINTS`` at run time, so a new endpoint is covered
as soon as it is declared. Each is called as a caller of every role it allows (so validation, not
authentication, is what answers) and anonymously, with unknown and over-long path values, bad
query values, malformed JSON, wrong types for each property, missing required fields, 10,000-char
strings and the wrong content type.
"""
from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from service_hall.api import ENDPOINTS, EndpointSpec
from service_hall.extensions import db
from tests.factories import bearer, token_for

LONG = "x" * 10_000
PATH_VARIANTS = {"unknown": "NOPE-404", "long": LONG, "nul": "a%00b", "utf8": "%E5%8F%B7%E7%A0%81",
                 "bad-utf8": "%FF%FE", "dots": "..%2F..", "uuid": "00000000-0000-0000-0000-000000000000"}
QUERY_VARIANTS = ["", LONG, "not-a-value", "2026-13-45", "%00", "\u0000", "号码"]
WRONG_VALUES = [12345, -1, 2**70, 1.5, True, None, [], {}, [1, "a"], {"a": 1}, "", LONG,
                "\u0000", "\ud800", "号码"]
KNOWN_VALUES = {"item_code": "C1-I1", "username": "admin", "password": "test-pass",
                "window_number": 2, "reason": "会议 meeting"}


@dataclass
class Call:
    label: str
    path: str
    kwargs: dict = field(default_factory=dict)


@pytest.fixture()
def world(client, factory):
    """A county hall with windows, a township and village, users of every role, devices, a
    waiting ticket and a window with a clerk signed in: valid values for every path parameter."""
    setup = factory.hall_setup("C1", windows=2, items=2)
    hall = setup["hall"]
    township = factory.hall("T1", level="township", parent=hall)
    village = factory.hall("V1", level="village", parent=township)
    factory.user("admin", "admin", hall)
    factory.user("supervisor", "supervisor", hall)
    factory.user("agent-V1", "agent", village)
    tokens = {"admin": token_for(client, "admin"), "supervisor": token_for(client, "supervisor"),
              "clerk": token_for(client, "clerk-C1-1"), "agent": token_for(client, "agent-V1"),
              "kiosk": setup["kiosk"], "display": factory.device(hall, "display"),
              "pad": factory.device(hall, "pad")}
    opened = client.put("/api/v1/windows/C1-1/state", json={"state": "idle"},
                        headers=bearer(tokens["clerk"]))
    assert opened.status_code == 200, opened.get_json()
    ticket = client.post("/api/v1/halls/C1/tickets", json={"item_code": "C1-I1"},
                         headers=bearer(tokens["kiosk"]))
    assert ticket.status_code == 201, ticket.get_json()
    valid = {"hall_code": "C1", "window_code": "C1-1", "token": ticket.get_json()["track_token"],
             "ticket_id": ticket.get_json()["id"]}
    return {"tokens": tokens, "valid": valid}


def row_counts() -> tuple:
    tables = [table.name for table in db.metadata.sorted_tables]
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {name})" for name in tables)
    db.session.rollback()  # see what other transactions committed
    return tuple(db.session.execute(text(query)).one())


def _params(spec: EndpointSpec) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", spec.rule)


def _path(spec: EndpointSpec, values: dict) -> str:
    return "/api/v1" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], spec.rule)


def _valid_value(name: str, schema: dict):
    if name in KNOWN_VALUES:
        return KNOWN_VALUES[name]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    return {"integer": schema.get("minimum", 1), "number": 1, "boolean": False,
            "array": [], "object": {}}.get(kind, "x")


def base_body(schema: dict) -> dict:
    properties = schema.get("properties", {})
    wanted = schema.get("required") or list(properties)[:1]
    return {name: _valid_value(name, properties.get(name, {})) for name in wanted}


def calls_for(spec: EndpointSpec, valid: dict) -> list[Call]:
    params = _params(spec)
    path_values = {name: valid.get(name, "NOPE-404") for name in params}
    good_path = _path(spec, path_values)
    calls = [Call("unknown query parameters", good_path,
                  {"query_string": {"zzz": LONG, "\u0000": "\u0000"}}),
             Call("stray JSON body", good_path, {"data": "{not json", "content_type": "application/json"}),
             Call("forged bearer token", good_path, {"headers": {"Authorization": "Bearer " + LONG}}),
             Call("forged device token", good_path, {"headers": {"Authorization": "Bearer dev.x"}}),
             Call("other auth scheme", good_path, {"headers": {"Authorization": "Basic YTpi"}})]
    for name in params:
        for label, value in PATH_VARIANTS.items():
            calls.append(Call(f"path {name}={label}", _path(spec, {**path_values, name: value})))
    for name in spec.query:
        for value in QUERY_VARIANTS:
            calls.append(Call(f"query {name}={value[:12]!r}", good_path,
                              {"query_string": {name: value}}))
    for name in spec.headers:
        calls.append(Call(f"header {name} long", good_path, {"headers": {name: LONG}}))
    if spec.body is not None:
        calls += _body_calls(spec.body, good_path)
    if spec.upload is not None:
        calls += _upload_calls(spec.upload, good_path)
    return calls


def _body_calls(schema: dict, path: str) -> list[Call]:
    base = base_body(schema)
    raw = [("malformed", "{not json"), ("truncated", json.dumps(base)[:-1]), ("empty", ""),
           ("null", "null"), ("array", "[]"), ("string", '"text"'), ("number", "1"),
           ("deep nesting", "[" * 100_000 + "]" * 100_000),
           ("nesting near the stack limit", '{"x": ' + "[" * 950 + '"\\u0000"' + "]" * 950 + "}"),
           ("bad utf-8", b'{"a": "\xff\xfe"}'),
           ("escaped NUL", '{"x": "\\u0000"}'), ("lone surrogate", '{"x": "\\ud800"}'),
           ("huge", json.dumps({"x": "y" * 1_000_000}))]
    calls = [Call(f"body {label}", path, {"data": data, "content_type": "application/json"})
             for label, data in raw]
    calls.append(Call("body as text/plain", path,
                      {"data": json.dumps(base), "content_type": "text/plain"}))
    calls.append(Call("body as form", path, {"data": {"a": "b"}}))
    calls.append(Call("no body, no content type", path, {}))
    calls.append(Call("body with unknown field", path, {"json": {**base, "zzz_unknown": 1}}))
    calls.append(Call("empty object", path, {"json": {}}))
    for name in schema.get("required", []):
        calls.append(Call(f"missing {name}", path,
                          {"json": {k: v for k, v in base.items() if k != name}}))
    for name in schema.get("properties", {}):
        for value in WRONG_VALUES:
            shown = repr(value)[:16]
            calls.append(Call(f"{name}={shown}", path, {"json": {**base, name: value}}))
    return calls


def _upload_calls(schema: dict, path: str) -> list[Call]:
    files = [name for name, prop in schema.get("properties", {}).items()
             if prop.get("format") == "binary"]
    calls = [Call("upload as JSON", path, {"json": {name: "x" for name in files}}),
             Call("upload without parts", path, {"data": {}, "content_type": "multipart/form-data"}),
             Call("upload broken multipart", path, {"data": b"--x\r\nbroken",
                                                    "content_type": "multipart/form-data; boundary=x"})]
    for name in files:
        for label, content in [("empty", b""), ("garbage", b"\x00\xffnot a file" * 100),
                               ("zip but not xlsx", b"PK\x03\x04" + b"\x00" * 200)]:
            calls.append(Call(f"upload {name} {label}", path,
                              {"data": {name: (content, "f.xlsx")},
                               "content_type": "multipart/form-data"}))
        calls.append(Call(f"upload {name} as text field", path,
                          {"data": {name: LONG}, "content_type": "multipart/form-data"}))
        calls.append(Call(f"upload {name} long file name", path,
                          {"data": {name: (b"x", LONG + ".xlsx")},
                           "content_type": "multipart/form-data"}))
    return calls


def _callers(spec: EndpointSpec) -> list[str | None]:
    return [None] + list(spec.allow if spec.allow is not None else ("clerk",))


def _problem(answer) -> str | None:
    if answer.status_code >= 500:
        return f"answered {answer.status_code}"
    if answer.status_code >= 400:
        body = answer.get_json(silent=True)
        error = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(error, dict) and isinstance(error.get("code"), str)
                and isinstance(error.get("message"), str) and error["message"]):
            return f"{answer.status_code} without the error shape: {answer.data[:120]!r}"
    return None


def test_no_endpoint_breaks_on_bad_input(client, world, app):
    problems: list[str] = []
    done = 0
    for spec in list(ENDPOINTS):
        calls = calls_for(spec, world["valid"])
        assert calls, f"{spec.method} {spec.rule}: no bad-input case was generated"
        for role in _callers(spec):
            auth = bearer(world["tokens"][role]) if role else {}
            for call in calls:
                kwargs = dict(call.kwargs)
                kwargs["headers"] = {**auth, **kwargs.get("headers", {})}
                if "data" in kwargs and isinstance(kwargs["data"], dict):
                    kwargs["data"] = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple)
                                      else v for k, v in kwargs["data"].items()}
                before = row_counts()
                answer = client.open(call.path, method=spec.method, **kwargs)
                done += 1
                where = f"{spec.method} {spec.rule} as {role or 'anonymous'}, {call.label}"
                problem = _problem(answer)
                if problem is None and answer.status_code >= 400 and row_counts() != before:
                    problem = f"{answer.status_code} but rows were written"
                if problem:
                    problems.append(f"{where}: {problem}")
    print(f"\n{done} bad-input requests over {len(ENDPOINTS)} endpoints")
    assert not problems, "\n".join(problems[:60])
    assert len(ENDPOINTS) >= 15 and done > 1000


def test_unknown_routes_and_methods_answer_in_error_shape(client, world):
    for method, path in [("GET", "/api/v1/nope"), ("DELETE", "/api/v1/halls"),
                         ("PATCH", "/api/v1/windows/C1-1/call-next"), ("GET", "/api/v1/" + LONG)]:
        answer = client.open(path, method=method)
        assert answer.status_code in (404, 405)
        assert _problem(answer) is None


@pytest.mark.parametrize("method, path, data", [
    ("GET", "/kiosk/a%00b", None), ("GET", "/t/a%00b", None), ("GET", "/login?next=%00", None),
    ("POST", "/login", {"username": "a\u0000b", "password": "x"}),
])
def test_pages_refuse_nul_characters_with_400(app, client, world, method, path, data):
    app.config["WTF_CSRF_ENABLED"] = False
    before = row_counts()
    answer = client.open(path, method=method, data=data)
    assert answer.status_code == 400
    assert row_counts() == before
