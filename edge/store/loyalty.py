"""Loyalty points as a ledger per member (identified by phone number): orders earn points,
redemptions spend them; the balance is the sum."""

from __future__ import annotations

import sqlite3

from edge import protocol
from edge.store import journal
from edge.store.db import Conflict


def balance(conn: sqlite3.Connection, member: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(SUM(points), 0) AS p FROM loyalty_movements WHERE member = ?", (member,)
    ).fetchone()
    return int(row["p"])


def is_member(conn: sqlite3.Connection, member: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM loyalty_movements WHERE member = ? LIMIT 1", (member,)
        ).fetchone()
        is not None
    )


def move(
    conn: sqlite3.Connection, member: str, points: int, reason: str, order_id: str | None = None
) -> int:
    """Add (earn, enrol) or remove (redeem) points; returns the new balance."""
    after = balance(conn, member) + points
    if after < 0:
        raise Conflict(f"member has {after - points} points, {-points} asked")
    conn.execute(
        "INSERT INTO loyalty_movements (member, points, reason, order_id, at) VALUES (?,?,?,?,?)",
        (member, points, reason, order_id, protocol.utc_now()),
    )
    journal.append(
        conn,
        protocol.LOYALTY_MOVED,
        {"member": member, "points": points, "reason": reason, "order_id": order_id},
    )
    return after
