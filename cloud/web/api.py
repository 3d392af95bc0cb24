"""The hub's ``/api/v1`` routes for the sync core: stations, commands, stock, catalog,
orders."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from cloud import catalog, commands, orders, registry, stock
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput, NotFound
from cloud.web.common import body as _body
from cloud.web.common import hub as _hub
from cloud.web.common import tenant as _tenant

bp = Blueprint("hub_api", __name__, url_prefix="/api/v1")


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(f"'{key}' must be a whole number")
    return value


@bp.get("/stations")
def stations() -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        return jsonify({"stations": registry.list_stations(conn, request.args.get("tenant"))})


@bp.get("/stations/<station>")
def station(station: str) -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        found = registry.get_station(conn, station)
        found["commands"] = commands.list_commands(conn, station, limit=20)
    return jsonify(found)


@bp.post("/stations/<station>/commands")
def command(station: str) -> tuple[Response, int]:
    _, engine = _hub()
    body = _body()
    name, args = body.get("name"), body.get("args", {})
    if not isinstance(name, str):
        raise InvalidInput("'name' must be a command name")
    ttl = body.get("ttl_s", 300)
    if not isinstance(ttl, int | float) or isinstance(ttl, bool):
        raise InvalidInput("'ttl_s' must be a number of seconds")
    with transaction(engine) as conn:
        registry.get_station(conn, station)
        made = commands.add_command(conn, station, name, args, float(ttl))
    return jsonify(made), 201


@bp.get("/stock/<sku>")
def stock_of(sku: str) -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        return jsonify(stock.stock_view(conn, _tenant(), sku))


@bp.post("/stock/receipts")
def receipt() -> tuple[Response, int]:
    _, engine = _hub()
    body = _body()
    tenant, store, sku = _tenant(body), body.get("store"), body.get("sku")
    if not isinstance(store, str) or not isinstance(sku, str):
        raise InvalidInput("'store' and 'sku' are required")
    with transaction(engine) as conn:
        stock.receive(conn, tenant, store, sku, _int(body, "qty"), body.get("ref"))
        view = stock.stock_view(conn, tenant, sku)
    return jsonify(view), 201


@bp.post("/stock/allotments")
def allotment() -> tuple[Response, int]:
    """Grant (qty > 0) or take back (qty < 0) what a station may sell of a SKU."""
    _, engine = _hub()
    body = _body()
    station_id, sku, qty = body.get("station"), body.get("sku"), _int(body, "qty")
    if not isinstance(station_id, str) or not isinstance(sku, str) or qty == 0:
        raise InvalidInput("'station', 'sku' and a non-zero 'qty' are required")
    with transaction(engine) as conn:
        event = (stock.grant if qty > 0 else stock.release)(conn, station_id, sku, abs(qty))
        tenant, _store = stock.station_store(conn, station_id)
        view = stock.stock_view(conn, tenant, sku)
    return jsonify({**view, "dn_seq": event.seq}), 201


@bp.put("/catalog")
def put_catalog() -> Response:
    _, engine = _hub()
    body = request.get_json(silent=True)
    products = body.get("products") if isinstance(body, dict) else body
    if not isinstance(products, list):
        raise InvalidInput('send {"products": [...]} or a list of products')
    with transaction(engine) as conn:
        result = catalog.put_catalog(
            conn, _tenant(body if isinstance(body, dict) else None), products
        )
    return jsonify(result)


@bp.get("/orders")
def list_orders() -> Response:
    _, engine = _hub()
    args = request.args
    with read_only(engine) as conn:
        found = orders.find_orders(
            conn,
            tenant=args.get("tenant"),
            status=args.get("status"),
            station=args.get("station"),
            channel=args.get("channel"),
            limit=min(args.get("limit", 100, type=int) or 100, 1000),
        )
    return jsonify({"orders": found})


@bp.get("/orders/<order_id>")
def get_order(order_id: str) -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        try:
            return jsonify(orders.get_order(conn, order_id))
        except NotFound:
            found = orders.by_number(conn, order_id)
            if found is None:
                raise
            return jsonify(found)


def spec() -> dict[str, Any]:
    """OpenAPI 3 description of every route above."""
    err = {"$ref": "#/components/responses/Error"}

    def op(summary: str, ok: str = "200", *errors: str) -> dict[str, Any]:
        return {
            "summary": summary,
            "responses": {ok: {"description": "OK"}, **{e: err for e in errors}},
        }

    return {
        "openapi": "3.0.3",
        "info": {"title": "printstation hub API", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "Error",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["error"],
                                "properties": {
                                    "error": {
                                        "type": "object",
                                        "required": ["code", "message"],
                                        "properties": {
                                            "code": {"type": "string"},
                                            "message": {"type": "string"},
                                        },
                                    }
                                },
                            }
                        }
                    },
                }
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/stations": {"get": op("Stations with presence and telemetry", "200", "401")},
            "/api/v1/stations/{station}": {"get": op("One station", "200", "401", "404")},
            "/api/v1/stations/{station}/commands": {
                "post": op(
                    "Send a command (reprint, pause/resume_printer, resync) with an expiry",
                    "201",
                    "400",
                    "401",
                    "404",
                )
            },
            "/api/v1/stock/{sku}": {
                "get": op("On hand, allotted and sold per station", "200", "400", "401")
            },
            "/api/v1/stock/receipts": {
                "post": op("Goods received into a store", "201", "400", "401")
            },
            "/api/v1/stock/allotments": {
                "post": op("Grant or take back a station's allotment", "201", "400", "401", "409")
            },
            "/api/v1/catalog": {
                "put": op("Catalog and prices to every station of the tenant", "200", "400", "401")
            },
            "/api/v1/orders": {"get": op("Orders by status, station and channel", "200", "401")},
            "/api/v1/orders/{id}": {"get": op("One order with its timeline", "200", "401", "404")},
        },
    }
