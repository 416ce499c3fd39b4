"""The OpenAPI 3.1 document, built from the declared endpoints (``service_hall.api``)."""
from __future__ import annotations

import re

from flask import Blueprint, jsonify

from service_hall.api import ENDPOINTS, EndpointSpec, Media
from service_hall.schemas import ERROR

openapi_bp = Blueprint("openapi", __name__)
STATUS_TEXT = {200: "OK", 201: "Created", 204: "No content", 400: "Bad request",
               401: "Not authenticated", 403: "Forbidden", 404: "Not found", 409: "Conflict", 413: "Too large",
               415: "Unsupported media type", 422: "Invalid input", 423: "Locked",
               429: "Too many requests"}


def _path(rule: str) -> tuple[str, list[str]]:
    params = re.findall(r"<(?:\w+:)?(\w+)>", rule)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), params


def _operation(spec: EndpointSpec) -> dict:
    path, params = _path(spec.rule)
    op: dict = {"summary": spec.summary, "tags": [spec.tag],
                "operationId": f"{spec.method.lower()}_{path.strip('/').replace('/', '_')}"
                .replace("{", "").replace("}", "").replace("-", "_").replace(".", "_"),
                "parameters": [{"name": p, "in": "path", "required": True,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 100}}
                               for p in params]}
    op["parameters"] += [{"name": name, "in": "query", "required": False, "schema": schema}
                         for name, schema in spec.query.items()]
    op["parameters"] += [{"name": name, "in": "header", "required": False, "schema": schema}
                         for name, schema in spec.headers.items()]
    if spec.allow is not None:
        op["security"] = [{"bearer": []}]
        op["description"] = "Allowed: " + ", ".join(spec.allow)
    if spec.body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": spec.body}}}
    if spec.upload is not None:
        op["requestBody"] = {"required": True,
                             "content": {"multipart/form-data": {"schema": spec.upload}}}
    responses: dict = {}
    for status, schema in sorted(spec.responses.items()):
        entry: dict = {"description": STATUS_TEXT.get(status, "")}
        if status >= 400:
            schema = ERROR
        if isinstance(schema, Media):
            entry["content"] = {schema.media_type: {"schema": schema.schema}}
        elif schema is not None:
            entry["content"] = {"application/json": {"schema": schema}}
        responses[str(status)] = entry
    error = {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
    takes_body = spec.body is not None or spec.upload is not None
    # 400 for any request (a URL with NUL characters), 413 for any body over the size limit.
    for status in [400] + ([413, 415, 422] if takes_body else []) + (
            [401, 403] if spec.allow is not None else []) + [404, 429]:
        responses.setdefault(str(status), {**error, "description": STATUS_TEXT[status]})
    op["responses"] = responses
    return op


def document() -> dict:
    paths: dict = {}
    for spec in ENDPOINTS:
        path, _ = _path(spec.rule)
        paths.setdefault("/api/v1" + path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Service Hall API", "version": "1.0.0",
                 "description": "Queue and window management for county service centres."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


@openapi_bp.route("/api/v1/openapi.json")
def openapi_json():
    return jsonify(document())
