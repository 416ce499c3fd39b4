"""One error shape for the API: ``{"error": {"code", "message"}}`` with a 4xx status."""
from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from service_hall.extensions import db


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, details: object | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self):
        body: dict = {"error": {"code": self.code, "message": self.message}}
        if self.details is not None:
            body["error"]["details"] = self.details
        return jsonify(body), self.status


def bad_request(message: str, code: str = "bad_request", **kw) -> ApiError:
    return ApiError(400, code, message, **kw)


def not_found(message: str, code: str = "not_found") -> ApiError:
    return ApiError(404, code, message)


def forbidden(message: str = "您无权执行此操作 (forbidden)", code: str = "forbidden") -> ApiError:
    return ApiError(403, code, message)


def conflict(message: str, code: str = "conflict") -> ApiError:
    return ApiError(409, code, message)


def unprocessable(message: str, code: str = "invalid", **kw) -> ApiError:
    return ApiError(422, code, message, **kw)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        db.session.rollback()  # nothing half-written
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        db.session.rollback()
        if not _is_api():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 429:  # Flask-Limiter: the description is the limit, e.g. "20 per 1 minute"
            message = f"请求过于频繁，请稍后再试 (too many requests: at most {message})"
        return ApiError(exc.code or 500, code, message).response()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _is_api():
            return ApiError(500, "internal_error", "服务器内部错误 (internal error)").response()
        return "服务器内部错误 (internal error)", 500
