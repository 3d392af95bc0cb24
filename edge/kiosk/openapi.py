"""OpenAPI 3 description of every station ``/api/v1`` route."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/responses/Error"}


def _op(
    summary: str,
    ok: str,
    *,
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    public: bool = False,
    errors: tuple[str, ...] = ("400", "401", "404"),
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok: {"description": "OK"}}}
    for code in errors:
        op["responses"][code] = ERROR
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def _query(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema or {"type": "string"}}


JOB_ID = _path("id", {"type": "integer"})
CART_BODY = {
    "type": "object",
    "required": ["lines"],
    "properties": {
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {
                    "sku": {"type": "string"},
                    "qty": {"type": "integer", "minimum": 1, "maximum": 999},
                },
            },
        },
        "payment": {"type": "string", "enum": ["counter", "card"]},
        "coupon": {"type": "string", "maxLength": 32},
        "member": {"type": "string", "pattern": "^1[0-9]{10}$"},
        "points": {"type": "integer", "minimum": 0},
    },
}
LINE = {
    "type": "object",
    "required": ["sku", "qty"],
    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
}


def spec() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "printstation station API", "version": "1"},
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
            "/api/v1/products": {
                "get": _op(
                    "Search products (name, pinyin, SKU, barcode)",
                    "200",
                    params=[_query("q"), _query("limit", {"type": "integer"})],
                    public=True,
                    errors=("400",),
                )
            },
            "/api/v1/products/{sku}": {
                "get": _op("One product", "200", params=[_path("sku")], public=True)
            },
            "/api/v1/orders": {
                "get": _op(
                    "Orders by status or channel",
                    "200",
                    params=[
                        _query("status"),
                        _query("channel"),
                        _query("limit", {"type": "integer"}),
                    ],
                ),
                "post": {
                    **_op(
                        "Place an order (pay at counter or by card; Idempotency-Key header)",
                        "201",
                        body=CART_BODY,
                        params=[
                            {
                                "name": "Idempotency-Key",
                                "in": "header",
                                "required": True,
                                "schema": {"type": "string"},
                            }
                        ],
                        errors=("400", "401", "402", "409", "415", "422", "504"),
                    ),
                },
            },
            "/api/v1/categories": {
                "get": _op("Product categories with counts", "200", public=True, errors=())
            },
            "/api/v1/cart/quote": {
                "post": _op(
                    "Price a cart: totals, coupon, points, tax, stock problems, recommendations",
                    "200",
                    body=CART_BODY,
                    errors=("400", "401", "415"),
                )
            },
            "/api/v1/orders/{id}/feedback": {
                "post": _op(
                    "Rate an order 1–5 with an optional comment (once)",
                    "201",
                    params=[_path("id")],
                    body={
                        "type": "object",
                        "required": ["rating"],
                        "properties": {
                            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                            "comment": {"type": "string", "maxLength": 500},
                        },
                    },
                    errors=("400", "401", "404", "409", "415"),
                )
            },
            "/api/v1/orders/{id}": {
                "get": _op(
                    "One order with its timeline (id or number)", "200", params=[_path("id")]
                )
            },
            "/api/v1/scans": {
                "post": _op(
                    "Deliver a scan, as the scanner service does",
                    "200",
                    body={
                        "type": "object",
                        "required": ["code"],
                        "properties": {
                            "code": {"type": "string", "maxLength": 512},
                            "source": {"type": "string"},
                            "symbology": {"type": "string"},
                            "gs1": {"type": "object"},
                        },
                    },
                    errors=("400", "401", "415", "422"),
                )
            },
            "/api/v1/print-jobs": {
                "get": _op(
                    "Print jobs, newest first",
                    "200",
                    params=[
                        _query("status"),
                        _query("order_id"),
                        _query("limit", {"type": "integer"}),
                    ],
                )
            },
            "/api/v1/print-jobs/{id}": {"get": _op("One print job", "200", params=[JOB_ID])},
            "/api/v1/print-jobs/{id}/reprint": {
                "post": _op("Print a job again", "201", params=[JOB_ID])
            },
            "/api/v1/print-jobs/{id}/resolve": {
                "post": _op(
                    "Decide an uncertain job: printed (done) or not (queued again)",
                    "200",
                    params=[JOB_ID],
                    body={
                        "type": "object",
                        "required": ["printed"],
                        "properties": {"printed": {"type": "boolean"}},
                    },
                    errors=("400", "401", "404", "409", "415"),
                )
            },
            "/api/v1/print-jobs/{id}/preview.png": {
                "get": _op("PNG preview of a job", "200", params=[JOB_ID])
            },
            "/api/v1/stock/{sku}": {
                "get": _op("What the station may sell of a SKU", "200", params=[_path("sku")])
            },
        },
    }
