"""The ``up`` stream's outbox: the journal read from the hub's last cumulative ack.

Events stay in the journal for good (it is the audit log); the outbox is only the pointer
to what the hub has committed (``sync.up_acked``), moved forward by its acks.
"""

from __future__ import annotations

import sqlite3

from edge.protocol import Event
from edge.store import journal, kv

ACKED = "sync.up_acked"


def acked(conn: sqlite3.Connection) -> int:
    return int(kv.get(conn, ACKED, 0))


def pending(conn: sqlite3.Connection, after: int, limit: int) -> list[Event]:
    """Events after ``after`` (a seq), oldest first."""
    return journal.since(conn, after, limit)


def record_ack(conn: sqlite3.Connection, upto: int) -> int:
    """Move the acked pointer forward (never back, never past the journal); returns it."""
    current = acked(conn)
    upto = min(upto, journal.last_seq(conn))
    if upto > current:
        kv.put(conn, ACKED, upto)
        return upto
    return current


def depth(conn: sqlite3.Connection) -> int:
    """Events not yet committed at the hub."""
    return journal.last_seq(conn) - acked(conn)
