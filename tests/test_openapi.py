"""The OpenAPI document is valid OpenAPI 3.1, and real answers match what it declares."""
from __future__ import annotations

import copy
import io

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.factories import bearer, token_for

FORMATS = Draft202012Validator.FORMAT_CHECKER


@pytest.fixture()
def doc(client) -> dict:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.get_json()


def closed(schema: dict) -> dict:
    """The schema with every object closed: an answer field the document does not declare is
    a mismatch too."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)
    close(schema)
    return schema


def check(doc: dict, method: str, path: str, answer) -> None:
    """The answer's status is declared for that operation and its body matches the schema."""
    operation = doc["paths"][path][method.lower()]
    declared = operation["responses"].get(str(answer.status_code))
    assert declared is not None, f"{method} {path}: status {answer.status_code} not declared"
    content = declared.get("content")
    if content is None:
        assert answer.data == b"", f"{method} {path}: body where none is declared"
        return
    assert answer.mimetype in content, f"{method} {path}: {answer.mimetype} not declared"
    if answer.mimetype == "application/json":
        validator = Draft202012Validator(closed(content["application/json"]["schema"]),
                                         format_checker=FORMATS)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in validator.iter_errors(answer.get_json())]
        assert not errors, f"{method} {path} {answer.status_code}: {errors[:5]}"


def test_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1")
    validate(doc, cls=OpenAPIV31SpecValidator)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                for media in response.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"])


def test_upload_endpoint_declares_its_multipart_body(doc):
    body = doc["paths"]["/api/v1/catalog/items.xlsx"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"] and schema["properties"]["file"]["format"] == "binary"
    download = doc["paths"]["/api/v1/catalog/items.xlsx"]["get"]["responses"]["200"]["content"]
    assert list(download) == ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]


def test_date_time_format_is_really_checked():
    # Without a date-time checker the format assertions below would pass vacuously.
    schema = {"type": "string", "format": "date-time"}
    assert not Draft202012Validator(schema, format_checker=FORMATS).is_valid("yesterday")


def test_happy_path_answers_match_the_declared_schemas(client, factory, doc):
    setup = factory.hall_setup("C1", windows=2, items=2)
    factory.user("admin", "admin", setup["hall"])
    token = client.post("/api/v1/auth/token",
                        json={"username": "clerk-C1-1", "password": "test-pass"})
    check(doc, "POST", "/api/v1/auth/token", token)
    clerk = bearer(token.get_json()["token"])
    kiosk = bearer(setup["kiosk"])
    steps = [
        ("GET", "/api/v1/halls", "/api/v1/halls", {}, None),
        ("GET", "/api/v1/halls/{hall_code}/items", "/api/v1/halls/C1/items", {}, None),
        ("GET", "/api/v1/halls/{hall_code}/windows", "/api/v1/halls/C1/windows", {}, None),
        ("POST", "/api/v1/halls/{hall_code}/tickets", "/api/v1/halls/C1/tickets", kiosk,
         {"item_code": "C1-I1", "green_channel": True}),
        ("PUT", "/api/v1/windows/{window_code}/state", "/api/v1/windows/C1-1/state", clerk,
         {"state": "idle"}),
        ("POST", "/api/v1/windows/{window_code}/call-next", "/api/v1/windows/C1-1/call-next",
         clerk, None),
        ("POST", "/api/v1/windows/{window_code}/recall", "/api/v1/windows/C1-1/recall", clerk, None),
        ("POST", "/api/v1/windows/{window_code}/start", "/api/v1/windows/C1-1/start", clerk, None),
        ("POST", "/api/v1/windows/{window_code}/finish", "/api/v1/windows/C1-1/finish", clerk, None),
        ("POST", "/api/v1/windows/{window_code}/call-next", "/api/v1/windows/C1-1/call-next",
         clerk, None),  # nobody waits: 204
        ("GET", "/api/v1/halls/{hall_code}/tickets", "/api/v1/halls/C1/tickets", clerk, None),
        ("GET", "/api/v1/halls/{hall_code}/items", "/api/v1/halls/NOPE/items", {}, None),  # 404
        ("POST", "/api/v1/windows/{window_code}/recall", "/api/v1/windows/C1-1/recall", clerk,
         None),  # 409: no current ticket
        ("PUT", "/api/v1/windows/{window_code}/state", "/api/v1/windows/C1-1/state", clerk,
         {"state": "asleep"}),  # 422 with details
    ]
    statuses = []
    track_token = None
    for method, template, url, headers, body in steps:
        answer = client.open(url, method=method, headers=headers, json=body)
        check(doc, method, template, answer)
        statuses.append(answer.status_code)
        if answer.status_code == 201:
            track_token = answer.get_json()["track_token"]
    assert statuses == [200, 200, 200, 201, 200, 200, 200, 200, 200, 204, 200, 404, 409, 422]
    tracked = client.get(f"/api/v1/track/{track_token}")
    check(doc, "GET", "/api/v1/track/{token}", tracked)
    assert tracked.get_json()["status"] == "done"
    admin = bearer(token_for(client, "admin"))
    exported = client.get("/api/v1/catalog/items.xlsx?hall=C1", headers=admin)
    check(doc, "GET", "/api/v1/catalog/items.xlsx", exported)
    imported = client.post("/api/v1/catalog/items.xlsx?hall=C1", headers=admin,
                           data={"file": (io.BytesIO(exported.data), "items.xlsx")},
                           content_type="multipart/form-data")
    check(doc, "POST", "/api/v1/catalog/items.xlsx", imported)
    assert imported.get_json()["updated"] == 0
