"""Ingest of a station's ``up`` batches: every event applied exactly once, in ``seq`` order.

Each batch is applied whole in one database transaction, alone (:func:`ingest`) or with
other batches queued at the same worker (:func:`ingest_group`, group commit): lock the
stations' up streams, plan each batch against what was applied (:func:`edge.wire.plan`),
apply each new event together with its inbox row, advance the streams, commit. Duplicates
change nothing; a gap stops the batch and asks for a resend (or holds it, see
:class:`Delivery`); an event that can never apply is stored ``rejected`` with its reason
and an alert, and the stream goes on; a broken hash chain raises a ``chain_break`` alert
and the event is still applied. The caller publishes the returned acks after the commit.

Several ingest workers, in any number of processes, may receive batches of the same
station: they serialise on the stream's row lock (``BEGIN IMMEDIATE`` on SQLite), so the
second one sees the first one's events as duplicates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, exc, func, select

from cloud import apply, streams
from cloud.alerts import raise_alert
from cloud.apply import Context, TopupPolicy
from cloud.changeset import ChangeSet
from cloud.db import retrying
from cloud.errors import InvalidInput, NeverApplies, NotFound, WrongTenant
from cloud.ingest_sql import insert_inbox, lock_up_streams, save_up_streams, seen_ids, station_rows
from cloud.registry import ensure_station
from cloud.schema import dn_outbox, inbox, stream_state
from cloud.stock import lock_items
from cloud.text import is_seq
from edge import protocol
from edge.protocol import Event, printable, utc_now
from edge.wire import Ack, Batch, Plan, plan

log = logging.getLogger(__name__)

DEFAULT_TOPUP = TopupPolicy()
_EVENT_ID = re.compile(r"[0-9A-Za-z_.:-]{1,128}")
_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Delivery:
    """One ``up`` batch as a worker received it. ``may_wait``: a batch that finds a gap
    before anything it could apply is held (its result is ``None``, nothing is written)
    instead of asking for a resend, because the missing batch may be on its way through
    another worker."""

    tenant: str
    batch: Batch
    may_wait: bool = False


Result = Ack | Exception | None


def ingest(
    engine: Engine, tenant: str, batch: Batch, *, topup: TopupPolicy | None = DEFAULT_TOPUP
) -> Ack:
    """Apply one ``up`` batch of one station in one transaction; returns the ack to
    publish after it (cumulative ``upto``, this batch's rejected seqs, ``resend_from``
    when a gap stopped it). ``topup=None`` records top-up requests without granting."""
    if batch.stream != "up":
        raise InvalidInput(f"ingest takes up batches, not {batch.stream!r}")
    result = ingest_group(engine, [Delivery(tenant, batch)], topup=topup)[0]
    if isinstance(result, Exception):
        raise result
    if result is None:  # only a delivery that may wait is ever held
        raise RuntimeError("a batch that may not wait was held")
    return result


def ingest_group(
    engine: Engine, deliveries: Sequence[Delivery], *, topup: TopupPolicy | None = DEFAULT_TOPUP
) -> list[Result]:
    """Apply several ``up`` batches (of one station or many) in ONE transaction, sorted by
    station and seq; returns, in the order given, each batch's ack, ``None`` for a held
    batch (see :class:`Delivery`), or the error that refused it (a wrong tenant: nothing of
    it written). When the group as a whole fails, each batch is ingested again in its own
    transaction, so one bad batch never takes the others down."""
    results: list[Result] = [None] * len(deliveries)
    order = []
    for i, delivery in enumerate(deliveries):
        if delivery.batch.stream != "up":
            results[i] = InvalidInput(f"ingest takes up batches, not {delivery.batch.stream!r}")
        else:
            order.append(i)
    if not order:
        return results
    order.sort(key=lambda i: (deliveries[i].batch.station, _first_seq(deliveries[i].batch)))

    def run(group: list[Delivery]) -> list[Result]:
        # Another station's event with the same id committing at the same moment is the
        # only way an insert can conflict; on the retry the id is seen, a duplicate.
        return retrying(
            engine,
            lambda conn: _ingest_group(conn, group, topup),
            retry_on=(exc.IntegrityError,),
        )

    try:
        for i, result in zip(order, run([deliveries[i] for i in order]), strict=True):
            results[i] = result
    except Exception as err:
        if len(order) == 1:
            results[order[0]] = err
            return results
        log.warning("a group of %d batches failed (%s); one transaction each", len(order), err)
        for i in order:
            try:
                results[i] = run([deliveries[i]])[0]
            except Exception as one:
                results[i] = one
    return results


def _first_seq(batch: Batch) -> int:
    return min((e.seq for e in batch.events), default=0)


@dataclass
class _Planned:
    delivery: Delivery
    station: dict[str, Any]
    applied_before: int
    todo: Plan
    upto: int


def _ingest_group(
    conn: Connection, deliveries: list[Delivery], topup: TopupPolicy | None
) -> list[Result]:
    """The group in one transaction, a handful of statements for all of it: station rows,
    stream locks (in station order), seen ids, inbox rows and stream updates each once."""
    results: list[Result] = [None] * len(deliveries)
    rows = station_rows(conn, {d.batch.station for d in deliveries})
    wanted: list[int] = []
    for i, delivery in enumerate(deliveries):
        tenant, station = delivery.tenant, delivery.batch.station
        row = rows.get(station)
        if row is None or row["tenant"] != tenant:
            try:
                row = rows[station] = ensure_station(conn, tenant, station)
            except WrongTenant as err:
                results[i] = err
                continue
        wanted.append(i)
    states = lock_up_streams(conn, sorted({deliveries[i].batch.station for i in wanted}))

    # Plan every batch against the stream as the batches before it in the group leave it.
    planned: list[tuple[int, _Planned]] = []
    touched: set[str] = set()
    for i in wanted:
        delivery = deliveries[i]
        station = delivery.batch.station
        state = states.get(station)
        if state is None:
            results[i] = NotFound(f"station {station} has no up stream; register it first")
            continue
        todo = plan(delivery.batch.events, state.seq, state.last_hash)
        if delivery.may_wait and not todo.apply and todo.gap_from is not None:
            continue  # held: the worker offers it again with the next group
        before = state.seq
        if todo.apply:
            last = todo.apply[-1]
            state = replace(state, seq=last.seq, last_hash=last.hash)
        states[station] = state = _track_gap(state, todo.gap_from)
        touched.add(station)
        if todo.gap_from is not None:
            log.info("station %s: gap at seq %d, asking for a resend", station, todo.gap_from)
        planned.append((i, _Planned(delivery, rows[station], before, todo, state.seq)))

    _lock_group_stock(conn, [p for _, p in planned])
    seen = seen_ids(
        conn, [e.id for _, p in planned for e in p.todo.apply if _EVENT_ID.fullmatch(e.id)]
    )
    received, inbox_rows = utc_now(), list[dict[str, Any]]()
    for i, p in planned:
        batch, rejected = p.delivery.batch, []
        if p.todo.apply:
            changes = ChangeSet(conn, p.delivery.tenant, batch.station, p.station["store"])
            _prepare(changes, p.todo.apply)
            rejected = _apply_all(
                changes, p.todo.apply, set(p.todo.broken), topup, seen, inbox_rows, received
            )
        if p.todo.duplicates:
            earlier = [e.seq for e in batch.events if e.seq <= p.applied_before]
            rejected += _rejected_before(conn, batch.station, earlier, inbox_rows)
        results[i] = Ack(
            upto=p.upto, rejected=tuple(sorted(set(rejected))), resend_from=p.todo.gap_from
        )
    insert_inbox(conn, inbox_rows)
    save_up_streams(conn, [states[s] for s in sorted(touched)])
    return results


def _lock_group_stock(conn: Connection, planned: list[_Planned]) -> None:
    """Lock the stock items every batch of the group may touch up front, store by store in
    SKU order, so two workers' groups never lock them in crossing orders."""
    if len(planned) < 2:
        return
    wanted: dict[tuple[str, str], set[str]] = {}
    for p in planned:
        store = p.station["store"]
        if store is not None and p.todo.apply:
            skus = apply.references(p.todo.apply)[2]
            if skus:
                wanted.setdefault((p.delivery.tenant, store), set()).update(skus)
    for (tenant, store), skus in sorted(wanted.items()):
        lock_items(conn, tenant, store, skus)


