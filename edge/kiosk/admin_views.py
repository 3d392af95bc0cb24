"""Station admin (``/admin``): printers, scanners, print jobs needing a decision, stock and
exceptions to resolve."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template

from edge.kiosk import auth
from edge.kiosk.errors import ApiError, body_json
from edge.kiosk.runtime import Runtime
from edge.store import catalog, orders, print_jobs, stock

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")


def rt() -> Runtime:
    runtime: Runtime = current_app.extensions["printstation"]
    return runtime


def read_status(path: Path) -> dict[str, Any]:
    """A status file another station process writes; empty when it is absent or torn."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@bp.get("")
@auth.staff_required
def screen() -> str:
    return render_template("admin.html", member=auth.staff_member(), csrf=auth.csrf_token())


@bp.get("/state")
@auth.staff_required
def state() -> Response:
    conn = rt().store.conn()
    products = catalog.search(conn, "", limit=200)
    return jsonify(
        {
            "printers": read_status(rt().runtime_dir / "spooler-status.json"),
            "scanners": read_status(rt().runtime_dir / "scanner-status.json"),
            "attention": print_jobs.find(conn, status="uncertain")
            + print_jobs.find(conn, status="failed", limit=20),
            "queue_depth": print_jobs.depth(conn),
            "exceptions": orders.find(conn, status="exception"),
            "stock": [
                {
                    "sku": p["sku"],
                    "name": p["name"],
                    "bin": p["bin"],
                    "sellable": stock.sellable(conn, p["sku"]),
                }
                for p in products
            ],
        }
    )


@bp.post("/jobs/<int:job_id>/resolve")
@auth.staff_required
def resolve(job_id: int) -> Response:
    printed = body_json().get("printed")
    if not isinstance(printed, bool):
        raise ApiError(400, "bad_request", "'printed' must be true or false")
    with rt().store.write() as conn:
        job = print_jobs.resolve_uncertain(conn, job_id, printed)
    rt().after_commit()
    log.info(
        "job %d resolved as %s by %s",
        job_id,
        "printed" if printed else "reprint",
        (auth.staff_member() or {}).get("name"),
    )
    return jsonify({"job": job})


@bp.post("/jobs/<int:job_id>/cancel")
@auth.staff_required
def cancel(job_id: int) -> Response:
    with rt().store.write() as conn:
        job = print_jobs.cancel(conn, job_id)
    rt().after_commit()
    return jsonify({"job": job})


@bp.post("/orders/<order_id>/release")
@auth.staff_required
def release(order_id: str) -> Response:
    member = auth.staff_member() or {}
    with rt().store.write() as conn:
        order = orders.release_exception(conn, order_id, f"released by {member.get('name')}")
    rt().after_commit()
    return jsonify({"order": order})


@bp.post("/orders/<order_id>/cancel")
@auth.staff_required
def cancel_order(order_id: str) -> Response:
    member = auth.staff_member() or {}
    with rt().store.write() as conn:
        order = orders.cancel(conn, order_id, f"cancelled by {member.get('name')}")
    rt().after_commit()
    return jsonify({"order": order})
