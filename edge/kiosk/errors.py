"""One JSON error shape for every API error: ``{"error": {"code", "message"}}``.

Screens get a readable HTML page instead; API clients never see HTML.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from edge.store import Conflict, NotFound

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def body_json() -> dict[str, Any]:
    """The request body as a JSON object, or a 400/415 in the shared shape."""
    if not request.is_json:
        raise ApiError(
            415, "unsupported_media_type", "send a JSON body (Content-Type: application/json)"
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return data


def _wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.path in ("/healthz",)
        or not request.accept_mimetypes.accept_html
        or request.accept_mimetypes.best == "application/json"
    )


def _response(status: int, code: str, message: str) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template("error.html", status=status, code=code, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api(err: ApiError) -> tuple[Response | str, int]:
        return _response(err.status, err.code, err.message)

    @app.errorhandler(NotFound)
    def _not_found(err: NotFound) -> tuple[Response | str, int]:
        return _response(404, "not_found", str(err))

    @app.errorhandler(Conflict)
    def _conflict(err: Conflict) -> tuple[Response | str, int]:
        return _response(409, "conflict", str(err))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> tuple[Response | str, int]:
        status = err.code or 500
        code = (err.name or "error").lower().replace(" ", "_")
        return _response(status, code, err.description or err.name)

    @app.errorhandler(Exception)
    def _crash(err: Exception) -> tuple[Response | str, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _response(500, "internal_error", "the station hit an internal error; it was logged")
