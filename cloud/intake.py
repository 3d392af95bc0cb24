"""Channel orders into the hub: validate, create, check, and allocate the clean ones.

One JSON order (``POST /api/v1/orders``) and a batch of CSV rows (``cloud.importer``) take
the same path, :func:`create_orders`: every order gets a ``received`` entry, runs every
check in :mod:`cloud.checks`, and becomes ``checked`` (then goes to
:func:`cloud.allocation.allocate` in the same transaction) or ``exception`` with one open
row per reason in the exception queue (:mod:`cloud.exceptions`).

An order is known by ``(tenant, channel, external_id)``: a second order with the same
marketplace id is refused. An ``Idempotency-Key`` makes a retried post return the order
the first one made, even when both arrive at once.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, exc, select

from cloud import allocation, checks
from cloud.config import HubConfig, IntakeSection
from cloud.db import retrying
from cloud.errors import HubError, InvalidInput
from cloud.orders import by_idempotency_key, get_order
from cloud.schema import JsonText, order_timeline, orders
from cloud.schema_intake import channel_orders, order_exceptions, order_fingerprints
from cloud.text import is_token
from edge.protocol import canonical_json, printable, utc_now

log = logging.getLogger(__name__)

PAYMENT_STATUSES = ("paid", "unpaid", "pending")
MAX_LINES = 200
MAX_QTY = 10_000
SERVICE_LEVEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SOURCE = "hub"
COPY_FROM = 50  # rows from which insert_rows uses COPY on PostgreSQL


class Duplicate(HubError):
    """The channel already sent an order with this external id (or the idempotency key
    was used for a different order)."""


def _str(value: Any, what: str, limit: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{what} must be {'a non-empty' if required else 'a'} string")
    if len(value) > limit or not value.isprintable():
        raise InvalidInput(f"{what} must be printable text of at most {limit} characters")
    return value.strip()


def _lines(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("'lines' must be a non-empty list of {sku, qty}")
    if len(value) > MAX_LINES:
        raise InvalidInput(f"an order has at most {MAX_LINES} lines")
    return [check_line(line, f"line {n}") for n, line in enumerate(value, 1)]


def check_line(line: Any, where: str) -> dict[str, Any]:
    """One order line ``{sku, qty}``; ``where`` names it in the error (``line 2``, ``row 9``)."""
    if not isinstance(line, dict):
        raise InvalidInput(f"{where} must be an object {{sku, qty}}")
    sku, qty = line.get("sku"), line.get("qty")
    if not is_token(sku) or sku != sku.strip():
        raise InvalidInput(f"{where}: 'sku' must be a printable code")
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= MAX_QTY:
        raise InvalidInput(f"{where}: 'qty' must be a whole number from 1 to {MAX_QTY}")
    return {"sku": sku, "qty": qty}


def validate(body: Any, settings: IntakeSection) -> dict[str, Any]:
    """The order as intake keeps it (a *draft*), or InvalidInput saying what is wrong."""
    if not isinstance(body, dict):
        raise InvalidInput("an order must be a JSON object")
    channel = _str(body.get("channel"), "'channel'", 40)
    if channel not in settings.channels:
        raise InvalidInput(
            f"unknown channel {printable(channel)}; this hub takes {', '.join(settings.channels)}"
        )
    external_id = body.get("external_id")
    if not is_token(external_id) or external_id != external_id.strip():
        raise InvalidInput("'external_id' must be a printable id of at most 200 characters")
    customer = body.get("customer")
    if not isinstance(customer, dict):
        raise InvalidInput("'customer' must be an object {name, phone}")
    payment = body.get("payment_status", "paid")
    if payment not in PAYMENT_STATUSES:
        raise InvalidInput(f"'payment_status' must be one of {', '.join(PAYMENT_STATUSES)}")
    level = body.get("service_level") or "standard"
    if not isinstance(level, str) or not SERVICE_LEVEL.match(level):
        raise InvalidInput("'service_level' must be a lowercase name such as standard")
    draft = {
        "channel": channel,
        "external_id": external_id,
        "customer": {
            "name": _str(customer.get("name"), "customer 'name'", 100),
            "phone": _str(customer.get("phone"), "customer 'phone'", 40),
        },
        "address": _str(body.get("address"), "'address'", 300),
        "service_level": level,
        "payment_status": payment,
        "lines": _lines(body.get("lines")),
    }
    draft["fingerprint"] = checks.fingerprint(draft)
    return draft


def new_number(order_id: str) -> str:
    """A hub order number: short, printable in a QR, not guessable from its neighbours."""
    return f"HB{order_id[:10].upper()}"


def _existing(
    conn: Connection, tenant: str, drafts: Sequence[dict[str, Any]]
) -> dict[tuple[str, str], str]:
    """Orders already made for these (channel, external_id) pairs: their numbers."""
    found: dict[tuple[str, str], str] = {}
    by_channel: dict[str, list[str]] = {}
    for d in drafts:
        by_channel.setdefault(d["channel"], []).append(d["external_id"])
    for channel, ids in by_channel.items():
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(channel_orders.c.external_id, orders.c.number)
                .join(orders, orders.c.id == channel_orders.c.order_id)
                .where(channel_orders.c.tenant == tenant, channel_orders.c.channel == channel)
                .where(channel_orders.c.external_id.in_(ids[start : start + 500]))
            )
            found.update({(channel, r.external_id): r.number for r in rows})
    return found


def create_orders(
    conn: Connection,
    config: HubConfig,
    tenant: str,
    drafts: Sequence[dict[str, Any]],
    at: str,
    *,
    idempotency_key: str | None = None,
    allocate: bool = True,
) -> list[dict[str, Any]]:
    """Create validated drafts in one transaction; one result per draft, in order:
    ``{"external_id", "id", "number", "status", "reasons"}`` or, for a channel order that
    already exists, ``{"external_id", "error": {"code": "duplicate", "message"}}``."""
    settings = config.intake
    taken = _existing(conn, tenant, drafts)
    fresh: list[tuple[int, dict[str, Any]]] = []
    results: list[dict[str, Any]] = [{} for _ in drafts]
    for i, d in enumerate(drafts):
        key = (d["channel"], d["external_id"])
        if key in taken:
            results[i] = {
                "external_id": d["external_id"],
                "error": {
                    "code": "duplicate",
                    "message": f"{d['channel']} order {printable(d['external_id'])} "
                    f"is already hub order {taken[key]}",
                },
            }
        else:
            taken[key] = "(earlier in this batch)"
            fresh.append((i, d))
    if not fresh:
        return results
    ctx = checks.context_for(conn, tenant, [d for _, d in fresh], at, settings.duplicate_window_s)
    addresses = checks.parse_addresses([d["address"] for _, d in fresh])
    rows, links, prints, timeline, held, clean = [], [], [], [], [], []
    for (i, d), address in zip(fresh, addresses, strict=True):
        findings = checks.run_all(d, address, ctx, settings)
        if settings.duplicate_window_s > 0:
            ctx.recent.add(d["fingerprint"])
        order_id = uuid.uuid4().hex
        number = new_number(order_id)
        status = "exception" if findings else "checked"
        lines = [
            {
                **l,
                "name": ctx.names.get(l["sku"], ""),
                "price": str(ctx.prices.get(l["sku"], Decimal("0.00"))),
            }
            for l in d["lines"]
        ]
        total = str(checks.total_of(d["lines"], ctx))
        data = {
            **{k: v for k, v in d.items() if k != "fingerprint"},
            "id": order_id,
            "number": number,
            "lines": lines,
            "address_parts": address.parts(),
            "total": total,
        }
        rows.append(
            {
                "id": order_id,
                "tenant": tenant,
                "number": number,
                "station": None,
                "channel": d["channel"],
                "status": status,
                "total": total,
                "external_id": d["external_id"],
                "idempotency_key": idempotency_key,
                "data": data,
                "created_at": at,
                "updated_at": at,
            }
        )
        links.append(
            {
                "tenant": tenant,
                "channel": d["channel"],
                "external_id": d["external_id"],
                "order_id": order_id,
            }
        )
        prints.append(
            {
                "order_id": order_id,
                "tenant": tenant,
                "fingerprint": d["fingerprint"],
                "created_at": at,
            }
        )
        timeline.append(_entry(order_id, at, "received", f"from {d['channel']}"))
        if findings:
            timeline.append(
                _entry(
                    order_id,
                    at,
                    "exception",
                    "; ".join(f.message for f in findings),
                    {"reasons": [f.reason for f in findings]},
                )
            )
            held += [
                {
                    "order_id": order_id,
                    "tenant": tenant,
                    "reason": f.reason,
                    "message": f.message,
                    "raised_at": at,
                }
                for f in findings
            ]
        else:
            timeline.append(_entry(order_id, at, "checked", "every check passed"))
            clean.append(order_id)
        results[i] = {
            "external_id": d["external_id"],
            "id": order_id,
            "number": number,
            "status": status,
            "reasons": [f.reason for f in findings],
        }
    for table, values in (
        (orders, rows),
        (channel_orders, links),
        (order_fingerprints, prints),
        (order_timeline, timeline),
        (order_exceptions, held),
    ):
        insert_rows(conn, table, values)
    if clean and allocate:
        for order_id in clean:
            allocation.allocate(conn, config, order_id, at)
        now = dict(
            conn.execute(select(orders.c.id, orders.c.status).where(orders.c.id.in_(clean))).all()
        )
        for r in results:
            if r.get("id") in now:
                r["status"] = now[r["id"]]
    return results


def insert_rows(conn: Connection, table: Table, values: list[dict[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in this transaction: ``COPY`` on
    PostgreSQL, an executemany on SQLite. COPY streams the rows in one command; an
    executemany sends one statement per row, and multi-row ``VALUES`` made SQLAlchemy
    compile a new statement for every batch (both measured slower)."""
    if not values:
        return
    if conn.dialect.name != "postgresql" or len(values) < COPY_FROM:
        conn.execute(table.insert(), values)
        return
    import psycopg

    names = list(values[0])
    json_columns = {n for n in names if isinstance(table.c[n].type, JsonText)}
    columns = ", ".join(f'"{n}"' for n in names)
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(
                    [
                        canonical_json(row[n])
                        if n in json_columns and row[n] is not None
                        else row[n]
                        for n in names
                    ]
                )
    except psycopg.IntegrityError as err:
        # as SQLAlchemy reports it, so callers retry a lost race the same way
        raise exc.IntegrityError(statement, None, err) from err


