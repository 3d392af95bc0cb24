"""Items often bought together, from the station's own order history (item co-occurrence)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

HISTORY = 5000  # most recent orders looked at


def bought_with(conn: sqlite3.Connection, skus: Sequence[str], limit: int = 4) -> list[str]:
    """SKUs most often in the same orders as ``skus`` (not themselves), most frequent first."""
    if not skus:
        return []
    marks = ",".join("?" * len(skus))
    rows = conn.execute(
        f"""
        WITH recent AS (SELECT id FROM orders ORDER BY created_at DESC LIMIT ?)
        SELECT b.sku, COUNT(DISTINCT b.order_id) AS n
        FROM order_lines a
        JOIN order_lines b ON a.order_id = b.order_id AND a.sku != b.sku
        WHERE a.order_id IN (SELECT id FROM recent)
          AND a.sku IN ({marks}) AND b.sku NOT IN ({marks})
        GROUP BY b.sku ORDER BY n DESC, b.sku LIMIT ?
        """,  # noqa: S608 - placeholders only
        (HISTORY, *skus, *skus, limit),
    ).fetchall()
    return [r["sku"] for r in rows]
