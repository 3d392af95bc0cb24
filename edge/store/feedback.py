"""Customer satisfaction: one 1–5 rating (and an optional comment) per order."""

from __future__ import annotations

import sqlite3

from edge import protocol
from edge.store import journal
from edge.store.db import Conflict


def add(conn: sqlite3.Connection, order_id: str, rating: int, comment: str = "") -> None:
    if not 1 <= rating <= 5:
        raise Conflict("a rating is 1 to 5")
    try:
        conn.execute(
            "INSERT INTO feedback (order_id, rating, comment, at) VALUES (?,?,?,?)",
            (order_id, rating, comment, protocol.utc_now()),
        )
    except sqlite3.IntegrityError as err:
        raise Conflict("this order was already rated") from err
    journal.append(
        conn, protocol.ORDER_FEEDBACK, {"order_id": order_id, "rating": rating, "comment": comment}
    )
