"""Orders, their lines and timeline, and the order state machine.

States (see docs/orders.md)::

    pending_payment ─► open ─► picking ─► packing ─► packed ─► shipped
          │             │  ▲      │  │       │  ▲       │
          ▼             ▼  └──────┘  ▼       ▼  │       ▼
      cancelled ◄── exception ◄──────┴───────┴──┴───────┘

Every change of state appends a timeline row and a journal event in the same transaction.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from edge import protocol
from edge.store import journal, loyalty, stock
from edge.store.db import Conflict, NotFound

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending_payment": frozenset({"open", "cancelled"}),
    "open": frozenset({"picking", "packing", "exception", "cancelled"}),
    "picking": frozenset({"open", "packing", "exception", "cancelled"}),
    "packing": frozenset({"open", "packed", "exception"}),
    "packed": frozenset({"shipped", "exception"}),
    "exception": frozenset({"open", "cancelled"}),
    "shipped": frozenset(),
    "cancelled": frozenset(),
}
STATUSES = frozenset(TRANSITIONS)
PACKABLE = frozenset({"open", "picking", "packing"})
#: Order lines per ``INSERT`` (7 parameters each, well below SQLite's limit).
_LINES_PER_INSERT = 100
#: What an order from another channel (assigned by the hub) brings besides its lines.
SHIPPING_FIELDS = frozenset(
    {
        "external_id",
        "fulfilment",
        "payment",
        "paid",
        "priority",
        "customer_name",
        "phone",
        "address",
        "carrier",
        "service_level",
        "tracking_number",
        "sort_code",
    }
)


def _next_number(conn: sqlite3.Connection, station: str) -> str:
    """The next order number; the counter (a JSON number under ``order_counter`` in ``kv``)
    is read and raised by one statement."""
    row = conn.execute(
        "INSERT INTO kv (key, value) VALUES ('order_counter', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value"
    ).fetchone()
    return f"{station.upper()}-{int(row['value']):06d}"


def create(
    conn: sqlite3.Connection,
    *,
    station: str,
    channel: str,
    lines: Sequence[dict[str, Any]],
    status: str = "open",
    number: str | None = None,
    order_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Create an order with its lines (each ``{sku, name, name_en, qty, unit_price}``)."""
    if status not in STATUSES:
        raise Conflict(f"unknown order status {status!r}")
    if not lines:
        raise Conflict("an order needs at least one line")
    order_id = order_id or uuid.uuid4().hex
    number = number or _next_number(conn, station)
    now = protocol.utc_now()
    subtotal = sum((Decimal(str(l["unit_price"])) * int(l["qty"]) for l in lines), Decimal("0"))
    total = Decimal(str(fields.pop("total", subtotal)))
    fields.setdefault("subtotal", str(subtotal.quantize(Decimal("0.01"))))
    allowed = SHIPPING_FIELDS | {
        "idempotency_key",
        "subtotal",
        "discount",
        "points_discount",
        "tax",
        "coupon",
        "member",
        "payment_ref",
    }
    extra = {k: v for k, v in fields.items() if k in allowed}
    if unknown := set(fields) - allowed:
        raise Conflict(f"unknown order fields: {sorted(unknown)}")
    columns = [
        "id",
        "number",
        "station",
        "channel",
        "status",
        "total",
        "created_at",
        "updated_at",
        *extra,
    ]
    values = [
        order_id,
        number,
        station,
        channel,
        status,
        str(total.quantize(Decimal("0.01"))),
        now,
        now,
        *extra.values(),
    ]
    row = conn.execute(
        f"INSERT INTO orders ({','.join(columns)}) VALUES ({','.join('?' * len(columns))}) "  # noqa: S608
        "RETURNING *",
        values,
    ).fetchone()
    order = dict(row)
    order["paid"] = bool(order["paid"])
    order["lines"] = [
        {
            "line_no": no,
            "sku": l["sku"],
            "name": l["name"],
            "name_en": l.get("name_en", ""),
            "qty": int(l["qty"]),
            "packed_qty": 0,
            "unit_price": str(l["unit_price"]),
        }
        for no, l in enumerate(lines, start=1)
    ]
    for i in range(0, len(lines), _LINES_PER_INSERT):  # one statement for a usual order
        chunk = order["lines"][i : i + _LINES_PER_INSERT]
        rows = [
            (order_id, l["line_no"], l["sku"], l["name"], l["name_en"], l["qty"], l["unit_price"])
            for l in chunk
        ]
        conn.execute(
            "INSERT INTO order_lines (order_id, line_no, sku, name, name_en, qty, unit_price) "
            "VALUES " + ",".join(["(?,?,?,?,?,?,?)"] * len(rows)),
            [value for row in rows for value in row],
        )
    order["timeline"] = [{"at": now, "status": status, "note": f"created via {channel}"}]
    conn.execute(
        "INSERT INTO order_timeline (order_id, at, status, note) VALUES (?,?,?,?)",
        (order_id, now, status, order["timeline"][0]["note"]),
    )
    journal.append(conn, protocol.ORDER_CREATED, {"order": order})
    return order


