"""Every scan the station received and what came of it (a local log for the staff screens)."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge import protocol
from edge.store import journal

OUTCOMES = frozenset(
    {
        "order_opened",
        "item_packed",
        "order_packed",
        "wrong_item",
        "over_scan",
        "unknown_code",
        "no_open_order",
        "rejected",
        "badge",
        "not_packable",
        "product",
        "order_status",
        "order_paid",
        "duplicate",
    }
)
REJECTIONS = frozenset(
    {"wrong_item", "over_scan", "unknown_code", "no_open_order", "rejected", "not_packable"}
)


def record(
    conn: sqlite3.Connection,
    code: str,
    source: str,
    outcome: str,
    *,
    order_id: str | None = None,
    sku: str | None = None,
    message: str = "",
    event_id: str | None = None,
) -> int:
    """Log one scan; rejected scans also go to the journal as an audit event."""
    at = protocol.utc_now()
    cur = conn.execute(
        "INSERT INTO scans (code, source, at, outcome, order_id, sku, message, event_id) "
        "VALUES (?,?,?,?,?,?,?,?)",
        (code[:512], source[:64], at, outcome, order_id, sku, message[:300], event_id),
    )
    if outcome in REJECTIONS:
        journal.append(
            conn,
            protocol.SCAN_REJECTED,
            {
                "code": code[:128],
                "source": source[:64],
                "outcome": outcome,
                "order_id": order_id,
                "message": message[:300],
            },
        )
    return int(cur.lastrowid or 0)


def by_event_id(conn: sqlite3.Connection, event_id: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM scans WHERE event_id = ?", (event_id,)).fetchone()
    return dict(row) if row else None


def recent(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute("SELECT * FROM scans ORDER BY id DESC LIMIT ?", (limit,))]


def rate(conn: sqlite3.Connection, since: str) -> int:
    row = conn.execute("SELECT COUNT(*) AS n FROM scans WHERE at >= ?", (since,)).fetchone()
    return int(row["n"])
