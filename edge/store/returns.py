"""Customer returns at the station: a return ticket for an order (asked for at the kiosk,
or announced by the hub), inspected by staff, whose accepted units go back on the shelf
as ``return`` stock movements (the hub's ledger books them)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from edge import protocol
from edge.store import journal, stock
from edge.store.db import Conflict, NotFound

RETURNABLE = frozenset({"packed", "shipped"})


def _assemble(row: sqlite3.Row) -> dict[str, Any]:
    found = dict(row)
    found["lines"] = json.loads(found["lines"])
    return found


def get(conn: sqlite3.Connection, return_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM returns WHERE id = ?", (return_id,)).fetchone()
    if row is None:
        raise NotFound(f"no return {return_id}")
    return _assemble(row)


def find(conn: sqlite3.Connection, status: str | None = None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM returns WHERE (? IS NULL OR status = ?) ORDER BY created_at",
        (status, status),
    ).fetchall()
    return [_assemble(r) for r in rows]


def request(conn: sqlite3.Connection, order: dict[str, Any], reason: str = "") -> dict[str, Any]:
    """A customer asks to return a packed or shipped order (every unit of it): a return
    ticket, journaled up so the hub knows. One open return per order."""
    if order["status"] not in RETURNABLE:
        raise Conflict(f"order {order['number']} is {order['status']}; it cannot be returned")
    open_one = conn.execute(
        "SELECT id FROM returns WHERE order_id = ? AND status = 'requested'", (order["id"],)
    ).fetchone()
    if open_one:
        return get(conn, open_one["id"])
    return_id = uuid.uuid4().hex
    record = {
        "id": return_id,
        "number": f"RT{return_id[:10].upper()}",
        "order_id": order["id"],
        "order_number": order["number"],
        "lines": [{"sku": l["sku"], "qty": int(l["qty"])} for l in order["lines"]],
        "reason": reason[:300],
    }
    _insert(conn, record)
    journal.append(conn, protocol.RETURN_REQUESTED, {"order_id": order["id"], "return": record})
    return get(conn, return_id)


def expect(conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    """A return the hub took (API): kept here for staff to inspect when it arrives."""
    if conn.execute("SELECT 1 FROM returns WHERE id = ?", (record["id"],)).fetchone():
        return
    lines: list[dict[str, Any]] = [
        {"sku": str(l["sku"]), "qty": int(l["qty"])} for l in record["lines"]
    ]
    if not lines or any(int(l["qty"]) <= 0 for l in lines):
        raise Conflict("a return needs lines with positive quantities")
    _insert(conn, {**record, "lines": lines, "reason": str(record.get("reason", ""))[:300]})


def _insert(conn: sqlite3.Connection, record: dict[str, Any]) -> None:
    now = protocol.utc_now()
    conn.execute(
        "INSERT INTO returns (id, number, order_id, order_number, status, lines, reason, "
        "created_at, updated_at) VALUES (?,?,?,?,'requested',?,?,?,?)",
        (
            record["id"],
            record["number"],
            record["order_id"],
            record["order_number"],
            json.dumps(record["lines"], ensure_ascii=False),
            record.get("reason", ""),
            now,
            now,
        ),
    )


def inspect(
    conn: sqlite3.Connection, return_id: str, accepted: dict[str, int], staff: str
) -> dict[str, Any]:
    """Staff checked the returned goods: ``accepted`` units per SKU go back into stock
    (at most what the return lists); the rest is refused. Journals the outcome."""
    found = get(conn, return_id)
    if found["status"] != "requested":
        raise Conflict(f"return {found['number']} was already {found['status']}")
    listed: dict[str, int] = {}
    for line in found["lines"]:
        listed[line["sku"]] = listed.get(line["sku"], 0) + int(line["qty"])
    for sku, qty in accepted.items():
        if sku not in listed or not 0 <= qty <= listed[sku]:
            raise Conflict(f"{sku}: accept 0 to {listed.get(sku, 0)} units")
    restocked = {sku: qty for sku, qty in accepted.items() if qty > 0}
    for sku, qty in sorted(restocked.items()):
        stock.move(conn, sku, qty, "return", return_id)
    status = "restocked" if restocked else "rejected"
    conn.execute(
        "UPDATE returns SET status = ?, updated_at = ? WHERE id = ?",
        (status, protocol.utc_now(), return_id),
    )
    journal.append(
        conn,
        protocol.RETURN_INSPECTED,
        {"return_id": return_id, "status": status, "restocked": restocked, "staff": staff},
    )
    return get(conn, return_id)