def _row(conn: sqlite3.Connection, where: str, arg: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        f"SELECT * FROM orders WHERE {where} = ?",  # noqa: S608 - column names from this module
        (arg,),
    ).fetchone()
    return row


def _assemble(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    order = dict(row)
    order["paid"] = bool(order["paid"])
    order["lines"] = [
        dict(l)
        for l in conn.execute(
            "SELECT line_no, sku, name, name_en, qty, packed_qty, unit_price FROM order_lines "
            "WHERE order_id = ? ORDER BY line_no",
            (row["id"],),
        )
    ]
    for line in order["lines"]:
        line.pop("order_id", None)
    order["timeline"] = [
        dict(t)
        for t in conn.execute(
            "SELECT at, status, note FROM order_timeline WHERE order_id = ? ORDER BY id",
            (row["id"],),
        )
    ]
    return order


def get(conn: sqlite3.Connection, order_id: str) -> dict[str, Any]:
    row = _row(conn, "id", order_id)
    if row is None:
        raise NotFound(f"no order with id {order_id}")
    return _assemble(conn, row)


def by_number(conn: sqlite3.Connection, number: str) -> dict[str, Any] | None:
    row = _row(conn, "number", number)
    return _assemble(conn, row) if row else None


def by_idempotency_key(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    row = _row(conn, "idempotency_key", key)
    return _assemble(conn, row) if row else None


def find(
    conn: sqlite3.Connection,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Orders, urgent and oldest first, optionally filtered by status and channel."""
    clauses, args = [], []
    if status:
        clauses.append("status = ?")
        args.append(status)
    if channel:
        clauses.append("channel = ?")
        args.append(channel)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT * FROM orders {where} ORDER BY priority DESC, created_at, number LIMIT ?",  # noqa: S608
        (*args, limit),
    ).fetchall()
    return [_assemble(conn, r) for r in rows]


def transition(
    conn: sqlite3.Connection, order_id: str, status: str, note: str = ""
) -> dict[str, Any]:
    """Move an order to ``status`` if the state machine allows it."""
    row = _row(conn, "id", order_id)
    if row is None:
        raise NotFound(f"no order with id {order_id}")
    current = row["status"]
    if status not in TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"order {row['number']} is {current}; it cannot become {status}")
    now = protocol.utc_now()
    conn.execute(
        "UPDATE orders SET status = ?, updated_at = ? WHERE id = ?", (status, now, order_id)
    )
    conn.execute(
        "INSERT INTO order_timeline (order_id, at, status, note) VALUES (?,?,?,?)",
        (order_id, now, status, note),
    )
    journal.append(
        conn,
        protocol.ORDER_STATUS,
        {
            "order_id": order_id,
            "number": row["number"],
            "from": current,
            "to": status,
            "note": note,
        },
    )
    return get(conn, order_id)


def flag_exception(conn: sqlite3.Connection, order_id: str, reason: str) -> dict[str, Any]:
    order = transition(conn, order_id, "exception", reason)
    conn.execute("UPDATE orders SET exception_reason = ? WHERE id = ?", (reason, order_id))
    journal.append(
        conn,
        protocol.ORDER_EXCEPTION,
        {"order_id": order_id, "number": order["number"], "reason": reason},
    )
    return get(conn, order_id)


def release_exception(conn: sqlite3.Connection, order_id: str, note: str) -> dict[str, Any]:
    """Back to ``open`` with every line to be packed again."""
    transition(conn, order_id, "open", note)
    conn.execute("UPDATE orders SET exception_reason = NULL WHERE id = ?", (order_id,))
    conn.execute("UPDATE order_lines SET packed_qty = 0 WHERE order_id = ?", (order_id,))
    return get(conn, order_id)


def pack_unit(conn: sqlite3.Connection, order_id: str, sku: str) -> tuple[dict[str, Any], bool]:
    """Count one unit of ``sku``; returns the line and whether the whole order is now complete.

    Raises NotFound when the order has no line for the SKU and Conflict on an over-scan.
    """
    lines = conn.execute(
        "SELECT line_no, qty, packed_qty FROM order_lines WHERE order_id = ? AND sku = ? "
        "ORDER BY line_no",
        (order_id, sku),
    ).fetchall()
    if not lines:
        raise NotFound(f"{sku} is not in this order")
    open_line = next((l for l in lines if l["packed_qty"] < l["qty"]), None)
    if open_line is None:
        raise Conflict(f"{sku}: all {sum(l['qty'] for l in lines)} already packed")
    conn.execute(
        "UPDATE order_lines SET packed_qty = packed_qty + 1 WHERE order_id = ? AND line_no = ?",
        (order_id, open_line["line_no"]),
    )
    remaining = conn.execute(
        "SELECT COALESCE(SUM(qty - packed_qty), 0) AS r FROM order_lines WHERE order_id = ?",
        (order_id,),
    ).fetchone()["r"]
    line = dict(
        conn.execute(
            "SELECT line_no, sku, name, qty, packed_qty FROM order_lines "
            "WHERE order_id = ? AND line_no = ?",
            (order_id, open_line["line_no"]),
        ).fetchone()
    )
    journal.append(
        conn,
        protocol.ORDER_ITEM_PACKED,
        {
            "order_id": order_id,
            "sku": sku,
            "line_no": line["line_no"],
            "packed_qty": line["packed_qty"],
            "qty": line["qty"],
        },
    )
    return line, remaining == 0


def set_fields(conn: sqlite3.Connection, order_id: str, **fields: Any) -> None:
    """Update shipping details (carrier, tracking number, sort code, batch)."""
    allowed = {"carrier", "tracking_number", "sort_code", "batch_id", "paid"}
    if unknown := set(fields) - allowed:
        raise Conflict(f"cannot set order fields {sorted(unknown)}")
    for key, value in fields.items():
        conn.execute(f"UPDATE orders SET {key} = ? WHERE id = ?", (value, order_id))  # noqa: S608


def cancel(conn: sqlite3.Connection, order_id: str, note: str) -> dict[str, Any]:
    """Cancel an order and give back what it took: sold stock and loyalty points."""
    order = transition(conn, order_id, "cancelled", note)
    for row in conn.execute(
        "SELECT sku, SUM(qty) AS q FROM stock_movements WHERE ref = ? AND reason = 'sale' "
        "GROUP BY sku",
        (order_id,),
    ).fetchall():
        if row["q"]:
            stock.move(conn, row["sku"], -row["q"], "release", order_id)
    if order.get("member"):
        points = conn.execute(
            "SELECT COALESCE(SUM(points), 0) AS p FROM loyalty_movements WHERE order_id = ?",
            (order_id,),
        ).fetchone()["p"]
        if points:
            loyalty.move(conn, order["member"], -points, "cancelled", order_id)
    return order


def mark_paid(conn: sqlite3.Connection, order_id: str, note: str) -> dict[str, Any]:
    """A pay-at-counter order was paid: it becomes ``open`` for picking up."""
    conn.execute("UPDATE orders SET paid = 1 WHERE id = ?", (order_id,))
    return transition(conn, order_id, "open", note)
