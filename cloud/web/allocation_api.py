"""The hub's ``/api/v1`` routes for allocation: carriers, store regions, allocation
decisions, moving an order to another station, waybill pools and returns."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from cloud import allocation, carriers, registry, returns, waybills
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput
from cloud.orders import get_order
from cloud.text import is_token
from cloud.web.common import body as _body
from cloud.web.common import hub as _hub
from cloud.web.common import tenant as _tenant
from edge.protocol import utc_now

bp = Blueprint("allocation_api", __name__, url_prefix="/api/v1")


def _text(body: dict[str, Any], key: str, default: str = "") -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or len(value) > 300:
        raise InvalidInput(f"'{key}' must be a string of at most 300 characters")
    return value


@bp.put("/carriers")
def put_carriers() -> Response:
    """Replace the tenant's carrier table (validated whole before anything is written)."""
    _, engine = _hub()
    body = _body()
    with transaction(engine) as conn:
        table = carriers.replace_all(conn, _tenant(body), body.get("carriers"))
    return jsonify({"carriers": table})


@bp.get("/carriers")
def get_carriers() -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        return jsonify({"carriers": carriers.list_carriers(conn, _tenant())})


@bp.put("/stores/<store>")
def put_store(store: str) -> Response:
    """Where a store is: ``{"province", "city"}``."""
    _, engine = _hub()
    body = _body()
    tenant = _tenant(body)
    with transaction(engine) as conn:
        allocation.set_store(conn, tenant, store, body.get("province"), body.get("city", ""))  # type: ignore[arg-type]
    return jsonify({"tenant": tenant, "store": store, "province": body["province"]})


@bp.get("/orders/<order_id>/allocation")
def decisions(order_id: str) -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        get_order(conn, order_id)
        return jsonify({"decisions": allocation.decisions(conn, order_id)})


@bp.post("/orders/<order_id>/reallocate")
def reallocate(order_id: str) -> Response:
    """Move an order its station has not started on: ``{"by": "who", "reason": "…"}``."""
    config, engine = _hub()
    body = _body()
    by = body.get("by")
    if not is_token(by) or not by.strip():
        raise InvalidInput("'by' must name who moves the order")
    with transaction(engine) as conn:
        result = allocation.reallocate(conn, config, order_id, by, utc_now(), _text(body, "reason"))
    return jsonify(result)


@bp.post("/allocation/run")
def run() -> Response:
    """Allocate every checked order now (urgent first)."""
    config, engine = _hub()
    with transaction(engine) as conn:
        done = allocation.allocate_pending(conn, config, utc_now())
    return jsonify({"decisions": [{k: v for k, v in d.items() if k != "candidates"} for d in done]})


@bp.get("/stations/<station>/waybills")
def station_waybills(station: str) -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        registry.get_station(conn, station)
        return jsonify({"blocks": waybills.blocks(conn, station)})


@bp.post("/orders/<order_id>/returns")
def post_return(order_id: str) -> tuple[Response, int]:
    """Open a return for a packed or shipped order: ``{"reason": "…"}``."""
    _, engine = _hub()
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object")
    with transaction(engine) as conn:
        made = returns.request(conn, order_id, _text(body, "reason"), "api")
    return jsonify(made), 201


@bp.get("/orders/<order_id>/returns")
def get_returns(order_id: str) -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        get_order(conn, order_id)
        return jsonify({"returns": returns.of_order(conn, order_id)})


def paths() -> dict[str, Any]:
    """OpenAPI paths of the routes above."""
    err = {"$ref": "#/components/responses/Error"}

    def op(summary: str, ok: str = "200", *errors: str) -> dict[str, Any]:
        return {
            "summary": summary,
            "responses": {ok: {"description": "OK"}, **{e: err for e in errors}},
        }

    return {
        "/api/v1/carriers": {
            "put": op("Replace the carrier table", "200", "400"),
            "get": op("The carrier table"),
        },
        "/api/v1/stores/{store}": {"put": op("Set a store's province and city", "200", "400")},
        "/api/v1/orders/{order_id}/allocation": {
            "get": op("Allocation decisions of an order", "200", "404")
        },
        "/api/v1/orders/{order_id}/reallocate": {
            "post": op("Move an order to another station", "200", "400", "404")
        },
        "/api/v1/allocation/run": {"post": op("Allocate every checked order now")},
        "/api/v1/stations/{station}/waybills": {
            "get": op("Waybill blocks granted to a station", "200", "404")
        },
        "/api/v1/orders/{order_id}/returns": {
            "post": op("Open a return for a packed or shipped order", "201", "400", "404"),
            "get": op("Returns of an order", "200", "404"),
        },
    }
