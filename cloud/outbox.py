"""The ``dn`` stream: hub events for one station, sequence-numbered and hash-chained.

:func:`enqueue_dn` runs inside the caller's transaction, so an event and the change it
announces (a grant, a command, a catalog update) commit together. The MQTT side publishes
:func:`pending_dn` after the station's cumulative ack and records acks with
:func:`record_dn_ack`; events stay in the table as the audit trail.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from cloud import streams
from cloud.alerts import raise_alert
from cloud.db import read_only, transaction
from cloud.schema import allotments, commands, dn_outbox, stations
from cloud.text import is_seq
from edge.protocol import HUB_EVENT_KINDS, STOCK_ALLOTMENT, Event, printable, seal, utc_now
from edge.wire import Ack

log = logging.getLogger(__name__)


def enqueue_dn(
    conn: Connection,
    station: str,
    kind: str,
    data: dict[str, Any],
    expires_at: str | None = None,
) -> Event:
    """Append one event to the station's ``dn`` stream, chained to the one before it."""
    if kind not in HUB_EVENT_KINDS:
        raise ValueError(f"{kind!r} is not a hub event kind")
    state = streams.lock(conn, station, "dn")
    event = seal(state.seq + 1, kind, data, state.last_hash)
    conn.execute(
        dn_outbox.insert().values(
            station=station,
            seq=event.seq,
            id=event.id,
            kind=event.kind,
            at=event.at,
            data=event.data,
            prev_hash=event.prev_hash,
            hash=event.hash,
            expires_at=expires_at,
        )
    )
    streams.save(
        conn, streams.StreamState(**{**state.__dict__, "seq": event.seq, "last_hash": event.hash})
    )
    return event


def _event(row: Any) -> Event:
    return Event(
        seq=int(row["seq"]),
        id=row["id"],
        kind=row["kind"],
        at=row["at"],
        data=row["data"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def pending_dn(engine: Engine, station: str, after_seq: int, limit: int = 200) -> list[Event]:
    """The station's ``dn`` events after ``after_seq``, in order (at most ``limit``)."""
    with read_only(engine) as conn:
        rows = conn.execute(
            select(dn_outbox)
            .where(dn_outbox.c.station == station, dn_outbox.c.seq > after_seq)
            .order_by(dn_outbox.c.seq)
            .limit(limit)
        ).mappings()
        return [_event(r) for r in rows]


def dn_position(engine: Engine, station: str) -> tuple[int, int]:
    """(last assigned seq, acked upto) of the station's ``dn`` stream."""
    with read_only(engine) as conn:
        state = streams.get(conn, station, "dn")
    return state.seq, state.acked


def record_dn_ack(engine: Engine, station: str, ack: Ack) -> int:
    """Record the station's cumulative ack of its ``dn`` stream; returns the acked seq.

    Rejected seqs keep their reason, raise an alert and undo what the hub assumed the
    event did (a rejected grant is no allotment; a rejected command failed)."""
    with transaction(engine) as conn:
        for seq, reason in ack.rejected:
            dn_rejected(conn, station, seq, reason)
        state = streams.lock(conn, station, "dn")
        upto = ack.upto
        if upto > state.seq:
            log.warning(
                "station %s acked dn seq %d but only %d were sent; counting %d",
                station,
                upto,
                state.seq,
                state.seq,
            )
            upto = state.seq
        if upto > state.acked:
            streams.save(conn, streams.StreamState(**{**state.__dict__, "acked": upto}))
            conn.execute(
                update(commands)
                .where(commands.c.station == station, commands.c.status == "pending")
                .where(commands.c.dn_seq <= upto)
                .values(status="sent", updated_at=utc_now())
            )
        return max(upto, state.acked)


def dn_rejected(conn: Connection, station: str, seq: int, reason: str) -> None:
    """The station refused ``dn`` event ``seq``: keep the reason, alert, and undo the
    hub's side of it. Idempotent: a second report of the same seq changes nothing."""
    reason = printable(str(reason), 500)
    row = (
        None
        if not is_seq(seq)
        else (
            conn.execute(
                select(dn_outbox).where(dn_outbox.c.station == station, dn_outbox.c.seq == seq)
            )
            .mappings()
            .first()
        )
    )
    if row is None:
        raise_alert(
            conn,
            station,
            "dn_rejected",
            f"station {station} rejected dn seq {seq}, which was never sent: {reason}",
            {"seq": seq, "reason": reason},
        )
        return
    if row["rejected_at"] is not None:
        return
    conn.execute(
        update(dn_outbox)
        .where(dn_outbox.c.station == station, dn_outbox.c.seq == seq)
        .values(rejected_reason=reason, rejected_at=utc_now())
    )
    raise_alert(
        conn,
        station,
        "dn_rejected",
        f"station {station} rejected its dn event {seq} ({row['kind']}): {reason}",
        {"seq": seq, "kind": row["kind"], "reason": reason},
    )
    data = row["data"]
    if row["kind"] == STOCK_ALLOTMENT:
        _undo_allotment(conn, station, data)
    elif isinstance(data.get("command_id"), str):
        conn.execute(
            update(commands)
            .where(commands.c.id == data["command_id"], commands.c.station == station)
            .where(commands.c.status.in_(("pending", "sent")))
            .values(status="failed", result={"error": reason}, updated_at=utc_now())
        )


def _undo_allotment(conn: Connection, station: str, data: dict[str, Any]) -> None:
    """The station never added this grant to what it may sell: take it off its allotment."""
    from cloud import stock

    sku, qty = data.get("sku"), data.get("qty")
    if not isinstance(sku, str) or not isinstance(qty, int):
        return
    store_row = conn.execute(
        select(stations.c.tenant, stations.c.store).where(stations.c.id == station)
    ).first()
    if store_row is None or store_row.store is None:
        return
    stock.lock_items(conn, store_row.tenant, store_row.store, [sku])
    conn.execute(
        update(allotments)
        .where(allotments.c.station == station, allotments.c.sku == sku)
        .values(allotted=allotments.c.allotted - qty, updated_at=utc_now())
    )
