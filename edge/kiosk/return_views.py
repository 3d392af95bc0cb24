"""Returns at the station (``/returns``): a customer enters an order number and gets a
printed return ticket; staff inspect returned goods and restock what they accept."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request

from edge.kiosk import auth, documents
from edge.kiosk.runtime import Runtime
from edge.store import Conflict, NotFound, orders, print_jobs, returns

log = logging.getLogger(__name__)
bp = Blueprint("returns", __name__, url_prefix="/returns")


def rt() -> Runtime:
    runtime: Runtime = current_app.extensions["printstation"]
    return runtime


def return_ticket(order: dict[str, Any], record: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A return ticket in the ticket layout: the return number as the big number, the
    returned units as the lines."""
    config = rt().config
    ticket = documents.ticket(config, order, base_url)
    qty = {l["sku"]: int(l["qty"]) for l in record["lines"]}
    lines = [{**l, "qty": qty[l["sku"]]} for l in ticket["lines"] if l["sku"] in qty]
    zh = ticket["language"] == "zh-CN"
    refund = sum((Decimal(l["total"]) for l in lines), Decimal("0"))
    return {
        **ticket,
        "order_number": record["number"],
        "lines": lines,
        "total": str(refund.quantize(Decimal("0.01"))),
        "instructions": (
            f"退货单，订单 {order['number']}：请把商品交给店员检查。"
            if zh
            else f"Return for order {order['number']}: hand the goods to staff for inspection."
        ),
    }


@bp.get("")
def form() -> str:
    return render_template("returns.html", made=None, error=None)


@bp.post("")
def ask() -> Any:
    """The customer's return request: a return ticket is printed for every unit."""
    auth.check_csrf()
    number = request.form.get("number", "").strip()[:40]
    reason = request.form.get("reason", "").strip()[:300]
    with rt().store.write() as conn:
        order = orders.by_number(conn, number) if number else None
        if order is None:
            return render_template("returns.html", made=None, error="not_found"), 404
        try:
            made = returns.request(conn, order, reason)
        except Conflict:
            return render_template("returns.html", made=None, error="not_returnable"), 409
        printer = rt().config.printer_for("receipt")
        if printer:
            print_jobs.enqueue(
                conn,
                printer,
                "ticket",
                return_ticket(order, made, rt().base_url),
                order_id=order["id"],
            )
    log.info("return %s asked for order %s", made["number"], number)
    return render_template("returns.html", made=made, error=None), 201


@bp.get("/inspect")
@auth.staff_required
def inspect_list() -> str:
    conn = rt().store.conn()
    return render_template(
        "returns_staff.html",
        waiting=returns.find(conn, "requested"),
        done=returns.find(conn, "restocked")[-10:] + returns.find(conn, "rejected")[-10:],
        csrf=auth.csrf_token(),
    )


@bp.post("/<return_id>/inspect")
@auth.staff_required
def inspect(return_id: str) -> Any:
    """Staff accepted some units (``qty_<sku>`` fields): those go back into stock."""
    member = auth.staff_member() or {}
    accepted: dict[str, int] = {}
    for key, value in request.form.items():
        if key.startswith("qty_"):
            try:
                accepted[key[4:]] = int(value or 0)
            except ValueError:
                return render_template(
                    "error.html", status=400, code="bad_request", message=f"{key}: not a number"
                ), 400
    with rt().store.write() as conn:
        try:
            returns.inspect(conn, return_id[:40], accepted, str(member.get("name", "")))
        except NotFound as err:
            return render_template(
                "error.html", status=404, code="not_found", message=str(err)
            ), 404
        except Conflict as err:
            return render_template("error.html", status=409, code="conflict", message=str(err)), 409
    return redirect("/returns/inspect", code=303)
