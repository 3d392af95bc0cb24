"""The station's event journal: the outbox the sync agent publishes to the hub.

Every business change appends its event here inside the change's own transaction, so the
journal and the state it describes can never disagree. Each event has a per-station ``seq``
without gaps, a globally unique id and the hash of the event before it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from edge import protocol
from edge.protocol import Event


def append(conn: sqlite3.Connection, kind: str, data: dict[str, Any]) -> Event:
    """Append one event; must run inside a write transaction."""
    if not conn.in_transaction:
        raise RuntimeError("journal.append must run inside a write transaction")
    row = conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (row["seq"] + 1, row["hash"]) if row else (1, protocol.GENESIS_HASH)
    event = protocol.seal(seq, kind, data, prev_hash)
    conn.execute(
        "INSERT INTO journal (seq, id, kind, at, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
        (
            event.seq,
            event.id,
            event.kind,
            event.at,
            protocol.canonical_json(event.data),
            event.prev_hash,
            event.hash,
        ),
    )
    return event


def _event(row: sqlite3.Row) -> Event:
    return Event(
        seq=row["seq"],
        id=row["id"],
        kind=row["kind"],
        at=row["at"],
        data=json.loads(row["data"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def since(conn: sqlite3.Connection, after_seq: int, limit: int = 500) -> list[Event]:
    rows = conn.execute(
        "SELECT * FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
    ).fetchall()
    return [_event(r) for r in rows]


def last_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(seq) AS s FROM journal").fetchone()
    return int(row["s"] or 0)


def verify(conn: sqlite3.Connection, batch: int = 1000) -> int | None:
    """Walk the whole journal; the seq of the first broken link, or None when intact."""
    prev_hash, after, expected_seq = protocol.GENESIS_HASH, 0, 1
    while events := since(conn, after, batch):
        for event in events:
            if event.seq != expected_seq:
                return expected_seq
            expected_seq += 1
        broken = protocol.verify_chain(events, prev_hash)
        if broken is not None:
            return broken
        prev_hash, after = events[-1].hash, events[-1].seq
    return None