def _entry(
    order_id: str, at: str, status: str, note: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "at": at,
        "status": status,
        "note": note,
        "source": SOURCE,
        "data": data,
    }


def submit(
    engine: Engine,
    config: HubConfig,
    tenant: str,
    body: Any,
    idempotency_key: str | None = None,
    at: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Create one order from a JSON body; returns (order, created). A key seen before
    returns its order (created False); a key reused for another order, or a channel order
    that exists already, raises :class:`Duplicate`."""
    draft = validate(body, config.intake)
    key = None
    if idempotency_key is not None:
        if not is_token(idempotency_key):
            raise InvalidInput("the Idempotency-Key header must be printable, at most 200 long")
        key = f"{tenant}/{idempotency_key}"

    def work(conn: Connection) -> tuple[dict[str, Any], bool]:
        if key is not None and (seen := by_idempotency_key(conn, key)) is not None:
            if (seen["channel"], seen.get("external_id")) != (
                draft["channel"],
                draft["external_id"],
            ):
                raise Duplicate("this Idempotency-Key was used for another order")
            return seen, False
        [result] = create_orders(
            conn, config, tenant, [draft], at or utc_now(), idempotency_key=key
        )
        if "error" in result:
            raise Duplicate(result["error"]["message"])
        return get_order(conn, result["id"]), True

    # Two posts with one key at once: the loser's insert hits the unique key; its retry
    # finds the winner's order.
    return retrying(engine, work, retry_on=(exc.IntegrityError,))
