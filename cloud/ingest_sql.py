"""The set-based statements of an ingest group: a few statements for all its batches
(station rows, up stream locks, seen event ids, inbox rows, stream updates), however many
batches and stations it holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String, any_, bindparam, exc, select, update
from sqlalchemy.dialects import postgresql

from cloud.schema import inbox, stations, stream_state
from cloud.streams import StreamState
from edge.protocol import canonical_json, utc_now

_SQLITE_CHUNK = 900  # bind parameters per statement, well below SQLite's limit


def station_rows(conn: Connection, ids: set[str]) -> dict[str, dict[str, Any]]:
    found = conn.execute(select(stations).where(stations.c.id.in_(sorted(ids)))).mappings()
    return {r["id"]: dict(r) for r in found}


def lock_up_streams(conn: Connection, ids: list[str]) -> dict[str, StreamState]:
    """The up streams of ``ids``, locked in station order in one statement (``FOR UPDATE``
    on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
    if not ids:
        return {}
    query = (
        select(stream_state)
        .where(stream_state.c.station.in_(ids), stream_state.c.stream == "up")
        .order_by(stream_state.c.station)
        .with_for_update()
    )
    return {
        r["station"]: StreamState(
            station=r["station"],
            stream=r["stream"],
            seq=int(r["seq"]),
            last_hash=r["last_hash"],
            acked=int(r["acked"]),
            gap_from=r["gap_from"],
            gap_since=r["gap_since"],
        )
        for r in conn.execute(query).mappings()
    }


_SAVE_UP = (
    update(stream_state)
    .where(stream_state.c.station == bindparam("b_station"), stream_state.c.stream == "up")
    .values(
        seq=bindparam("seq"),
        last_hash=bindparam("last_hash"),
        gap_from=bindparam("gap_from"),
        gap_since=bindparam("gap_since"),
        updated_at=bindparam("now"),
    )
)


def save_up_streams(conn: Connection, states: list[StreamState]) -> None:
    if not states:
        return
    now = utc_now()
    conn.execute(
        _SAVE_UP,
        [
            {
                "b_station": s.station,
                "seq": s.seq,
                "last_hash": s.last_hash,
                "gap_from": s.gap_from,
                "gap_since": s.gap_since,
                "now": now,
            }
            for s in states
        ],
    )


def seen_ids(conn: Connection, ids: list[str]) -> dict[str, tuple[str, int]]:
    """Event ids already in the inbox → (station, seq) where they were first applied: one
    array parameter on PostgreSQL, chunks of bind parameters on SQLite."""
    if not ids:
        return {}
    columns = (inbox.c.event_id, inbox.c.station, inbox.c.seq)
    if conn.dialect.name == "postgresql":
        array = bindparam("ids", ids, type_=postgresql.ARRAY(String))
        queries = [select(*columns).where(inbox.c.event_id == any_(array))]
    else:
        chunks = [ids[n : n + _SQLITE_CHUNK] for n in range(0, len(ids), _SQLITE_CHUNK)]
        queries = [select(*columns).where(inbox.c.event_id.in_(chunk)) for chunk in chunks]
    return {r.event_id: (r.station, int(r.seq)) for q in queries for r in conn.execute(q)}


def insert_inbox(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The group's inbox rows: by ``COPY`` on PostgreSQL (one stream instead of a round
    trip per row), one ``executemany`` on SQLite."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(inbox.insert(), rows)
        return
    import psycopg  # only present where the hub runs on PostgreSQL

    names = [c.name for c in inbox.columns]
    sql = "COPY inbox ({}) FROM STDIN".format(", ".join(f'"{n}"' for n in names))
    try:
        raw = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([canonical_json(row[n]) if n == "data" else row[n] for n in names])
    except psycopg.Error as err:  # as SQLAlchemy's own errors, so retrying() sees them
        raise exc.DBAPIError.instance(sql, None, err, psycopg.Error) from err
