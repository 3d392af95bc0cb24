"""Ingest of a station's ``up`` batches: every event applied exactly once, in ``seq`` order.

One database transaction per batch: lock the station's up stream, plan the batch against
what was applied (:func:`edge.wire.plan`), apply each new event together with its inbox
row, advance the stream, commit. Duplicates change nothing; a gap stops the batch and asks
for a resend; an event that can never apply is stored ``rejected`` with its reason and an
alert, and the stream goes on; a broken hash chain raises a ``chain_break`` alert and the
event is still applied. The caller publishes the returned ack after the commit.

Several ingest workers, in any number of processes, may receive batches of the same
station: they serialise on the stream's row lock (``BEGIN IMMEDIATE`` on SQLite), so the
second one sees the first one's events as duplicates.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, exc, func, select

from cloud import apply, streams
from cloud.alerts import raise_alert
from cloud.apply import Context, TopupPolicy
from cloud.changeset import ChangeSet
from cloud.db import retrying
from cloud.errors import InvalidInput, NeverApplies
from cloud.registry import ensure_station
from cloud.schema import dn_outbox, inbox, stream_state
from cloud.stock import lock_items
from cloud.text import is_seq
from edge import protocol
from edge.protocol import Event, printable, utc_now
from edge.wire import Ack, Batch, plan

log = logging.getLogger(__name__)

DEFAULT_TOPUP = TopupPolicy()
_EVENT_ID = re.compile(r"[0-9A-Za-z_.:-]{1,128}")
_HASH = re.compile(r"[0-9a-f]{64}")


def ingest(
    engine: Engine, tenant: str, batch: Batch, *, topup: TopupPolicy | None = DEFAULT_TOPUP
) -> Ack:
    """Apply one ``up`` batch of one station in one transaction; returns the ack to
    publish after it (cumulative ``upto``, this batch's rejected seqs, ``resend_from``
    when a gap stopped it). ``topup=None`` records top-up requests without granting."""
    if batch.stream != "up":
        raise InvalidInput(f"ingest takes up batches, not {batch.stream!r}")

    def work(conn: Connection) -> Ack:
        return _ingest(conn, tenant, batch, topup)

    # Another station's event with the same id committing at the same moment is the only
    # way an insert can conflict; on the retry the id is seen and marked a duplicate.
    return retrying(engine, work, retry_on=(exc.IntegrityError,))


def _ingest(conn: Connection, tenant: str, batch: Batch, topup: TopupPolicy | None) -> Ack:
    station = batch.station
    store = ensure_station(conn, tenant, station)["store"]
    state = streams.lock(conn, station, "up")
    applied_before = state.seq
    todo = plan(batch.events, state.seq, state.last_hash)
    rejected: list[tuple[int, str]] = []
    if todo.apply:
        changes = ChangeSet(conn, tenant, station, store)
        _prepare(changes, todo.apply)
        rejected = _apply_all(changes, todo.apply, set(todo.broken), topup)
        last = todo.apply[-1]
        state = streams.StreamState(**{**state.__dict__, "seq": last.seq, "last_hash": last.hash})
    state = _track_gap(state, todo.gap_from)
    streams.save(conn, state)
    if todo.duplicates:
        earlier = [e.seq for e in batch.events if e.seq <= applied_before]
        rejected += _rejected_before(conn, station, earlier)
    if todo.gap_from is not None:
        log.info("station %s: gap at seq %d, asking for a resend", station, todo.gap_from)
    return Ack(upto=state.seq, rejected=tuple(sorted(set(rejected))), resend_from=todo.gap_from)


def _track_gap(state: streams.StreamState, gap_from: int | None) -> streams.StreamState:
    """Remember since when the stream waits for a missing seq (see alert_stale_gaps)."""
    if gap_from is not None:
        since = state.gap_since if state.gap_from is not None else utc_now()
        return streams.StreamState(**{**state.__dict__, "gap_from": gap_from, "gap_since": since})
    if state.gap_from is not None and state.seq >= state.gap_from:
        return streams.StreamState(**{**state.__dict__, "gap_from": None, "gap_since": None})
    return state


def _prepare(changes: ChangeSet, events: list[Event]) -> None:
    """Lock the stock items the batch may touch (in SKU order, so ingest workers of two
    stations of one store never wait on each other in a cycle), then read its orders and
    the station's allotments once."""
    conn, station = changes.conn, changes.station
    ids, numbers, skus = apply.references(events)
    dn_seqs = [
        e.data["seq"]
        for e in events
        if e.kind == protocol.DN_REJECTED and is_seq(e.data.get("seq"))
    ]
    if dn_seqs:
        for data in conn.execute(
            select(dn_outbox.c.data).where(
                dn_outbox.c.station == station,
                dn_outbox.c.seq.in_(dn_seqs),
                dn_outbox.c.kind == protocol.STOCK_ALLOTMENT,
            )
        ).scalars():
            if isinstance(data.get("sku"), str):
                skus.add(data["sku"])
    if skus and changes.store is not None:
        lock_items(conn, changes.tenant, changes.store, skus)
        changes.load_stock(skus)
    changes.load_orders(ids, numbers)


def _envelope_problem(event: Event) -> str | None:
    if not _EVENT_ID.fullmatch(event.id):
        return "malformed event id"
    try:
        datetime.fromisoformat(event.at)
    except ValueError:
        return "malformed 'at' time"
    return None


