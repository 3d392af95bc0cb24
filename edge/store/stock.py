"""Stock as a ledger of movements, never an absolute count.

A sale that takes a SKU below the low-water mark asks the hub for a top-up
(``stock.topup_request``) in the same transaction.

What a station may sell of a SKU is the sum of its movements: receipts and allotments add,
sales remove, returns and adjustments go either way. Each movement journals its event.
"""

from __future__ import annotations

import sqlite3

from edge import protocol
from edge.store import journal, kv
from edge.store.db import Conflict

REASONS = frozenset({"receipt", "allotment", "sale", "return", "adjustment", "release"})
LOW_WATER = "stock.low_water"
DEFAULT_LOW_WATER = 5


def move(conn: sqlite3.Connection, sku: str, qty: int, reason: str, ref: str | None = None) -> int:
    """Record one movement (signed ``qty``); returns the sellable quantity after it."""
    if reason not in REASONS:
        raise Conflict(f"unknown stock movement reason {reason!r}")
    if qty == 0:
        raise Conflict("a stock movement needs a non-zero quantity")
    after = sellable(conn, sku) + qty
    if after < 0:
        raise Conflict(f"only {after - qty} of {sku} can be sold here, {-qty} asked")
    at = protocol.utc_now()
    conn.execute(
        "INSERT INTO stock_movements (sku, qty, reason, ref, at) VALUES (?,?,?,?,?)",
        (sku, qty, reason, ref, at),
    )
    conn.execute(
        "INSERT INTO stock_levels (sku, qty) VALUES (?, ?) "
        "ON CONFLICT(sku) DO UPDATE SET qty = qty + excluded.qty",
        (sku, qty),
    )
    journal.append(
        conn,
        protocol.STOCK_MOVED,
        {"sku": sku, "qty": qty, "reason": reason, "ref": ref, "sellable": after},
    )
    low = int(kv.get(conn, LOW_WATER, DEFAULT_LOW_WATER))
    if reason == "sale" and after < low <= after - qty:
        journal.append(
            conn, protocol.STOCK_TOPUP_REQUEST, {"sku": sku, "sellable": after, "low_water": low}
        )
    return after


def sellable(conn: sqlite3.Connection, sku: str) -> int:
    """What the station may sell of ``sku``: the running sum of its movements."""
    row = conn.execute("SELECT qty FROM stock_levels WHERE sku = ?", (sku,)).fetchone()
    return int(row["qty"]) if row else 0


def summary(conn: sqlite3.Connection, sku: str) -> dict[str, int]:
    """Sellable now, and the movements added up by reason."""
    by_reason = {
        r["reason"]: int(r["q"])
        for r in conn.execute(
            "SELECT reason, SUM(qty) AS q FROM stock_movements WHERE sku = ? GROUP BY reason",
            (sku,),
        )
    }
    return {"sellable": sum(by_reason.values()), **by_reason}
