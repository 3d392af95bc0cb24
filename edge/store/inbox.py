"""The ``dn`` stream's receiving end: how far the hub's events have been applied here.

An event is applied in the same transaction that moves ``sync.dn_applied`` past it, so a
crash can never apply one twice or skip one.
"""

from __future__ import annotations

import sqlite3

from edge.protocol import GENESIS_HASH, Event
from edge.store import kv

APPLIED = "sync.dn_applied"
LAST_HASH = "sync.dn_hash"


def position(conn: sqlite3.Connection) -> tuple[int, str]:
    """(last applied seq, its hash)."""
    return int(kv.get(conn, APPLIED, 0)), str(kv.get(conn, LAST_HASH, GENESIS_HASH))


def advance(conn: sqlite3.Connection, event: Event) -> None:
    """Mark ``event`` applied (or rejected); must run in the transaction that applied it."""
    applied, _ = position(conn)
    if event.seq != applied + 1:
        raise ValueError(f"dn event {event.seq} applied after {applied}")
    kv.put(conn, APPLIED, event.seq)
    kv.put(conn, LAST_HASH, event.hash)
