"""The hub's order write routes: channel order intake, CSV import and its progress, and
the exception queue (release / cancel by a person)."""

from __future__ import annotations

from typing import IO, Any

from flask import Blueprint, Response, jsonify, request, stream_with_context

from cloud import exceptions, importer, intake
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput
from cloud.orders import get_order
from cloud.web.common import body as _body
from cloud.web.common import error
from cloud.web.common import hub as _hub
from cloud.web.common import tenant as _tenant
from edge.protocol import utc_now

bp = Blueprint("hub_orders", __name__, url_prefix="/api/v1/orders")

IMPORT_MAX_BYTES = 256 * 2**20  # about 2.5 million rows of a typical marketplace export


@bp.errorhandler(intake.Duplicate)
def _duplicate(err: intake.Duplicate) -> tuple[Response, int]:
    return error(409, "duplicate", str(err))


@bp.errorhandler(exceptions.NotHeld)
def _not_held(err: exceptions.NotHeld) -> tuple[Response, int]:
    return error(409, "not_held", str(err))


@bp.post("")
def create() -> tuple[Response, int]:
    """One channel order; ``Idempotency-Key`` makes a retry return the same order."""
    config, engine = _hub()
    body = _body()
    order, created = intake.submit(
        engine, config, _tenant(body), body, request.headers.get("Idempotency-Key")
    )
    return jsonify(order), 201 if created else 200


@bp.post("/import")
def import_csv() -> tuple[Response, int]:
    """A marketplace CSV, as the request body (``text/csv``) or a multipart ``file``."""
    config, engine = _hub()
    request.max_content_length = IMPORT_MAX_BYTES
    tenant = _tenant()
    source: IO[bytes]
    filename = request.args.get("filename", "")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput("send the CSV as the multipart field 'file'")
        source, filename = upload.stream, upload.filename or filename
    else:
        source = request.stream
    result = importer.run(
        engine,
        config,
        tenant,
        source,
        filename=filename,
        channel=request.args.get("channel") or None,
        mapping=request.args.get("mapping") or None,
    )
    return jsonify(result.answer()), 201


@bp.get("/imports")
def imports_list() -> Response:
    _, engine = _hub()
    return jsonify({"imports": importer.list_imports(engine, request.args.get("tenant"))})


@bp.get("/imports/<import_id>")
def import_status(import_id: str) -> Response:
    _, engine = _hub()
    return jsonify(importer.get_import(engine, import_id))


@bp.get("/imports/<import_id>/errors.csv")
def import_errors(import_id: str) -> Response:
    _, engine = _hub()
    chunks = importer.errors_csv(engine, import_id)
    first = next(chunks)  # a missing import is a 404 before the response starts
    body = stream_with_context(_prepend(first, chunks))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'},
    )


def _prepend(first: str, rest: Any) -> Any:
    yield "\ufeff" + first  # a BOM so spreadsheet tools read the UTF-8 as UTF-8
    yield from rest


@bp.get("/exceptions")
def queue() -> Response:
    _, engine = _hub()
    with read_only(engine) as conn:
        held = exceptions.list_queue(conn, _tenant(), request.args.get("kind") or None)
    return jsonify({"orders": held})


@bp.post("/<order_id>/release")
def release(order_id: str) -> Response:
    config, engine = _hub()
    body = _body()
    with transaction(engine) as conn:
        outcome = exceptions.release(
            conn, config, order_id, body.get("by"), body.get("note"), utc_now()
        )
        order = get_order(conn, order_id)
    return jsonify({**outcome, "order": order})


@bp.post("/<order_id>/cancel")
def cancel(order_id: str) -> Response:
    _, engine = _hub()
    body = _body()
    with transaction(engine) as conn:
        outcome = exceptions.cancel(conn, order_id, body.get("by"), body.get("note"), utc_now())
        order = get_order(conn, order_id)
    return jsonify({**outcome, "order": order})


def paths() -> dict[str, Any]:
    """OpenAPI paths of the routes above."""
    err = {"$ref": "#/components/responses/Error"}

    def op(summary: str, ok: str, *errors: str) -> dict[str, Any]:
        return {
            "summary": summary,
            "responses": {ok: {"description": "OK"}, **{e: err for e in errors}},
        }

    return {
        "/api/v1/orders": {
            "post": op(
                "Create a channel order (Idempotency-Key honoured; 200 for a seen key)",
                "201",
                "400",
                "401",
                "409",
            )
        },
        "/api/v1/orders/import": {
            "post": op("Import a marketplace CSV (UTF-8 or GB18030)", "201", "400", "401", "413")
        },
        "/api/v1/orders/imports": {"get": op("Recent imports with progress", "200", "401")},
        "/api/v1/orders/imports/{id}": {
            "get": op("One import: status, rows done, accepted, rejected", "200", "401", "404")
        },
        "/api/v1/orders/imports/{id}/errors.csv": {
            "get": op("Rejected rows as spreadsheet-safe CSV", "200", "401", "404")
        },
        "/api/v1/orders/exceptions": {
            "get": op("Held orders with their reasons (?kind=)", "200", "400", "401")
        },
        "/api/v1/orders/{id}/release": {
            "post": op("Release a held order {by, note}", "200", "400", "401", "404", "409")
        },
        "/api/v1/orders/{id}/cancel": {
            "post": op("Cancel a held order {by, note}", "200", "400", "401", "404", "409")
        },
    }
