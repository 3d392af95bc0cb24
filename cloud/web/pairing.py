"""First-boot pairing over HTTP (see :mod:`cloud.pairing`).

``POST /api/v1/pairing/poll`` is for new stations and needs no token (the one route of
``/api/v1`` without one, listed in :data:`PUBLIC`): it answers credentials only for a code
an operator has claimed. ``POST /api/v1/pairing/claim`` and
``GET /api/v1/pairing`` are operator routes behind the API's bearer token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from cloud import pairing
from cloud.db import transaction
from cloud.errors import InvalidInput
from cloud.web.common import body as _body
from cloud.web.common import hub as _hub

bp = Blueprint("hub_pairing", __name__, url_prefix="/api/v1")
PUBLIC = ("/api/v1/pairing/poll",)


@bp.errorhandler(pairing.PairingDisabled)
def _disabled(err: pairing.PairingDisabled) -> Any:
    return jsonify({"error": {"code": "pairing_off", "message": str(err)}}), 404


@bp.post("/pairing/poll")
def poll() -> Any:
    """A new station asks whether its code was claimed; ``paired`` carries its credentials."""
    body = _body()
    config, engine = _hub()
    with transaction(engine) as conn:
        answer = pairing.poll(
            conn,
            config,
            body.get("station_id"),
            body.get("tenant"),
            body.get("store"),
            body.get("code"),
        )
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/pairing/claim")
def claim() -> Any:
    """An operator vouches for a station: ``{"station_id", "code", "by"}``."""
    body = _body()
    config, engine = _hub()
    station_id, code = body.get("station_id"), body.get("code")
    if not isinstance(station_id, str) or not isinstance(code, str):
        raise InvalidInput("station_id and code are required strings")
    by = body.get("by", "api")
    with transaction(engine) as conn:
        claimed = pairing.claim(conn, config, station_id, code, by if isinstance(by, str) else "")
    return jsonify(claimed), 201


@bp.get("/pairing")
def waiting() -> Any:
    """Stations waiting to be paired (no codes)."""
    config, engine = _hub()
    with transaction(engine) as conn:
        return jsonify({"pending": pairing.pending(conn, config)})
