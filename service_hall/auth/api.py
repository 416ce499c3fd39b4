"""``POST /api/v1/auth/token``: a bearer token for a user."""
from __future__ import annotations

from flask import current_app, jsonify

from service_hall.api import endpoint
from service_hall.auth.operations import LoginError, authenticate, issue_token
from service_hall.clock import now
from service_hall.extensions import db

TOKEN_BODY = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string", "minLength": 1, "maxLength": 80},
                   "password": {"type": "string", "minLength": 1, "maxLength": 200}},
    "additionalProperties": False,
}
TOKEN_ANSWER = {
    "type": "object",
    "required": ["token", "role", "hall_code", "expires_at"],
    "properties": {"token": {"type": "string"}, "role": {"type": "string"},
                   "hall_code": {"type": ["string", "null"]},
                   "expires_at": {"type": "string", "format": "date-time"}},
}


@endpoint("/auth/token", "POST", summary="Exchange a username and password for a bearer token",
          tag="auth", body=TOKEN_BODY, responses={200: TOKEN_ANSWER, 401: None, 423: None},
          limit="30/minute")
def create_token(actor, body):
    settings = current_app.config["SERVICE_HALL"]
    at = now()
    try:
        user = authenticate(body["username"], body["password"], now=at)
    except LoginError:
        db.session.commit()  # the failure count is the point of this transaction
        raise
    token, expires = issue_token(user, secret=settings.secret_key, hours=settings.token_hours,
                                 now=at)
    db.session.commit()
    return jsonify({"token": token, "role": user.role,
                    "hall_code": user.hall.code if user.hall else None,
                    "expires_at": expires.isoformat()})
