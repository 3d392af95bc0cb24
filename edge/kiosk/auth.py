"""Who may do what: API bearer tokens, staff sessions, CSRF tokens and login throttling."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for

F = TypeVar("F", bound=Callable[..., Any])

CSRF_HEADER = "X-CSRF-Token"


def bearer_ok() -> bool:
    """The request carries ``Authorization: Bearer <the station's API token>``."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip(), current_app.config["API_TOKEN"]
    )


def require_token(view: F) -> F:
    """API routes: ``Authorization: Bearer <token>``, or a logged-in staff session."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if bearer_ok():
            g.actor = "api"
            return view(*args, **kwargs)
        if staff_member() is not None:
            check_csrf()
            g.actor = staff_member()["name"]  # type: ignore[index]
            return view(*args, **kwargs)
        abort(401, description="a bearer token is required")

    return cast(F, wrapped)


def require_token_or_kiosk(view: F) -> F:
    """Customer-screen calls: a bearer token, or the kiosk page's own session (its CSRF token
    proves the call comes from a page this station served; no login is needed to order)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if bearer_ok():
            g.actor = "api"
            return view(*args, **kwargs)
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(401, description="a bearer token, or the kiosk page's CSRF token, is required")
        g.actor = "kiosk"
        return view(*args, **kwargs)

    return cast(F, wrapped)


def staff_member() -> dict[str, Any] | None:
    member = session.get("staff")
    if not member or session.get("expires", 0) < time.time():
        return None
    return cast(dict[str, Any], member)


def login(member: dict[str, Any]) -> None:
    session.clear()
    session["staff"] = member
    session["expires"] = time.time() + current_app.config["SESSION_MINUTES"] * 60
    session["csrf"] = secrets.token_urlsafe(24)
    session.permanent = True


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


def staff_required(view: F) -> F:
    """Staff screens and their actions: a live session, and a CSRF token on every change."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if staff_member() is None:
            if request.method == "GET" and request.accept_mimetypes.accept_html:
                return redirect(url_for("pack.login", next=request.path))
            abort(401, description="staff login required")
        check_csrf()
        return view(*args, **kwargs)

    return cast(F, wrapped)


class Throttle:
    """At most ``limit`` failed logins per ``window_s`` from one client address."""

    def __init__(self, limit: int = 5, window_s: float = 60.0):
        self.limit, self.window_s = limit, window_s
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._fails.get(key, []) if now - t < self.window_s]
            self._fails[key] = recent
            return len(recent) >= self.limit

    def failed(self, key: str) -> None:
        with self._lock:
            self._fails.setdefault(key, []).append(time.monotonic())

    def reset(self, key: str) -> None:
        with self._lock:
            self._fails.pop(key, None)
