"""The packing screen (``/pack``): staff login by PIN or badge, the scan-driven packing flow,
exceptions, batch pick lists and reprints, with live updates pushed to the page."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask import jsonify as _jsonify
from flask_babel import gettext as _

from edge.kiosk import auth, packing
from edge.kiosk.errors import ApiError, body_json
from edge.kiosk.live import TooManyListeners
from edge.kiosk.runtime import Runtime
from edge.store import catalog, orders, print_jobs, scans, staff

log = logging.getLogger(__name__)
bp = Blueprint("pack", __name__, url_prefix="/pack")

EXCEPTION_REASONS = ("address_unclear", "damaged", "out_of_stock", "wrong_item", "other")


def rt() -> Runtime:
    runtime: Runtime = current_app.extensions["printstation"]
    return runtime


def messages() -> dict[str, str]:
    """Strings the page script shows, in the page's language."""
    return {
        "order_opened": _("Order %(n)s opened — scan its items", n="{msg}"),
        "order_paid": _("Order %(n)s marked paid", n="{msg}"),
        "item_packed": _("Counted: %(n)s", n="{msg}"),
        "order_packed": _("Order %(n)s packed — label printing", n="{msg}"),
        "wrong_item": _("Not in this order: %(n)s", n="{msg}"),
        "over_scan": _("Already complete: %(n)s", n="{msg}"),
        "unknown_code": _("Unknown barcode"),
        "no_open_order": _("Scan an order first"),
        "not_packable": _("Cannot pack: %(n)s", n="{msg}"),
        "badge": _("Badge: %(n)s", n="{msg}"),
        "bad_scan": _("Unreadable scan"),
        "rejected": _("Scan refused: %(n)s", n="{msg}"),
        "queued": _("queued"),
        "printing": _("printing"),
        "done": _("printed"),
        "failed": _("failed"),
        "uncertain": _("uncertain"),
        "cancelled": _("cancelled"),
        "confirm_exception": _("Move this order to the exception list?"),
        "batch_started": _("Pick list for %(n)s orders sent to the printer", n="{msg}"),
        "error": _("Something went wrong: %(n)s", n="{msg}"),
        "st_open": _("to pack"),
        "st_picking": _("picking"),
        "st_packing": _("packing now"),
        "st_packed": _("packed"),
        "st_exception": _("exception"),
    }


def reasons() -> dict[str, str]:
    return {
        "address_unclear": _("Address unclear"),
        "damaged": _("Damaged"),
        "out_of_stock": _("Out of stock"),
        "wrong_item": _("Wrong item in stock"),
        "other": _("Other"),
    }


def _client() -> str:
    return request.remote_addr or "?"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        if rt().throttle.blocked(_client()):
            error = _("Too many attempts — wait a minute")
        else:
            pin = request.form.get("pin", "")[:12]
            member = staff.by_pin(rt().store.conn(), pin) if pin.isdigit() else None
            if member:
                rt().throttle.reset(_client())
                auth.login(member)
                log.info("staff %s logged in by PIN", member["name"])
                return redirect(_next_url())
            rt().throttle.failed(_client())
            error = _("Wrong PIN")
    return render_template("pack_login.html", error=error, next=request.args.get("next", ""))


def _next_url() -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("pack.screen")


@bp.get("/login/events")
def login_events() -> Response:
    try:
        q = rt().logins.subscribe()
    except TooManyListeners as err:
        raise ApiError(503, "busy", str(err)) from err
    return _sse(rt().logins.stream(q))


@bp.post("/login/badge")
def login_badge() -> Response:
    token = body_json().get("token")
    member = rt().redeem_badge(token) if isinstance(token, str) else None
    if member is None:
        raise ApiError(401, "bad_badge_token", "badge login expired; scan the badge again")
    auth.login(member)
    log.info("staff %s logged in by badge", member["name"])
    return _jsonify({"ok": True, "next": url_for("pack.screen")})


@bp.post("/logout")
@auth.staff_required
def logout() -> Response:
    from flask import session

    session.clear()
    return _jsonify({"ok": True, "next": url_for("pack.login")})


@bp.get("")
@auth.staff_required
def screen() -> str:
    return render_template(
        "pack.html",
        messages=messages(),
        reasons=reasons(),
        member=auth.staff_member(),
        csrf=auth.csrf_token(),
    )


