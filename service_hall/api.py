"""The ``/api/v1`` blueprint: declared endpoints, JSON validation and who-may-call checks.

Each endpoint is declared once with :func:`endpoint`; the same declaration validates requests
(JSON Schema) and builds the OpenAPI document (``service_hall.openapi``), so the two cannot drift.
"""
from __future__ import annotations

import uuid

from dataclasses import dataclass, field
from functools import wraps
from typing import Callable

from flask import Blueprint, current_app, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError
from jsonschema import Draft202012Validator

from service_hall.auth.actor import Actor
from service_hall.auth.operations import actor_for_user, actor_from_bearer
from service_hall.errors import ApiError, bad_request, forbidden
from service_hall.extensions import db, limiter
from service_hall.security import unstorable_text

api = Blueprint("api", __name__, url_prefix="/api/v1")


@dataclass
class EndpointSpec:
    rule: str
    method: str
    summary: str
    tag: str
    allow: tuple[str, ...] | None   # roles / device kinds; None = anyone
    body: dict | None = None
    query: dict = field(default_factory=dict)
    responses: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    public: bool = False
    upload: dict | None = None  # JSON Schema of a multipart/form-data body (form fields, files)


@dataclass(frozen=True)
class Media:
    """A declared answer that is not JSON, e.g. a spreadsheet download."""
    media_type: str
    schema: dict = field(default_factory=lambda: {"type": "string"})


ENDPOINTS: list[EndpointSpec] = []


def current_actor() -> Actor | None:
    """The caller: a bearer token (user or device), else the page's login session."""
    cache = request.environ
    if "service_hall.actor" in cache:
        return cache["service_hall.actor"]
    actor = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        settings = current_app.config["SERVICE_HALL"]
        actor = actor_from_bearer(header[7:].strip(), secret=settings.secret_key,
                                  hours=settings.token_hours)
        if actor is None:
            raise ApiError(401, "invalid_token", "令牌无效或已过期 (invalid or expired token)")
    elif current_user and current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            # Cookie-authenticated writes from our own pages must carry the CSRF token.
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except ValidationError:
                raise forbidden("缺少或无效的CSRF令牌 (missing or invalid CSRF token)", "csrf")
        actor = actor_for_user(current_user._get_current_object())
    cache["service_hall.actor"] = actor
    return actor


def require_actor(allow: tuple[str, ...]) -> Actor:
    actor = current_actor()
    if actor is None:
        raise ApiError(401, "unauthenticated", "请先登录 (authentication required)")
    if actor.role not in allow:
        raise forbidden()
    return actor


def json_body(validator: Draft202012Validator) -> dict:
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type",
                       "请求体须为 JSON (Content-Type: application/json)")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the decoder goes: not JSON we accept
        data = None
    if data is None:
        raise bad_request("请求体不是有效的 JSON (malformed JSON)", code="malformed_json")
    where = unstorable_text(data)
    if where:
        raise ApiError(422, "validation_error",
                       f"{where}: 含有不允许的字符 (NUL or unpaired surrogate in text)",
                       details=[{"field": where, "message": "NUL or unpaired surrogate in text"}])
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "body"
        raise ApiError(422, "validation_error", f"{where}: {first.message}",
                       details=[{"field": "/".join(str(p) for p in e.absolute_path) or "body",
                                 "message": e.message} for e in errors[:20]])
    return data


def multipart_body(schema: dict) -> dict:
    """The parts of a multipart/form-data body named by ``schema``: files (``format: binary``)
    as ``FileStorage``, other fields as strings; required parts must be present."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type",
                       "请求体须为 multipart/form-data (Content-Type: multipart/form-data)")
    parts: dict = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("format") == "binary":
            upload = request.files.get(name)
            if upload is not None and upload.filename is not None:
                parts[name] = upload
        elif name in request.form:
            parts[name] = request.form[name]
    missing = [name for name in schema.get("required", []) if name not in parts]
    if missing:
        raise ApiError(422, "validation_error", f"{missing[0]}: 缺少此项 (required part missing)",
                       details=[{"field": name, "message": "required part missing"}
                                for name in missing])
    return parts


def endpoint(rule: str, method: str, *, summary: str, tag: str,
             allow: tuple[str, ...] | None = None, body: dict | None = None,
             upload: dict | None = None, query: dict | None = None,
             responses: dict | None = None, headers: dict | None = None,
             limit: str | None = None, limit_exempt_when: Callable[[], bool] | None = None
             ) -> Callable:
    """Declare an API endpoint. The view gets ``actor`` (or None), and ``body`` (a JSON body) or
    ``upload`` (the parts of a multipart body) when one is declared. ``limit`` is a rate limit
    per client address (Flask-Limiter notation, e.g. ``"120/minute"``), counted before the
    caller is authenticated so a flood of refused requests is throttled too."""
    assert body is None or upload is None, "an endpoint takes JSON or multipart, not both"
    spec = EndpointSpec(rule=rule, method=method, summary=summary, tag=tag, allow=allow,
                        body=body, query=query or {}, responses=responses or {},
                        headers=headers or {}, upload=upload)
    ENDPOINTS.append(spec)

    validator = Draft202012Validator(body) if body is not None else None

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(**kwargs):
            actor = require_actor(allow) if allow is not None else current_actor()
            if body is not None:
                kwargs["body"] = json_body(validator)
            if upload is not None:
                kwargs["upload"] = multipart_body(upload)
            return view(actor=actor, **kwargs)

        if limit is not None:
            wrapper = limiter.limit(limit, exempt_when=limit_exempt_when)(wrapper)
        api.add_url_rule(rule, endpoint=f"{view.__module__}.{view.__name__}".replace(".", "_"),
                         view_func=wrapper, methods=[method])
        return wrapper

    return decorate


STAFF = ("admin", "supervisor", "clerk", "agent")


def require_scope(actor: Actor, hall) -> None:
    """The hall-scope check every view applies after the role check (rule: ``Actor.may_see_hall``)."""
    if not actor.may_see_hall(hall):
        raise forbidden(f"您无权访问大厅 {hall.code} (hall {hall.code} is outside your scope)",
                        "out_of_scope")


def get_in_scope(actor: Actor, model, record_id: str, *, missing: ApiError):
    """Load a record by its UUID text and check its hall is in the caller's scope; ``missing``
    answers an unknown or malformed id."""
    try:
        key = uuid.UUID(record_id)
    except ValueError:
        raise missing
    record = db.session.get(model, key)
    if record is None:
        raise missing
    require_scope(actor, record.hall)
    return record