def _track_gap(state: streams.StreamState, gap_from: int | None) -> streams.StreamState:
    """Remember since when the stream waits for a missing seq (see alert_stale_gaps)."""
    if gap_from is not None:
        since = state.gap_since if state.gap_from is not None else utc_now()
        return replace(state, gap_from=gap_from, gap_since=since)
    if state.gap_from is not None and state.seq >= state.gap_from:
        return replace(state, gap_from=None, gap_since=None)
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
    seen: dict[str, tuple[str, int]],
    rows: list[dict[str, Any]],
    received: str,
) -> list[tuple[int, str]]:
    """Apply a batch's new events; their inbox rows go to ``rows`` (written once for the
    group) and the ids they use to ``seen`` (the group's view of ids already taken)."""
    conn, tenant, station = changes.conn, changes.tenant, changes.station
    rejected = []
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
    return rejected


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


def _rejected_before(
    conn: Connection, station: str, seqs: list[int], pending: list[dict[str, Any]]
) -> list[tuple[int, str]]:
    """Seqs of this batch that an earlier delivery rejected (committed, or earlier in this
    group: ``pending`` inbox rows), so every ack of a batch says the same whichever
    delivery applied it."""
    if not seqs:
        return []
    wanted = set(seqs)
    found = [
        (int(r["seq"]), r["reason"] or "")
        for r in pending
        if r["station"] == station and r["seq"] in wanted and r["status"] == "rejected"
    ]
    rows = conn.execute(
        select(inbox.c.seq, inbox.c.reason).where(
            inbox.c.station == station, inbox.c.seq.in_(seqs), inbox.c.status == "rejected"
        )
    )
    return found + [(int(r.seq), r.reason or "") for r in rows]


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
