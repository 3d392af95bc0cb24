"""Dashboard pages, their JSON feeds (polled for live updates) and staff actions.

Live updates poll a small JSON endpoint every ``[dashboard] refresh_s``: each poll is one
short request, so an open page never holds a waitress thread (SSE would hold one per
viewer for as long as the page is open, out of ``[http] threads``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from cloud import alerts, commands, forecast, registry, users
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput
from cloud.web.common import hub as _hub
from cloud.web.dashboard import auth, data
from cloud.web.dashboard.rows import fleet_rows
from edge.protocol import format_time

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/dash/static",
)


@bp.app_context_processor
def _context() -> dict[str, Any]:
    user = auth.current_user() if not auth.is_public(request.path) else None
    config, _ = _hub()
    return {
        "user": user,
        "csrf_token": auth.csrf_token,
        "can_act": bool(user and users.role_at_least(user["role"], "operator")),
        "refresh_ms": int(config.dashboard.refresh_s * 1000),
    }


# -- login ----------------------------------------------------------------------------------


@bp.get("/login")
def login() -> Any:
    return render_template("dashboard/login.html", next=request.args.get("next", "/"))


@bp.post("/login")
def login_post() -> Any:
    _, engine = _hub()
    who = request.remote_addr or "?"
    name, password = request.form.get("name", ""), request.form.get("password", "")
    target = request.form.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if auth.throttle.blocked(who):
        error = "Too many tries; wait a minute."
        return render_template("dashboard/login.html", next=target, error=error), 429
    with transaction(engine) as conn:
        user = users.authenticate(conn, name, password)
    if user is None:
        auth.throttle.failed(who)
        error = "Wrong name or password."
        return render_template("dashboard/login.html", next=target, error=error), 401
    auth.throttle.reset(who)
    auth.log_in(user)
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
    auth.log_out()
    return redirect(url_for("dashboard.login"))


@bp.get("/dash/static/plotly.min.js")
def plotly_js() -> Response:
    """plotly.js as the installed plotly package ships it (no CDN, no copy in the repo)."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    response = send_file(path, mimetype="text/javascript", max_age=86400)
    return response


# -- pages ----------------------------------------------------------------------------------


@bp.get("/")
@auth.require("viewer")
def overview() -> Any:
    config, engine = _hub()
    with read_only(engine) as conn:
        view = data.overview(conn, config)
    rows = fleet_rows(view["stations"])
    return render_template("dashboard/overview.html", view=view, rows=rows)


@bp.get("/dash/api/overview")
@auth.require("viewer")
def overview_json() -> Any:
    config, engine = _hub()
    with read_only(engine) as conn:
        return jsonify(data.overview(conn, config))


def _station_view(station: str, hours: float) -> dict[str, Any]:
    config, engine = _hub()
    since = format_time(datetime.now(UTC) - timedelta(hours=hours))
    with read_only(engine) as conn:
        row = registry.get_station(conn, station)  # NotFound → 404
        (state,) = data.overview(conn, config, only=station)["stations"]
        return {
            "station": {**state, "registered_at": row["registered_at"]},
            "history": registry.history(conn, station, since),
            "orders": data.station_orders(conn, station),
            "print_jobs": data.print_jobs(conn, station),
            "alerts": alerts.recent_alerts(conn, station=station, limit=30),
            "commands": commands.list_commands(conn, station, limit=30),
        }


@bp.get("/stations/<station>")
@auth.require("viewer")
def station_page(station: str) -> Any:
    view = _station_view(station, float(request.args.get("hours", 24)))
    return render_template("dashboard/station.html", view=view, station_id=station)


@bp.get("/dash/api/stations/<station>")
@auth.require("viewer")
def station_json(station: str) -> Any:
    return jsonify(_station_view(station, float(request.args.get("hours", 24))))


@bp.get("/orders")
@auth.require("viewer")
def orders_page() -> Any:
    from cloud.web.dashboard.queues import held_orders

    config, engine = _hub()
    with read_only(engine) as conn:
        view = data.order_flow(conn)
        held = held_orders(conn, config)
    return render_template("dashboard/orders.html", view=view, held=held)


@bp.get("/dash/api/orders")
@auth.require("viewer")
def orders_json() -> Any:
    _, engine = _hub()
    with read_only(engine) as conn:
        return jsonify(data.order_flow(conn))


@bp.get("/forecast")
@auth.require("viewer")
def forecast_page() -> Any:
    _, engine = _hub()
    with read_only(engine) as conn:
        stores = sorted(forecast.stores(conn))
        views = [forecast.store_forecast(conn, s) for s in stores]
    return render_template("dashboard/forecast.html", views=views)


@bp.get("/dash/api/forecast")
@auth.require("viewer")
def forecast_json() -> Any:
    _, engine = _hub()
    store = request.args.get("store")
    with read_only(engine) as conn:
        stores = [store] if store else sorted(forecast.stores(conn))
        return jsonify({"stores": [forecast.store_forecast(conn, s) for s in stores]})


@bp.get("/alerts")
@auth.require("viewer")
def alerts_page() -> Any:
    _, engine = _hub()
    with read_only(engine) as conn:
        recent = alerts.recent_alerts(conn, limit=200)
    return render_template("dashboard/alerts.html", alerts=recent)


# -- actions (operator and up) -----------------------------------------------------------


def _int_arg(form: dict[str, str], key: str, *, minimum: int = 0) -> int:
    try:
        value = int(form.get(key, ""))
    except ValueError:
        raise InvalidInput(f"{key} must be a whole number") from None
    if value < minimum:
        raise InvalidInput(f"{key} must be at least {minimum}")
    return value


def command_args(name: str, form: dict[str, str]) -> dict[str, Any]:
    """A command's args from the station page's form fields."""
    if name == "reprint":
        return {"job_id": _int_arg(form, "job_id", minimum=1)}
    if name in ("pause_printer", "resume_printer"):
        printer = form.get("printer", "").strip()
        if not printer:
            raise InvalidInput("name the printer")
        return {"printer": printer}
    if name == "resync":
        return {"from_seq": _int_arg(form, "from_seq", minimum=1)}
    if name == "set_config":
        key, raw = form.get("key", "").strip(), form.get("value", "")
        if not key:
            raise InvalidInput("name the setting (e.g. spooler.retry_max_s)")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        return {"key": key, "value": value}
    raise InvalidInput(f"unknown command {name!r}")


@bp.post("/stations/<station>/commands")
@auth.require("operator")
def send_command(station: str) -> Any:
    _, engine = _hub()
    body = request.get_json(silent=True) if request.is_json else None
    form = {k: str(v) for k, v in (body or request.form).items()}
    name = form.get("name", "")
    args = command_args(name, form)
    with transaction(engine) as conn:
        command = commands.add_command(conn, station, name, args)
    if request.is_json:
        return jsonify(command), 201
    flash(f"{name} sent to {station} (command {command['id'][:8]})")
    return redirect(url_for("dashboard.station_page", station=station))


@bp.post("/alerts/<int:alert_id>/clear")
@auth.require("operator")
def clear_alert(alert_id: int) -> Any:
    _, engine = _hub()
    with transaction(engine) as conn:
        if not alerts.clear_alert(conn, alert_id):
            abort(404, description=f"no open alert {alert_id}")
    if request.is_json:
        return jsonify({"cleared": alert_id})
    return redirect(request.referrer or url_for("dashboard.alerts_page"))
