"""Customer pages, health, metrics and language choice."""

from __future__ import annotations

import io
import time
from typing import Any

import qrcode
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
)

from edge.kiosk.errors import ApiError
from edge.kiosk.live import TooManyListeners
from edge.kiosk.openapi import spec
from edge.kiosk.runtime import Runtime
from edge.store import catalog, journal, orders
from edge.sync import telemetry

bp = Blueprint("views", __name__)
LANGUAGES = ("zh-CN", "en")


def rt() -> Runtime:
    runtime: Runtime = current_app.extensions["printstation"]
    return runtime


@bp.get("/")
def home() -> str:
    """The customer screen: browse, cart, checkout, ticket (a single page)."""
    return render_template(
        "kiosk.html",
        idle_timeout_s=rt().config.kiosk.idle_timeout_s,
        categories=catalog.categories(rt().store.conn()),
        card=rt().terminal is not None,
    )


@bp.get("/kiosk/events")
def kiosk_events() -> Response:
    """Scans at the customer screen's own scanner, pushed to the page (products, tickets).
    Only the station's own screen gets them: phones on the store network do not."""
    if request.remote_addr not in ("127.0.0.1", "::1"):
        raise ApiError(403, "forbidden", "scans go only to the station's own screen")
    try:
        q = rt().customers.subscribe()
    except TooManyListeners as err:
        raise ApiError(503, "busy", str(err)) from err
    return Response(
        stream_with_context(rt().customers.stream(q)),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@bp.get("/o/<number>/qr.png")
def order_qr(number: str) -> Response:
    """The ticket's QR (the order's status link) as a PNG."""
    order = orders.by_number(rt().store.conn(), number[:40])
    if order is None:
        raise ApiError(404, "not_found", f"no order {number[:40]}")
    image = qrcode.make(f"{rt().base_url}/o/{order['number']}", box_size=8, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(
        out.getvalue(), mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


@bp.get("/o/<number>")
def order_status(number: str) -> Any:
    """Public order status (the ticket's QR): timeline and lines, no personal data."""
    order = orders.by_number(rt().store.conn(), number[:40])
    if order is None:
        return render_template("error.html", status=404, code="not_found", message=number[:40]), 404
    return render_template("order_status.html", order=order)


@bp.get("/lang/<code>")
def language(code: str) -> Any:
    if code in LANGUAGES:
        session["lang"] = code
    target = request.referrer or "/"
    return redirect(target if target.startswith(rt().base_url) or target.startswith("/") else "/")


@bp.get("/healthz")
def healthz() -> Response:
    conn = rt().store.conn()
    conn.execute("SELECT 1").fetchone()
    return jsonify(
        {
            "ok": True,
            "station": rt().config.station.id,
            "service": "kiosk",
            "journal_seq": journal.last_seq(conn),
        }
    )


@bp.get("/metrics")
def metrics() -> Response:
    m = rt().metrics
    for row in (
        rt().store.conn().execute("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
    ):
        m.orders.labels(row["status"]).set(row["n"])
    m.observe(telemetry.gather(rt().config, rt().store, time.monotonic(), None))
    return Response(m.render(), mimetype="text/plain; version=0.0.4")


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(spec())
