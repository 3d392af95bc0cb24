"""Per-station stream state: the ``up`` stream's applied seq and hash, the ``dn`` stream's
last assigned seq, hash and the station's cumulative ack.

Writers lock a state row with ``SELECT … FOR UPDATE`` (PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` already serialises writers), so ingest workers and dn producers in several
processes never interleave on one stream. Lock order: up before dn.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from cloud.db import insert_ignore
from cloud.errors import NotFound
from cloud.schema import stream_state
from edge.protocol import GENESIS_HASH, utc_now
from edge.wire import STREAMS


@dataclass(frozen=True)
class StreamState:
    station: str
    stream: str
    seq: int
    last_hash: str
    acked: int
    gap_from: int | None
    gap_since: str | None


def create(conn: Connection, station: str) -> None:
    """Make both stream rows of a new station (a no-op when they exist)."""
    now = utc_now()
    insert_ignore(
        conn,
        stream_state,
        [
            {
                "station": station,
                "stream": s,
                "seq": 0,
                "last_hash": GENESIS_HASH,
                "acked": 0,
                "updated_at": now,
            }
            for s in STREAMS
        ],
    )


def _read(conn: Connection, station: str, stream: str, *, lock: bool) -> StreamState:
    query = select(stream_state).where(
        stream_state.c.station == station, stream_state.c.stream == stream
    )
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"station {station} has no {stream} stream; register it first")
    return StreamState(
        station=row["station"],
        stream=row["stream"],
        seq=int(row["seq"]),
        last_hash=row["last_hash"],
        acked=int(row["acked"]),
        gap_from=row["gap_from"],
        gap_since=row["gap_since"],
    )


def lock(conn: Connection, station: str, stream: str) -> StreamState:
    """The stream's state, locked until the transaction ends."""
    return _read(conn, station, stream, lock=True)


def get(conn: Connection, station: str, stream: str) -> StreamState:
    return _read(conn, station, stream, lock=False)


def save(conn: Connection, state: StreamState) -> None:
    conn.execute(
        update(stream_state)
        .where(stream_state.c.station == state.station, stream_state.c.stream == state.stream)
        .values(
            seq=state.seq,
            last_hash=state.last_hash,
            acked=state.acked,
            gap_from=state.gap_from,
            gap_since=state.gap_since,
            updated_at=utc_now(),
        )
    )
