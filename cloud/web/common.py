"""What every hub blueprint needs: the hub's config and engine, the JSON body, the tenant,
the error shape."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from sqlalchemy import Engine

from cloud.config import HubConfig
from cloud.errors import InvalidInput


def error(status: int, code: str, message: str) -> tuple[Response, int]:
    """The shared error shape ``{"error": {"code", "message"}}`` with its status."""
    return jsonify({"error": {"code": code, "message": message}}), status


def hub() -> tuple[HubConfig, Engine]:
    found = current_app.extensions["hub"]
    return found["config"], found["engine"]


def body() -> dict[str, Any]:
    """The request's JSON object, or 400."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("send a JSON object (Content-Type: application/json)")
    return data


def tenant(data: dict[str, Any] | None = None) -> str:
    """The tenant named in the body or ``?tenant=``, which this hub must serve; or the
    hub's only tenant."""
    config, _ = hub()
    named = (data or {}).get("tenant") or request.args.get("tenant")
    if isinstance(named, str) and named:
        if config.hub.tenants and named not in config.hub.tenants:
            raise InvalidInput(f"this hub does not serve tenant {named!r}")
        return named
    if named is not None and named != "":
        raise InvalidInput("'tenant' must be a string")
    if len(config.hub.tenants) == 1:
        return config.hub.tenants[0]
    raise InvalidInput('name the tenant (?tenant= or "tenant" in the body)')
