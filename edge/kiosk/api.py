"""The station's JSON API (``/api/v1``); errors share one shape, see :mod:`edge.kiosk.errors`."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from edge.kiosk import auth, packing
from edge.kiosk.errors import ApiError, body_json
from edge.kiosk.runtime import Runtime
from edge.protocol import printable
from edge.store import Conflict, NotFound, catalog, orders, print_jobs, stock

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_QTY = 999
MAX_LINES = 100


def rt() -> Runtime:
    runtime: Runtime = current_app.extensions["printstation"]
    return runtime


@bp.get("/products")
def products() -> Response:
    q = request.args.get("q", "")[:100]
    limit = min(request.args.get("limit", 50, type=int) or 50, 200)
    return jsonify({"products": catalog.search(rt().store.conn(), q.strip(), limit)})


@bp.get("/products/<sku>")
def product(sku: str) -> Response:
    found = catalog.get(rt().store.conn(), sku)
    if found is None:
        raise ApiError(404, "not_found", f"no product {sku}")
    return jsonify(found)


@bp.post("/scans")
@auth.require_token
def scan() -> tuple[Response, int]:
    body = body_json()
    code, source = body.get("code"), body.get("source", "api")
    rejected = body.get("rejected")
    if not isinstance(code, str) or not isinstance(source, str):
        raise ApiError(400, "bad_request", "'code' and 'source' must be strings")
    if rejected is not None and not isinstance(rejected, str):
        raise ApiError(400, "bad_request", "'rejected' must be a string")
    key = request.headers.get("Idempotency-Key", "")[:64] or None
    if rejected is not None:  # the scanner service refused it; record and show it
        notice = packing.Scan(printable(code, 128), source[:64], key)
        return jsonify(rt().scan(notice, rejected=rejected).to_json()), 200
    try:
        code = packing.clean_code(code)
    except ValueError as err:
        raise ApiError(400, "bad_scan", str(err)) from err
    gs1 = body.get("gs1") if isinstance(body.get("gs1"), dict) else None
    gtin = gs1.get("gtin") if gs1 else None
    scan = packing.Scan(code, source[:64], key, gtin if isinstance(gtin, str) else None)
    result = rt().scan(scan)
    if result.ok:
        return jsonify(result.to_json()), 200
    error = {"code": result.outcome, "message": result.message}
    return jsonify({"error": error, "scan": result.to_json()}), 422


@bp.get("/orders")
@auth.require_token
def list_orders() -> Response:
    status = request.args.get("status")
    if status and status not in orders.STATUSES:
        raise ApiError(400, "bad_request", f"unknown status {status!r}")
    found = orders.find(
        rt().store.conn(),
        status=status,
        channel=request.args.get("channel"),
        limit=min(request.args.get("limit", 100, type=int) or 100, 500),
    )
    return jsonify({"orders": found})


@bp.get("/orders/<order_id>")
@auth.require_token
def get_order(order_id: str) -> Response:
    conn = rt().store.conn()
    try:
        return jsonify(orders.get(conn, order_id))
    except NotFound:
        found = orders.by_number(conn, order_id)
        if found is None:
            raise
        return jsonify(found)


def _lines(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("lines")
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "bad_request", "'lines' must be a non-empty list")
    if len(raw) > MAX_LINES:
        raise ApiError(400, "bad_request", f"at most {MAX_LINES} lines")
    merged: dict[str, int] = {}
    for i, line in enumerate(raw):
        if not isinstance(line, dict):
            raise ApiError(400, "bad_request", f"lines[{i}] must be an object")
        sku, qty = line.get("sku"), line.get("qty")
        if not isinstance(sku, str) or not sku or len(sku) > 64:
            raise ApiError(400, "bad_request", f"lines[{i}].sku must be a SKU string")
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QTY:
            raise ApiError(400, "bad_quantity", f"lines[{i}].qty must be 1..{MAX_QTY}")
        merged[sku] = merged.get(sku, 0) + qty
    return [{"sku": s, "qty": q} for s, q in merged.items()]


@bp.post("/orders")
@auth.require_token
def create_order() -> tuple[Response, int]:
    body = body_json()
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 128:
        raise ApiError(400, "idempotency_key_required", "send an Idempotency-Key header (≤128)")
    payment = body.get("payment", "counter")
    if payment != "counter":
        raise ApiError(422, "payment_unsupported", "this station takes pay-at-counter orders")
    wanted = _lines(body)
    runtime = rt()
    with runtime.store.write() as conn:
        existing = orders.by_idempotency_key(conn, key)
        if existing:
            return jsonify(existing), 200
        lines = []
        for line in wanted:
            product = catalog.get(conn, line["sku"])
            if product is None:
                raise ApiError(422, "unknown_sku", f"unknown SKU {line['sku']}")
            available = stock.sellable(conn, line["sku"])
            if available < line["qty"]:
                raise ApiError(
                    409, "insufficient_stock", f"only {available} of {line['sku']} can be sold here"
                )
            lines.append(
                {
                    **line,
                    "name": product["name"],
                    "name_en": product["name_en"],
                    "unit_price": Decimal(product["price"]),
                }
            )
        order = orders.create(
            conn,
            station=runtime.config.station.id,
            channel="kiosk",
            lines=lines,
            status="pending_payment",
            payment="counter",
            fulfilment="pickup",
            idempotency_key=key,
        )
        for line in lines:
            stock.move(conn, line["sku"], -line["qty"], "sale", order["id"])
        runtime.queue_ticket(conn, order)
    runtime.after_commit()
    return jsonify(orders.get(runtime.store.conn(), order["id"])), 201


@bp.get("/print-jobs")
@auth.require_token
def list_jobs() -> Response:
    status = request.args.get("status")
    if status and status not in print_jobs.STATUSES:
        raise ApiError(400, "bad_request", f"unknown status {status!r}")
    jobs = print_jobs.find(
        rt().store.conn(),
        status=status,
        order_id=request.args.get("order_id"),
        limit=min(request.args.get("limit", 100, type=int) or 100, 500),
    )
    return jsonify({"print_jobs": jobs})


@bp.get("/print-jobs/<int:job_id>")
@auth.require_token
def get_job(job_id: int) -> Response:
    return jsonify(print_jobs.get(rt().store.conn(), job_id))


@bp.post("/print-jobs/<int:job_id>/reprint")
@auth.require_token
def reprint(job_id: int) -> tuple[Response, int]:
    runtime = rt()
    with runtime.store.write() as conn:
        job = print_jobs.reprint(conn, job_id)
    runtime.after_commit()
    log.info("print job %d reprinted as %d by %s", job_id, job["id"], g.get("actor"))
    return jsonify(job), 201


@bp.post("/print-jobs/<int:job_id>/resolve")
@auth.require_token
def resolve(job_id: int) -> Response:
    body = body_json()
    printed = body.get("printed")
    if not isinstance(printed, bool):
        raise ApiError(400, "bad_request", "'printed' must be true or false")
    runtime = rt()
    with runtime.store.write() as conn:
        job = print_jobs.resolve_uncertain(conn, job_id, printed)
    runtime.after_commit()
    return jsonify(job)


@bp.get("/print-jobs/<int:job_id>/preview.png")
@auth.require_token
def preview(job_id: int) -> Response:
    print_jobs.get(rt().store.conn(), job_id)
    path = rt().preview_path(job_id)
    if not path.exists():
        raise ApiError(404, "preview_not_ready", "the spooler has not rendered this job yet")
    return Response(
        path.read_bytes(), mimetype="image/png", headers={"Cache-Control": "private, max-age=60"}
    )


@bp.get("/stock/<sku>")
@auth.require_token
def stock_of(sku: str) -> Response:
    conn = rt().store.conn()
    if catalog.get(conn, sku) is None:
        raise ApiError(404, "not_found", f"no product {sku}")
    return jsonify({"sku": sku, **stock.summary(conn, sku)})


@bp.errorhandler(Conflict)
def _conflict(err: Conflict) -> tuple[Response, int]:
    return jsonify({"error": {"code": "conflict", "message": str(err)}}), 409