def _apply_all(
    changes: ChangeSet,
    events: list[Event],
    broken: set[int],
    topup: TopupPolicy | None,
) -> list[tuple[int, str]]:
    conn, tenant, station = changes.conn, changes.tenant, changes.station
    seen = _seen_ids(conn, [e.id for e in events if _EVENT_ID.fullmatch(e.id)])
    received, rows, rejected = utc_now(), [], []
    for event in events:
        status, reason = "applied", None
        problem = _envelope_problem(event)
        if problem is None and event.id in seen:
            first_station, first_seq = seen[event.id]
            status = "duplicate-id"
            reason = f"event id {event.id} already seen at {first_station} seq {first_seq}"
            raise_alert(
                conn,
                station,
                "duplicate_event_id",
                f"station {station} seq {event.seq}: {reason}",
                {"seq": event.seq, "event_id": event.id},
                dedupe=True,
            )
        elif problem is not None:
            status, reason = "rejected", problem
        else:
            try:
                apply.apply_event(changes, Context(tenant, station, event, topup))
            except NeverApplies as err:
                status, reason = "rejected", printable(str(err), 500)
        if status == "rejected":
            rejected.append((event.seq, reason or ""))
            raise_alert(
                conn,
                station,
                "event_rejected",
                f"station {station} seq {event.seq} ({printable(event.kind)}) rejected: {reason}",
                {"seq": event.seq, "kind": printable(event.kind), "reason": reason},
                dedupe=True,
            )
        if event.seq in broken:
            raise_alert(
                conn,
                station,
                "chain_break",
                f"station {station}: the hash chain breaks at seq {event.seq}",
                {"seq": event.seq, "event_id": printable(event.id)},
            )
        if status == "applied":
            seen[event.id] = (station, event.seq)
        rows.append(_inbox_row(station, event, status, reason, event.seq not in broken, received))
    changes.flush()
    conn.execute(inbox.insert(), rows)
    return rejected


def _seen_ids(conn: Connection, ids: list[str]) -> dict[str, tuple[str, int]]:
    """Event ids already in the inbox → (station, seq) where they were first applied."""
    if not ids:
        return {}
    rows = conn.execute(
        select(inbox.c.event_id, inbox.c.station, inbox.c.seq).where(inbox.c.event_id.in_(ids))
    )
    return {r.event_id: (r.station, int(r.seq)) for r in rows}


def _inbox_row(
    station: str, event: Event, status: str, reason: str | None, chain_ok: bool, received: str
) -> dict[str, Any]:
    keep_id = status != "duplicate-id" and _EVENT_ID.fullmatch(event.id) is not None
    return {
        "station": station,
        "seq": event.seq,
        "event_id": event.id if keep_id else None,
        "kind": _text(event.kind),
        "at": _text(event.at),
        "received_at": received,
        "status": status,
        "reason": reason,
        "chain_ok": chain_ok,
        "data": event.data,
        "prev_hash": _hash_text(event.prev_hash),
        "hash": _hash_text(event.hash),
    }


def _text(value: str, limit: int = 64) -> str:
    return value if len(value) <= limit and value.isprintable() else printable(value, limit)


def _hash_text(value: str) -> str:
    return value if _HASH.fullmatch(value) else printable(value, 80)


def _rejected_before(conn: Connection, station: str, seqs: list[int]) -> list[tuple[int, str]]:
    """Seqs of this batch that an earlier delivery rejected, so every ack of a batch says
    the same whichever delivery applied it."""
    if not seqs:
        return []
    rows = conn.execute(
        select(inbox.c.seq, inbox.c.reason).where(
            inbox.c.station == station, inbox.c.seq.in_(seqs), inbox.c.status == "rejected"
        )
    )
    return [(int(r.seq), r.reason or "") for r in rows]


def alert_stale_gaps(conn: Connection, older_than: str) -> list[str]:
    """Alert (once) for every up stream that has waited for a missing seq since before
    ``older_than`` (an ISO time); returns the stations. Meant for a periodic check."""
    rows = conn.execute(
        select(stream_state).where(
            stream_state.c.stream == "up",
            stream_state.c.gap_since.is_not(None),
            stream_state.c.gap_since < older_than,
        )
    ).mappings()
    late = []
    for row in rows:
        raise_alert(
            conn,
            row["station"],
            "stream_gap",
            f"station {row['station']}: up stream waits for seq {row['gap_from']} "
            f"since {row['gap_since']}",
            {"gap_from": row["gap_from"], "since": row["gap_since"]},
            dedupe=True,
        )
        late.append(row["station"])
    return late


def check_streams(conn: Connection) -> list[str]:
    """Every up stream whose inbox does not hold exactly seqs 1…applied, once each (empty
    when all do): the "every station event is in the hub exactly once" check."""
    counts = {
        r.station: (int(r.n), int(r.top or 0))
        for r in conn.execute(
            select(
                inbox.c.station, func.count().label("n"), func.max(inbox.c.seq).label("top")
            ).group_by(inbox.c.station)
        )
    }
    problems = []
    for row in conn.execute(select(stream_state).where(stream_state.c.stream == "up")).mappings():
        n, top = counts.get(row["station"], (0, 0))
        if n != row["seq"] or top != row["seq"]:
            problems.append(
                f"{row['station']}: applied up to {row['seq']} but the inbox holds {n} "
                f"event(s) up to seq {top}"
            )
    return problems
