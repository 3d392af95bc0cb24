"""Coupon codes: a percentage or a fixed amount off, with validity dates, a minimum spend
and an optional use limit. Whether a coupon applies to a cart is decided by
:func:`edge.kiosk.pricing.apply_coupon`; this module keeps them and counts their use."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from edge import protocol
from edge.store import journal
from edge.store.db import Conflict

KINDS = frozenset({"percent", "fixed"})


def upsert(conn: sqlite3.Connection, coupons: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    for c in coupons:
        if c["kind"] not in KINDS:
            raise Conflict(f"coupon kind must be one of {sorted(KINDS)}")
        conn.execute(
            "INSERT INTO coupons (code, kind, value, min_spend, valid_from, valid_until, max_uses) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET kind=excluded.kind, "
            "value=excluded.value, min_spend=excluded.min_spend, valid_from=excluded.valid_from, "
            "valid_until=excluded.valid_until, max_uses=excluded.max_uses",
            (
                str(c["code"]).upper(),
                c["kind"],
                str(c["value"]),
                str(c.get("min_spend", "0.00")),
                c.get("valid_from"),
                c.get("valid_until"),
                c.get("max_uses"),
            ),
        )
        count += 1
    return count


def get(conn: sqlite3.Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM coupons WHERE code = ?", (code.strip().upper(),)).fetchone()
    return dict(row) if row else None


def redeem(conn: sqlite3.Connection, code: str, order_id: str) -> None:
    """Count one use; refused when the limit was reached meanwhile."""
    cur = conn.execute(
        "UPDATE coupons SET used = used + 1 WHERE code = ? "
        "AND (max_uses IS NULL OR used < max_uses)",
        (code,),
    )
    if cur.rowcount != 1:
        raise Conflict(f"coupon {code} has been used up")
    journal.append(conn, protocol.COUPON_REDEEMED, {"code": code, "order_id": order_id})
