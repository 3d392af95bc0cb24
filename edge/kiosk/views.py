"""Customer pages, health, metrics and language choice."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
)

from edge.kiosk.openapi import spec
from edge.kiosk.runtime import Runtime
from edge.store import journal, orders, print_jobs

bp = Blueprint("views", __name__)
LANGUAGES = ("zh-CN", "en")


def rt() -> Runtime:
    runtime: Runtime = current_app.extensions["printstation"]
    return runtime


@bp.get("/")
def home() -> str:
    return render_template("home.html")


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
    conn = rt().store.conn()
    for printer, n in print_jobs.depth(conn).items():
        m.queue_depth.labels(printer).set(n)
    for row in conn.execute("SELECT status, COUNT(*) AS n FROM orders GROUP BY status"):
        m.orders.labels(row["status"]).set(row["n"])
    m.journal_seq.set(journal.last_seq(conn))
    return Response(m.render(), mimetype="text/plain; version=0.0.4")


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return jsonify(spec())
