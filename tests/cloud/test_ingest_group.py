"""Group commit: several up batches, of one station or many, ingested in one transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from cloud import apply, ingest, registry
from cloud.db import read_only
from cloud.errors import WrongTenant
from cloud.ingest import Delivery, ingest_group
from cloud.schema import inbox
from edge import protocol
from edge.wire import Ack

from .factories import TENANT, Journal, register


def inbox_seqs(engine: Engine, station: str) -> list[tuple[int, str]]:
    with read_only(engine) as conn:
        rows = conn.execute(
            select(inbox.c.seq, inbox.c.status)
            .where(inbox.c.station == station)
            .order_by(inbox.c.seq)
        )
        return [(int(r.seq), r.status) for r in rows]


def journal(station: str, n: int) -> Journal:
    j = Journal(station)
    for i in range(n):
        j.add(protocol.STAFF_LOGIN, {"staff": f"{station}-{i}"})
    return j


def up_applied(engine: Engine, station: str) -> dict:
    with read_only(engine) as conn:
        return registry.get_station(conn, station)["up"]


def test_a_group_applies_batches_of_several_stations_sorted_by_station_and_seq(engine: Engine):
    one, two = journal("st-01", 4), journal("st-02", 4)
    given = [two.seqs(3, 4), one.seqs(1, 2), two.seqs(1, 2), one.seqs(3, 4)]

    results = ingest_group(engine, [Delivery(TENANT, b) for b in given])

    assert results == [Ack(upto=4), Ack(upto=2), Ack(upto=2), Ack(upto=4)]
    for station in ("st-01", "st-02"):
        assert inbox_seqs(engine, station) == [(n, "applied") for n in range(1, 5)]
        assert up_applied(engine, station)["gap_from"] is None


def test_a_group_holding_a_wrong_tenant_batch_still_applies_the_good_ones(engine: Engine):
    register(engine, "st-01", "st-02")
    one, two = journal("st-01", 2), journal("st-02", 2)

    results = ingest_group(
        engine,
        [Delivery(TENANT, one.batch()), Delivery("other-tenant", two.batch())],
    )

    assert results[0] == Ack(upto=2)
    assert isinstance(results[1], WrongTenant)
    assert [s for s, _ in inbox_seqs(engine, "st-01")] == [1, 2]
    assert inbox_seqs(engine, "st-02") == []


def test_a_batch_that_fails_the_group_is_retried_alone_and_the_others_still_apply(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    """A fault no handler expects (here injected into the apply step for one event)
    rolls the group back; each batch then gets its own transaction."""
    real = apply.apply_event

    def failing(changes: object, ctx: apply.Context) -> None:
        if ctx.event.data.get("staff") == "st-02-1":
            raise RuntimeError("injected fault")
        real(changes, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest.apply, "apply_event", failing)
    register(engine, "st-01", "st-02", "st-03")
    batches = [journal(s, 3).batch() for s in ("st-01", "st-02", "st-03")]

    results = ingest_group(engine, [Delivery(TENANT, b) for b in batches])

    assert results[0] == Ack(upto=3) and results[2] == Ack(upto=3)
    assert isinstance(results[1], RuntimeError)
    assert [s for s, _ in inbox_seqs(engine, "st-01")] == [1, 2, 3]
    assert [s for s, _ in inbox_seqs(engine, "st-03")] == [1, 2, 3]
    assert inbox_seqs(engine, "st-02") == []  # nothing half-written
    assert up_applied(engine, "st-02")["applied"] == 0


def test_a_batch_after_a_gap_may_wait_and_then_applies_without_a_resend(engine: Engine):
    j = journal("st-01", 4)
    later = Delivery(TENANT, j.seqs(3, 4), may_wait=True)

    assert ingest_group(engine, [later]) == [None]  # held: nothing written, no resend asked
    assert inbox_seqs(engine, "st-01") == []
    assert up_applied(engine, "st-01")["gap_from"] is None

    results = ingest_group(engine, [later, Delivery(TENANT, j.seqs(1, 2), may_wait=True)])

    assert results == [Ack(upto=4), Ack(upto=2)]
    assert [s for s, _ in inbox_seqs(engine, "st-01")] == [1, 2, 3, 4]


def test_a_batch_after_a_gap_that_may_not_wait_asks_for_a_resend(engine: Engine):
    j = journal("st-01", 4)
    results = ingest_group(engine, [Delivery(TENANT, j.seqs(3, 4))])
    assert results == [Ack(upto=0, resend_from=1)]
    assert up_applied(engine, "st-01")["gap_from"] == 1


def test_the_same_batch_twice_in_one_group_applies_once_and_both_acks_agree(engine: Engine):
    j = Journal("st-01")
    j.add(protocol.STAFF_LOGIN, {"staff": "li"})
    j.add("order.teleported", {})
    j.add(protocol.STAFF_LOGIN, {"staff": "wu"})

    first, second = ingest_group(engine, [Delivery(TENANT, j.batch())] * 2)

    assert first == second
    assert isinstance(first, Ack) and first.upto == 3
    assert [seq for seq, _ in first.rejected] == [2]
    assert inbox_seqs(engine, "st-01") == [(1, "applied"), (2, "rejected"), (3, "applied")]


def test_one_event_id_in_two_stations_batches_of_one_group_is_applied_once(engine: Engine):
    one = journal("st-01", 1)
    two = Journal("st-02")
    taken = one.events[0]
    two.events.append(protocol.seal(1, taken.kind, taken.data, two.last_hash, event_id=taken.id))

    results = ingest_group(engine, [Delivery(TENANT, two.batch()), Delivery(TENANT, one.batch())])

    assert results == [Ack(upto=1), Ack(upto=1)]
    assert inbox_seqs(engine, "st-01") == [(1, "applied")]
    assert inbox_seqs(engine, "st-02") == [(1, "duplicate-id")]
