"""Dashboard sessions: staff log in with a name and password, get a role (viewer,
operator, admin), a CSRF token for every form, and a session that expires.

The session lives in Flask's signed cookie (HttpOnly, SameSite=Lax) under a key kept in a
file (created 0600 on first start). The role is read again from the database on every
request, so a removed user is out at once. Repeated failed logins from one address are
throttled.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import Engine

from cloud import users
from cloud.config import HubConfig
from cloud.db import read_only
from cloud.web.common import hub
from edge.kiosk.auth import Throttle

F = TypeVar("F", bound=Callable[..., Any])
CSRF_HEADER = "X-CSRF-Token"
# Reached without a login: the dashboard's login page and its own static files, the
# customer tracking page and the health check. /api/v1 and /metrics take the bearer token.
PUBLIC_PREFIXES = ("/login", "/track", "/healthz", "/dash/static/")

throttle = Throttle(limit=5, window_s=60.0)


def secret_key(config: HubConfig) -> str:
    """The session signing key: the key file's contents, created (0600) on first start."""
    path: Path = config.dashboard.secret_key_file or (config.http.token_file.parent / "session-key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def configure(app: Flask, config: HubConfig) -> None:
    app.config.update(
        SECRET_KEY=secret_key(config),
        SESSION_COOKIE_NAME="ps_hub",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=config.dashboard.session_minutes),
        SESSION_MINUTES=config.dashboard.session_minutes,
    )


def _engine() -> Engine:
    return hub()[1]


def current_user() -> dict[str, Any] | None:
    """The logged-in user ``{"name", "role"}`` with the role as it is now, or None."""
    if "user" in g:
        return cast("dict[str, Any] | None", g.user)
    user = None
    member = session.get("user")
    if member and session.get("expires", 0) >= time.time():
        with read_only(_engine()) as conn:
            role = users.get_role(conn, member)
        if role is not None:
            user = {"name": member, "role": role}
    g.user = user
    return user


def log_in(user: dict[str, Any]) -> None:
    session.clear()
    session["user"] = user["name"]
    session["expires"] = time.time() + current_app.config["SESSION_MINUTES"] * 60
    session["csrf"] = secrets.token_urlsafe(24)
    session.permanent = True
    g.user = user


def log_out() -> None:
    session.clear()
    g.user = None


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        abort(403, description="missing or wrong CSRF token; reload the page")


def is_public(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p) for p in PUBLIC_PREFIXES)


def wants_html() -> bool:
    if request.method != "GET" or request.path.startswith("/dash/api/"):
        return False
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "text/html"


def gate() -> Any:
    """Before every request outside /api/v1: public paths pass; anything else needs a
    live session (CSRF on changes) — or the API bearer token for /metrics and the
    OpenAPI document, which scrapers and integrators fetch."""
    if is_public(request.path):
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip(), current_app.config["API_TOKEN"]
    ):
        return None
    if current_user() is not None:
        check_csrf()
        return None
    if wants_html():
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
    abort(401, description="log in to the dashboard (or send the API bearer token)")


def require(role: str) -> Callable[[F], F]:
    """A view for ``role`` and above; 403 for a lower role."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                abort(401, description="log in to the dashboard")
            if not users.role_at_least(user["role"], role):
                abort(403, description=f"this needs the {role} role; you are {user['role']}")
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate
