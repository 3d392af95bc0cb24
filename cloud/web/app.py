"""The hub's Flask app: bearer-token API, health, metrics, OpenAPI; one JSON error shape."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry, Counter, generate_latest
from sqlalchemy import Engine, text
from werkzeug.exceptions import HTTPException

from cloud.config import HubConfig
from cloud.errors import HubError, InvalidInput, InvariantViolation, NotFound, WrongTenant
from cloud.metrics import HubCollector
from cloud.web import allocation_api, api, dashboard, orders_api, track
from cloud.web import pairing as pairing_api
from cloud.web.common import error

log = logging.getLogger(__name__)


def api_token(config: HubConfig) -> str:
    """The bearer token: the token file's contents, created (0600) on first start."""
    path = config.http.token_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def create_app(config: HubConfig, engine: Engine) -> Flask:
    app = Flask(__name__)
    app.config.update(API_TOKEN=api_token(config), MAX_CONTENT_LENGTH=16 * 2**20)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["hub"] = {"config": config, "engine": engine}
    registry = CollectorRegistry()
    requests = Counter(
        "printstation_hub_http_requests",
        "Hub HTTP requests",
        ["route", "status"],
        registry=registry,
    )
    registry.register(HubCollector(engine, config.hub.offline_after_s))

    @app.before_request
    def _auth() -> Any:
        if not request.path.startswith("/api/v1/") or request.path in pairing_api.PUBLIC:
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip(), current_app.config["API_TOKEN"]
        ):
            return None
        return error(401, "unauthorized", "a bearer token is required")

    @app.after_request
    def _count(response: Response) -> Response:
        rule = request.url_rule.rule if request.url_rule else "unmatched"
        requests.labels(rule, str(response.status_code)).inc()
        return response

    @app.get("/healthz")
    def healthz() -> Any:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return jsonify({"ok": True, "service": "hub", "database": engine.dialect.name})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")

    @app.get("/api/openapi.json")
    def openapi() -> Any:
        spec = api.spec()
        for path, operations in orders_api.paths().items():
            spec["paths"].setdefault(path, {}).update(operations)
        spec["paths"].update(allocation_api.paths())
        return jsonify(spec)

    @app.errorhandler(NotFound)
    def _not_found(err: NotFound) -> Any:
        return error(404, "not_found", str(err))

    @app.errorhandler(InvariantViolation)
    def _invariant(err: InvariantViolation) -> Any:
        return error(409, "insufficient_stock", str(err))

    @app.errorhandler(InvalidInput)
    def _invalid(err: InvalidInput) -> Any:
        return error(400, "bad_request", str(err))

    @app.errorhandler(WrongTenant)
    def _tenant(err: WrongTenant) -> Any:
        return error(409, "wrong_tenant", str(err))

    @app.errorhandler(HubError)
    def _hub(err: HubError) -> Any:
        return error(409, "conflict", str(err))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        return error(
            err.code or 500, (err.name or "error").lower().replace(" ", "_"), err.description or ""
        )

    @app.errorhandler(Exception)
    def _crash(err: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal_error", "the hub hit an internal error; it was logged")

    dashboard.init_app(app, config)  # `/` and the staff login; anonymous: /login, /track, /healthz
    app.register_blueprint(api.bp)
    app.register_blueprint(orders_api.bp)
    app.register_blueprint(allocation_api.bp)
    app.register_blueprint(track.bp)  # public: the bearer check covers /api/v1/ only
    app.register_blueprint(pairing_api.bp)  # /api/v1/pairing/poll needs no token
    return app
