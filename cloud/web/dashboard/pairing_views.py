"""Pair a station from the dashboard: the stations waiting to be paired, and a form where
an operator standing at a new station types its id and the code it shows. The decision is
:func:`cloud.pairing.claim`, as for ``POST /api/v1/pairing/claim``."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for

from cloud import pairing
from cloud.db import transaction
from cloud.web.dashboard import auth
from cloud.web.dashboard.views import _hub, bp


@bp.get("/pairing")
@auth.require("viewer")
def pairing_page() -> Any:
    config, engine = _hub()
    with transaction(engine) as conn:  # listing expires stale requests
        waiting = pairing.pending(conn, config)
    enabled = config.pairing.station_mqtt_url is not None
    return render_template("dashboard/pairing.html", waiting=waiting, enabled=enabled)


@bp.post("/pairing")
@auth.require("operator")
def pair_station() -> Any:
    config, engine = _hub()
    data = request.get_json(silent=True) if request.is_json else request.form
    user = auth.current_user() or {}
    with transaction(engine) as conn:
        claimed = pairing.claim(
            conn,
            config,
            str((data or {}).get("station_id", "")).strip(),
            str((data or {}).get("code", "")),
            user["name"],
        )
    if request.is_json:
        return jsonify(claimed)
    flash(f"station {claimed['station_id']} paired; it connects on its next poll")
    return redirect(url_for("dashboard.pairing_page"))
