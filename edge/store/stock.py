"""Stock as a ledger of movements, never an absolute count.

A sale that takes a SKU below the low-water mark asks the hub for a top-up
(``stock.topup_request``) in the same transaction.

What a station may sell of a SKU is the sum of its movements: receipts and allotments add,
sales remove, returns and adjustments go either way. Each movement journals its event.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

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


def sell(conn: sqlite3.Connection, items: Sequence[tuple[str, int]], ref: str) -> dict[str, int]:
    """Sale movements of several SKUs (each ``(sku, qty)`` with ``qty`` > 0, each SKU once),
    recorded and journaled as :func:`move` would one by one, but with one statement per table.

    The levels go first: if any SKU would go below zero they are put back (a SKU that had no
    level keeps one of 0) and Conflict is raised, with nothing else written. Returns the
    sellable quantity of each SKU after the sale."""
    if not items:
        return {}
    if any(qty <= 0 for _, qty in items):
        raise Conflict("a sale takes a positive quantity")
    if len({sku for sku, _ in items}) != len(items):
        raise Conflict("each SKU once per sale")
    values = ",".join(["(?,?)"] * len(items))
    levels = conn.execute(
        f"INSERT INTO stock_levels (sku, qty) VALUES {values} "  # noqa: S608 - placeholders only
        "ON CONFLICT(sku) DO UPDATE SET qty = qty + excluded.qty "
        "RETURNING sku, qty, (SELECT value FROM kv WHERE key = ?) AS low_water",
        [*(v for sku, qty in items for v in (sku, -qty)), LOW_WATER],
    ).fetchall()
    after = {row["sku"]: int(row["qty"]) for row in levels}
    short = [(sku, qty) for sku, qty in items if after[sku] < 0]
    if short:  # give the levels back before refusing, so a caller that goes on sees no change
        conn.execute(
            f"INSERT INTO stock_levels (sku, qty) VALUES {values} "  # noqa: S608
            "ON CONFLICT(sku) DO UPDATE SET qty = qty + excluded.qty",
            [v for sku, qty in items for v in (sku, qty)],
        )
        sku, qty = short[0]
        raise Conflict(f"only {max(after[sku] + qty, 0)} of {sku} can be sold here, {qty} asked")
    at = protocol.utc_now()
    conn.execute(
        "INSERT INTO stock_movements (sku, qty, reason, ref, at) VALUES "  # noqa: S608
        + ",".join(["(?,?,?,?,?)"] * len(items)),
        [v for sku, qty in items for v in (sku, -qty, "sale", ref, at)],
    )
    stored = levels[0]["low_water"]  # the setting as kv.get reads it, in the same statement
    low = int(json.loads(stored)) if stored is not None else DEFAULT_LOW_WATER
    for sku, qty in items:
        journal.append(
            conn,
            protocol.STOCK_MOVED,
            {"sku": sku, "qty": -qty, "reason": "sale", "ref": ref, "sellable": after[sku]},
        )
        if after[sku] < low <= after[sku] + qty:
            journal.append(
                conn,
                protocol.STOCK_TOPUP_REQUEST,
                {"sku": sku, "sellable": after[sku], "low_water": low},
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
