"""Waybill numbers at the station: blocks of serials the hub granted per carrier
(``waybill.pool``), taken in order when a label prints, so labels carry valid numbers
while the hub is unreachable. Each number taken is journaled (``waybill.used``) so the
hub can top the pool up."""

from __future__ import annotations

import sqlite3
from typing import Any

from edge import protocol
from edge.store import journal
from edge.store.db import Conflict

SCHEMES = frozenset({"mod7", "s10"})


def add_block(conn: sqlite3.Connection, block: dict[str, Any]) -> None:
    """Keep a block granted by the hub (a repeat of the same block changes nothing)."""
    block_id, first, last = int(block["block_id"]), int(block["first"]), int(block["last"])
    width, scheme = int(block["width"]), str(block["scheme"])
    if scheme not in SCHEMES or last < first or first < 0 or last >= 10**width:
        raise Conflict(f"waybill block {block_id} is not valid")
    conn.execute(
        "INSERT INTO waybill_blocks (id, carrier, prefix, suffix, width, scheme, first, last, "
        "next, granted_at) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING",
        (
            block_id,
            str(block["carrier"]),
            str(block.get("prefix", "")),
            str(block.get("suffix", "")),
            width,
            scheme,
            first,
            last,
            first,
            protocol.utc_now(),
        ),
    )


def take(conn: sqlite3.Connection, carrier: str, order_id: str) -> str | None:
    """The next unused number of ``carrier`` (oldest block first), journaled as used;
    None when the station holds no numbers of that carrier."""
    row = conn.execute(
        "SELECT * FROM waybill_blocks WHERE carrier = ? AND next <= last ORDER BY id LIMIT 1",
        (carrier,),
    ).fetchone()
    if row is None:
        return None
    serial = int(row["next"])
    conn.execute("UPDATE waybill_blocks SET next = next + 1 WHERE id = ?", (row["id"],))
    number = protocol.waybill_number(
        row["prefix"], serial, int(row["width"]), row["scheme"], row["suffix"]
    )
    journal.append(
        conn,
        protocol.WAYBILL_USED,
        {
            "carrier": carrier,
            "block_id": int(row["id"]),
            "serial": serial,
            "number": number,
            "order_id": order_id,
        },
    )
    return number


def remaining(conn: sqlite3.Connection) -> dict[str, int]:
    """Unused numbers per carrier."""
    return {
        r["carrier"]: int(r["n"])
        for r in conn.execute(
            "SELECT carrier, SUM(last - next + 1) AS n FROM waybill_blocks GROUP BY carrier"
        )
    }