def state() -> dict[str, Any]:
    conn = rt().store.conn()
    current = packing.open_order_id(conn)
    queue = [
        o for s in ("packing", "open", "picking") for o in orders.find(conn, status=s, limit=200)
    ]
    open_order = orders.get(conn, current) if current else None
    bins = {
        line["sku"]: (catalog.get(conn, line["sku"]) or {}).get("bin", "")
        for line in (open_order or {}).get("lines", [])
    }
    return {
        "open_order": open_order,
        "bins": bins,
        "queue": queue,
        "exceptions": orders.find(conn, status="exception", limit=50),
        "packed": orders.find(conn, status="packed", limit=20)[-20:],
        "jobs": print_jobs.find(conn, limit=20),
        "scans": scans.recent(conn, 10),
    }


@bp.get("/state")
@auth.staff_required
def state_json() -> Response:
    return _jsonify(state())


@bp.get("/events")
@auth.staff_required
def events() -> Response:
    try:
        q = rt().live.subscribe()
    except TooManyListeners as err:
        raise ApiError(503, "busy", str(err)) from err
    return _sse(rt().live.stream(q))


def _sse(frames: Any) -> Response:
    return Response(
        stream_with_context(frames),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@bp.post("/scan")
@auth.staff_required
def manual_scan() -> Response:
    """A code typed at the packing screen (a damaged barcode), handled like a scan."""
    code = body_json().get("code")
    if not isinstance(code, str):
        raise ApiError(400, "bad_request", "'code' must be a string")
    try:
        code = packing.clean_code(code)
    except ValueError as err:
        raise ApiError(400, "bad_scan", str(err)) from err
    return _jsonify(rt().scan(packing.Scan(code, "manual")).to_json())


@bp.post("/close")
@auth.staff_required
def close() -> Response:
    with rt().store.write() as conn:
        order = packing.close_order(conn)
    rt().after_commit()
    return _jsonify({"order": order})


@bp.post("/exception")
@auth.staff_required
def flag() -> Response:
    body = body_json()
    order_id, reason = body.get("order_id"), body.get("reason")
    note = str(body.get("note", ""))[:200]
    if not isinstance(order_id, str) or reason not in EXCEPTION_REASONS:
        raise ApiError(400, "bad_request", f"need order_id and a reason of {EXCEPTION_REASONS}")
    member = auth.staff_member() or {}
    with rt().store.write() as conn:
        order = packing.flag(
            conn, order_id, f"{reason}: {note}".rstrip(": ") + f" ({member.get('name')})"
        )
    rt().after_commit()
    return _jsonify({"order": order})


@bp.post("/batch")
@auth.staff_required
def batch() -> Response:
    ids = body_json().get("order_ids")
    if (
        not isinstance(ids, list)
        or not ids
        or len(ids) > 50
        or not all(isinstance(i, str) for i in ids)
    ):
        raise ApiError(400, "bad_request", "'order_ids' must list 1..50 order ids")
    with rt().store.write() as conn:
        batch_id, job = packing.start_batch(conn, rt().config, ids)
    rt().after_commit()
    return _jsonify({"batch_id": batch_id, "job": job, "orders": len(ids)})


@bp.post("/reprint")
@auth.staff_required
def reprint() -> Response:
    body = body_json()
    order_id = body.get("order_id")
    job_id = body.get("job_id")
    with rt().store.write() as conn:
        if isinstance(job_id, int):
            job = print_jobs.reprint(conn, job_id)
        elif isinstance(order_id, str):
            jobs = [
                j
                for j in print_jobs.find(conn, order_id=order_id)
                if j["kind"] in ("label", "ticket")
            ]
            if jobs:
                job = print_jobs.reprint(conn, jobs[0]["id"])
            else:
                order = orders.get(conn, order_id)
                made = packing.print_for_packed(conn, rt().config, order, rt().base_url)
                if not made:
                    raise ApiError(409, "no_printer", "no printer is configured for this order")
                job = made[0]
        else:
            raise ApiError(400, "bad_request", "need job_id or order_id")
    rt().after_commit()
    return _jsonify({"job": job})
