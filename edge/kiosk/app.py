"""The kiosk Flask application: customer screens, packing and admin screens, JSON API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, request, session
from flask_babel import Babel
from werkzeug.routing import IntegerConverter, ValidationError

from edge import __version__
from edge.kiosk import admin_views, api, errors, pack_views, pairing_views, return_views, views
from edge.kiosk.auth import csrf_token, staff_member
from edge.kiosk.runtime import Runtime

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class RowId(IntegerConverter):
    """``<int:…>`` in a route: a number that fits a database row id; a larger one matches no
    route (404) instead of overflowing the database driver."""

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        if number > 2**63 - 1:
            raise ValidationError
        return number


def create_app(runtime: Runtime) -> Flask:
    config = runtime.config
    app = Flask(
        __name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static")
    )
    app.url_map.converters["int"] = RowId
    app.config.update(
        SECRET_KEY=config.session_key,
        API_TOKEN=config.api_token,
        SESSION_MINUTES=config.http.session_minutes,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=config.http.session_minutes),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="printstation_station",
        MAX_CONTENT_LENGTH=config.http.max_request_kb * 1024,
        JSON_AS_ASCII=False,
        BABEL_TRANSLATION_DIRECTORIES=str(HERE / "translations"),
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["printstation"] = runtime

    def locale() -> str:
        lang = session.get("lang") or config.station.language
        return "zh" if lang == "zh-CN" else "en"

    Babel(app, locale_selector=locale)

    @app.context_processor
    def _globals() -> dict[str, object]:
        lang = session.get("lang") or config.station.language
        return {
            "lang": lang,
            "station": config.station,
            "version": __version__,
            "staff": staff_member(),
            "csrf_token": csrf_token,
        }

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        rule = request.url_rule.rule if request.url_rule else "unmatched"
        runtime.metrics.requests.labels(rule, str(response.status_code)).inc()
        return response

    errors.register(app)
    pairing_views.init_app(app)  # `/` shows the pairing screen while unpaired
    for blueprint in (views.bp, api.bp, pack_views.bp, admin_views.bp, return_views.bp):
        app.register_blueprint(blueprint)
    return app
