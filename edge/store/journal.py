"""The station's event journal: the outbox the sync agent publishes to the hub.

Every business change appends its event here inside the change's own transaction, so the
journal and the state it describes can never disagree. Each event has a per-station ``seq``
without gaps, a globally unique id and the hash of the event before it.

Inside a :func:`batch` block the events of a transaction are sealed as they are appended
(their seq and hash are final at once) but written together, with one statement, as the block
ends; the group committer runs every call in one, so an order's four or five events cost one
``INSERT`` instead of a head lookup and an ``INSERT`` each.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from edge import protocol
from edge.protocol import Event

_INSERT = "INSERT INTO journal (seq, id, kind, at, data, prev_hash, hash) VALUES "
_ROW = "(?,?,?,?,?,?,?)"
#: Rows per ``INSERT`` when a batch is written (7 parameters each, well below SQLite's limit).
_CHUNK = 100


@dataclass
class Head:
    """The last event of the chain: its seq and hash (seq 0 and the genesis hash when empty)."""

    seq: int
    hash: str


@dataclass
class Batch:
    """Events held by a :func:`batch` block: sealed rows to write, and the chain's head after
    them (None until the first append reads it)."""

    head: Head | None
    rows: list[tuple[Any, ...]] = field(default_factory=list)


#: Open batches by connection; a connection is used by one thread at a time.
_batches: dict[int, Batch] = {}


def head(conn: sqlite3.Connection) -> Head:
    """The chain's last event as stored (events still held by a batch not included)."""
    row = conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    return Head(row["seq"], row["hash"]) if row else Head(0, protocol.GENESIS_HASH)


@functools.lru_cache(maxsize=256)
def _kind_json(kind: str) -> str:
    return protocol.canonical_json(kind)


def _seal(
    seq: int, kind: str, data: dict[str, Any], prev_hash: str
) -> tuple[Event, tuple[Any, ...]]:
    """:func:`protocol.seal` and the journal row of the event, with ``data`` encoded once: the
    canonical body that is hashed (keys in order ``at``, ``data``, ``id``, ``kind``, ``seq``)
    is put together around the stored text, so the hash is :func:`protocol.chain_hash`'s."""
    event_id, at, text = protocol.new_event_id(), protocol.utc_now(), protocol.canonical_json(data)
    # ``at`` (ISO time) and ``id`` (hex) need no escaping; a kind is encoded once per process.
    body = (
        f'{{"at":"{at}","data":{text},"id":"{event_id}",'
        f'"kind":{_kind_json(kind)},"seq":{int(seq)}}}'
    )
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(body.encode("utf-8"))
    event = Event(seq, event_id, kind, at, data, prev_hash, digest.hexdigest())
    return event, (seq, event_id, kind, at, text, prev_hash, event.hash)


def append(conn: sqlite3.Connection, kind: str, data: dict[str, Any]) -> Event:
    """Append one event; must run inside a write transaction."""
    if not conn.in_transaction:
        raise RuntimeError("journal.append must run inside a write transaction")
    pending = _batches.get(id(conn))
    if pending is None:
        last = head(conn)
        event, row = _seal(last.seq + 1, kind, data, last.hash)
        conn.execute(_INSERT + _ROW, row)
        return event
    if pending.head is None:
        pending.head = head(conn)
    event, row = _seal(pending.head.seq + 1, kind, data, pending.head.hash)
    pending.rows.append(row)
    pending.head = Head(event.seq, event.hash)
    return event


@contextmanager
def batch(conn: sqlite3.Connection, start: Head | None = None) -> Iterator[Batch]:
    """Hold the events appended on ``conn`` in this block and write them as it ends, in the
    same transaction; if the block raises, they are dropped with the rest of its work.

    ``start`` is the chain's head when the caller knows it (the group committer carries it
    from one call of a batch to the next, all under one write lock); otherwise it is read
    at the first append. A block inside another block joins the outer one. Nothing may read
    the journal on ``conn`` inside the block: the held events are not there yet.
    """
    outer = _batches.get(id(conn))
    if outer is not None:
        yield outer
        return
    pending = _batches[id(conn)] = Batch(start)
    try:
        yield pending
    finally:
        del _batches[id(conn)]
    for i in range(0, len(pending.rows), _CHUNK):
        chunk = pending.rows[i : i + _CHUNK]
        conn.execute(
            _INSERT + ",".join([_ROW] * len(chunk)),
            [value for row in chunk for value in row],
        )


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
