"""The order queues staff act on: held orders (exceptions, and manual review for orders
held as ``high_value``) with release and cancel, and re-allocation of an order to another
station. The decisions are :mod:`cloud.exceptions` and :mod:`cloud.allocation`, the same
calls the ``/api/v1/orders`` routes make."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from sqlalchemy import Connection, select

from cloud import allocation, exceptions
from cloud.config import HubConfig
from cloud.db import transaction
from cloud.errors import InvalidInput, NotFound
from cloud.schema import orders
from cloud.web.dashboard import auth
from cloud.web.dashboard.views import _hub, bp
from edge.protocol import utc_now

REVIEW = "high_value"


def held_orders(conn: Connection, config: HubConfig) -> dict[str, list[dict[str, Any]]]:
    """``{"review": […], "exceptions": […]}``: held orders of every tenant, oldest first;
    an order held only for review goes to ``review``, any other reason to ``exceptions``."""
    tenants = config.hub.tenants or list(conn.execute(select(orders.c.tenant).distinct()).scalars())
    review: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for tenant in tenants:
        for order in exceptions.list_queue(conn, tenant):
            kinds = {r["reason"] for r in order["reasons"]}
            (review if kinds == {REVIEW} else other).append({**order, "tenant": tenant})
    return {"review": review, "exceptions": other}


def _done(message: str, body: dict[str, Any]) -> Any:
    if request.is_json:
        return jsonify(body)
    flash(message)
    return redirect(url_for("dashboard.orders_page") + "#queues")


def _note() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form
    return str((data or {}).get("note", ""))[:500]


@bp.post("/orders/<order_id>/release")
@auth.require("operator")
def release(order_id: str) -> Any:
    config, engine = _hub()
    user = auth.current_user() or {}
    with transaction(engine) as conn:
        outcome = exceptions.release(conn, config, order_id, user["name"], _note(), utc_now())
    return _done(f"order released: {outcome['status']}", outcome)


@bp.post("/orders/<order_id>/cancel")
@auth.require("operator")
def cancel(order_id: str) -> Any:
    _, engine = _hub()
    user = auth.current_user() or {}
    with transaction(engine) as conn:
        outcome = exceptions.cancel(conn, order_id, user["name"], _note(), utc_now())
    return _done("order cancelled", outcome)


@bp.post("/orders/reallocate")
@auth.require("operator")
def reallocate() -> Any:
    config, engine = _hub()
    data = request.get_json(silent=True) if request.is_json else request.form
    number = str((data or {}).get("order", "")).strip()
    if not number:
        raise InvalidInput("name the order (its number or id)")
    user = auth.current_user() or {}
    with transaction(engine) as conn:
        order_id = conn.execute(
            select(orders.c.id).where((orders.c.number == number) | (orders.c.id == number))
        ).scalar()
        if order_id is None:
            raise NotFound(f"no order {number}")
        outcome = allocation.reallocate(
            conn, config, order_id, user["name"], utc_now(), why=_note()
        )
    return _done(f"order {number} re-allocated", outcome)
