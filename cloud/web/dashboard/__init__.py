"""The hub's ops dashboard: fleet overview, station pages with charts and remote commands,
order flow, forecast and alerts, behind a staff login with roles."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from cloud.config import HubConfig
from cloud.web.dashboard import auth, pairing_views, queues, users_views, views


def init_app(app: Flask, config: HubConfig) -> None:
    """Sessions, the login gate for every non-API path, and the dashboard's routes."""
    auth.configure(app, config)
    app.before_request(_gate)
    assert queues.bp is pairing_views.bp is users_views.bp is views.bp  # one blueprint
    app.register_blueprint(views.bp)


def _gate() -> Any:
    if request.path.startswith("/api/v1/"):
        return None  # the bearer-token API has its own check
    return auth.gate()
