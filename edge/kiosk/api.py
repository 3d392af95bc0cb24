"""The station's JSON API (``/api/v1``); errors share one shape, see :mod:`edge.kiosk.errors`."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, session
from flask_babel import gettext as _

from edge.kiosk import auth, checkout, documents, packing, pricing
from edge.kiosk.errors import ApiError, body_json
from edge.kiosk.runtime import Runtime
from edge.protocol import printable
from edge.store import Conflict, NotFound, catalog, feedback, orders, print_jobs, stock

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")


def rt() -> Runtime:
    runtime: Runtime = current_app.extensions["printstation"]
    return runtime


def _limit(default: int, most: int) -> int:
    """The ``limit`` query argument within 1..``most``; ``default`` when absent or not a number."""
    return max(1, min(request.args.get("limit", default, type=int) or default, most))


@bp.get("/products")
def products() -> Response:
    q = request.args.get("q", "")[:100]
    limit = _limit(50, 200)
    category = request.args.get("category") or None
    return jsonify({"products": catalog.search(rt().store.conn(), q.strip(), limit, category)})


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
        limit=_limit(100, 500),
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


def _cart(body: dict[str, Any]) -> checkout.Cart:
    try:
        return checkout.parse_cart(body)
    except checkout.CartError as err:
        raise ApiError(err.status, err.code, str(err)) from err


def coupon_message(check: pricing.CouponCheck, currency: str) -> str:
    detail = check.detail
    messages = {
        "ok": _("%(detail)s off", detail=detail if detail.endswith("%") else currency + detail),
        "unknown": _("Unknown coupon code"),
        "not_yet_valid": _("Valid from %(detail)s", detail=detail),
        "expired": _("Expired on %(detail)s", detail=detail),
        "used_up": _("This coupon has been used up"),
        "min_spend": _("Needs a spend of at least %(detail)s", detail=currency + detail),
    }
    return messages.get(check.reason, check.reason)


@bp.get("/categories")
def categories() -> Response:
    return jsonify({"categories": catalog.categories(rt().store.conn())})


@bp.post("/cart/quote")
@auth.require_token_or_kiosk
def quote() -> Response:
    runtime = rt()
    cart = _cart(body_json())
    conn = runtime.store.conn()
    priced = checkout.price(conn, cart, runtime.config.kiosk)
    check = priced.quote.coupon
    return jsonify(
        {
            "lines": priced.lines,
            **priced.quote.to_json(),
            "coupon": None
            if check is None
            else {
                "code": check.code,
                "ok": check.ok,
                "message": coupon_message(check, runtime.config.station.currency),
            },
            "member": priced.member,
            "problems": priced.problems,
            "recommendations": checkout.suggestions(conn, cart),
        }
    )


def order_view(order: dict[str, Any]) -> dict[str, Any]:
    """An order as the customer screen shows it: with its status link, QR and instructions."""
    runtime = rt()
    ticket = documents.ticket(runtime.config, order, runtime.base_url, language=session.get("lang"))
    return {
        **order,
        "status_url": ticket["status_url"],
        "qr_url": f"/o/{order['number']}/qr.png",
        "instructions": ticket["instructions"],
    }


@bp.post("/orders")
@auth.require_token_or_kiosk
def create_order() -> tuple[Response, int]:
    body = body_json()
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 128:
        raise ApiError(400, "idempotency_key_required", "send an Idempotency-Key header (≤128)")
    payment = body.get("payment", "counter")
    if payment not in ("counter", "card"):
        raise ApiError(400, "bad_request", "'payment' is counter or card")
    cart = _cart(body)
    runtime = rt()
    charge = None
    if payment == "card":  # the terminal needs the amount before the order transaction
        # A retry finds its order before the card is charged again. (A counter order needs
        # no early look: ``place`` below finds it under the write lock all the same.)
        existing = orders.by_idempotency_key(runtime.store.conn(), key)
        if existing:
            return jsonify(order_view(existing)), 200
        priced = checkout.price(runtime.store.conn(), cart, runtime.config.kiosk)
        if not priced.orderable:
            err = checkout.problem(priced)
            raise ApiError(err.status, err.code, str(err))
        charge = runtime.take_card_payment(key, priced.quote.total)

    def place(conn: sqlite3.Connection) -> tuple[dict[str, Any], bool]:
        existing = orders.by_idempotency_key(conn, key)
        if existing:
            return existing, False
        priced = checkout.price(conn, cart, runtime.config.kiosk)  # under the write lock
        if not priced.orderable:
            err = checkout.problem(priced)
            raise ApiError(err.status, err.code, str(err))
        if charge and priced.quote.total != charge.amount:
            raise ApiError(409, "price_changed", "prices changed while paying; try again")
        made = checkout.commit_order(
            conn,
            station=runtime.config.station.id,
            cart=cart,
            priced=priced,
            payment=payment,
            key=key,
            charge_ref=charge.ref if charge else None,
        )
        runtime.queue_ticket(conn, made)
        return made, True

    try:
        order, created = runtime.writes.run(place)
    except BaseException:
        if charge:
            runtime.void(charge)
        raise
    finally:
        runtime.inflight.release(key)
    if not created:
        if charge:
            runtime.void(charge)
        return jsonify(order_view(order)), 200
    runtime.after_commit()
    log.info("order %s placed at the kiosk (%s, %s)", order["number"], payment, order["total"])
    return jsonify(order_view(order)), 201


@bp.post("/orders/<order_id>/feedback")
@auth.require_token_or_kiosk
def feedback_for(order_id: str) -> tuple[Response, int]:
    body = body_json()
    rating, comment = body.get("rating"), body.get("comment", "")
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ApiError(400, "bad_rating", "'rating' must be 1 to 5")
    if not isinstance(comment, str) or len(comment) > 500:
        raise ApiError(400, "bad_request", "'comment' must be text of at most 500 characters")
    runtime = rt()
    with runtime.store.write() as conn:
        orders.get(conn, order_id)
        feedback.add(conn, order_id, rating, comment.strip())
    return jsonify({"order_id": order_id, "rating": rating}), 201


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
        limit=_limit(100, 500),
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
