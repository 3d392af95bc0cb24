"""Stock ledger and allotments: no store can oversell, even with stations offline."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from cloud import alerts, outbox, stock
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput, InvariantViolation, NoStore
from cloud.ingest import ingest
from cloud.schema import stock_ledger
from edge import protocol
from edge.wire import Ack

from .factories import STORE, TENANT, Journal, register


@pytest.fixture
def shop(engine: Engine) -> Engine:
    """st-01 and st-02 in store-01 with 10 of SKU-1; st-03 in store-02 with 5."""
    register(engine, "st-01", "st-02")
    register(engine, "st-03", store="store-02")
    with transaction(engine) as conn:
        stock.receive(conn, TENANT, STORE, "SKU-1", 10, "po-1")
        stock.receive(conn, TENANT, "store-02", "SKU-1", 5, "po-2")
    return engine


def view(engine: Engine, sku: str = "SKU-1") -> dict:
    with read_only(engine) as conn:
        return stock.stock_view(conn, TENANT, sku)


def invariants(engine: Engine) -> list[str]:
    with read_only(engine) as conn:
        return stock.check_invariants(conn)


def test_grants_are_refused_beyond_what_is_on_hand(shop: Engine):
    with transaction(shop) as conn:
        event = stock.grant(conn, "st-01", "SKU-1", 6)
        assert event.kind == protocol.STOCK_ALLOTMENT
        assert event.data == {"sku": "SKU-1", "qty": 6, "allotted": 6}
        stock.grant(conn, "st-02", "SKU-1", 4)
    with pytest.raises(InvariantViolation, match="only 0 unallotted"), transaction(shop) as conn:
        stock.grant(conn, "st-01", "SKU-1", 1)
    with transaction(shop) as conn:
        stock.grant(conn, "st-03", "SKU-1", 5)  # another store has its own stock
    assert invariants(shop) == []
    with read_only(shop) as conn:
        assert [e.kind for e in outbox.pending_dn(shop, "st-01", 0)] == [protocol.STOCK_ALLOTMENT]
        assert stock.allotment(conn, "st-01", "SKU-1") == (6, 0)


def test_grants_need_a_positive_whole_quantity_and_a_store(shop: Engine):
    register(shop, "st-04", store="store-01")
    with transaction(shop) as conn:
        for bad in (0, -1, 1.5, True, "3"):
            with pytest.raises(InvalidInput):
                stock.grant(conn, "st-01", "SKU-1", bad)  # type: ignore[arg-type]
    with transaction(shop) as conn:
        from cloud import registry

        registry.ensure_station(conn, TENANT, "st-new")
        with pytest.raises(NoStore):
            stock.grant(conn, "st-new", "SKU-1", 1)


def test_sales_reduce_sold_and_on_hand_together(shop: Engine):
    with transaction(shop) as conn:
        stock.grant(conn, "st-01", "SKU-1", 6)
    j = Journal("st-01")
    j.move("SKU-1", 6, "allotment", "grant")  # the grant echoed back: counted already
    j.move("SKU-1", -2, "sale", "order-1")
    j.move("SKU-1", -1, "sale", "order-2")
    j.move("SKU-1", 1, "release", "order-2")  # order-2 cancelled at the station
    j.move("SKU-1", 1, "return", "order-1")
    assert ingest(shop, TENANT, j.batch(), topup=None) == Ack(upto=5)

    v = view(shop)
    assert v["stations"][0] == {
        "station": "st-01",
        "store": STORE,
        "allotted": 6,
        "sold": 1,
        "remaining": 5,
    }
    store = next(s for s in v["stores"] if s["store"] == STORE)
    assert store == {"store": STORE, "on_hand": 9, "committed": 5, "unallotted": 4}
    assert (v["on_hand"], v["sold"], v["committed"], v["unallotted"]) == (14, 1, 5, 9)
    assert invariants(shop) == []
    with read_only(shop) as conn:
        reasons = conn.execute(
            select(stock_ledger.c.reason, stock_ledger.c.qty, stock_ledger.c.station)
            .where(stock_ledger.c.store == STORE)
            .order_by(stock_ledger.c.id)
        ).all()
    assert [tuple(r) for r in reasons] == [
        ("receipt", 10, None),
        ("sale", -2, "st-01"),
        ("sale", -1, "st-01"),
        ("release", 1, "st-01"),
        ("return", 1, "st-01"),
    ]


def test_two_stations_selling_the_last_units_cannot_oversell(shop: Engine):
    """Both offline, both selling: each sells at most its allotment, so the store never
    sells more than it had; and a station that does oversell is caught."""
    with transaction(shop) as conn:
        stock.grant(conn, "st-01", "SKU-1", 7)
        stock.grant(conn, "st-02", "SKU-1", 3)
        with pytest.raises(InvariantViolation):
            stock.grant(conn, "st-02", "SKU-1", 1)
    a, b = Journal("st-01"), Journal("st-02")
    for _ in range(7):
        a.move("SKU-1", -1, "sale")
    for _ in range(3):
        b.move("SKU-1", -1, "sale")
    ingest(shop, TENANT, b.batch())
    ingest(shop, TENANT, a.batch())
    v = view(shop)
    assert [(s["station"], s["remaining"]) for s in v["stations"]] == [("st-01", 0), ("st-02", 0)]
    assert v["stores"][0]["on_hand"] == 0
    assert invariants(shop) == []

    b.move("SKU-1", -1, "sale")  # a misbehaving station sells without an allotment
    ingest(shop, TENANT, b.batch())
    problems = invariants(shop)
    assert any("st-02 sold 4 of SKU-1 but was allotted 3" in p for p in problems)
    assert any("oversold" in p for p in problems)
    with read_only(shop) as conn:
        assert alerts.open_alerts(conn, kind="oversold")


def test_release_gives_allotment_back_with_a_negative_dn_event(shop: Engine):
    with transaction(shop) as conn:
        stock.grant(conn, "st-01", "SKU-1", 6)
        event = stock.release(conn, "st-01", "SKU-1", 4)
        assert event.data == {"sku": "SKU-1", "qty": -4, "allotted": 2}
        with pytest.raises(InvariantViolation):
            stock.release(conn, "st-01", "SKU-1", 3)
    assert view(shop)["stores"][0]["unallotted"] == 8


def test_an_adjustment_may_not_take_what_stations_may_still_sell(shop: Engine):
    with transaction(shop) as conn:
        stock.grant(conn, "st-01", "SKU-1", 8)
        with pytest.raises(InvariantViolation, match="release allotments first"):
            stock.adjust(conn, TENANT, STORE, "SKU-1", -3, "damaged")
        assert stock.adjust(conn, TENANT, STORE, "SKU-1", -2, "damaged") == 8
    assert invariants(shop) == []


def test_receipts_and_adjustments_made_at_a_station_move_its_allotment(shop: Engine):
    j = Journal("st-02")
    j.move("SKU-9", 5, "receipt", "delivery-7")
    j.move("SKU-9", -1, "adjustment", "broken")
    ingest(shop, TENANT, j.batch())
    v = view(shop, "SKU-9")
    assert v["on_hand"] == 4 and v["stations"][0]["remaining"] == 4
    assert invariants(shop) == []


def test_topup_policy_grants_below_low_water_only(shop: Engine):
    with transaction(shop) as conn:
        assert stock.topup_policy(conn, "st-01", "SKU-1", low_water=3, batch=4) == 4
        assert stock.topup_policy(conn, "st-01", "SKU-1", low_water=3, batch=4) == 0
        assert stock.topup_policy(conn, "st-02", "SKU-1", low_water=3, batch=20) == 6
        assert stock.topup_policy(conn, "st-02", "SKU-1", low_water=99, batch=20) == 0


def test_a_topup_request_from_a_station_is_answered_by_a_grant(shop: Engine):
    from cloud.apply import TopupPolicy

    j = Journal("st-01")
    j.add(protocol.STOCK_TOPUP_REQUEST, {"sku": "SKU-1", "qty": 3})
    ingest(shop, TENANT, j.batch(), topup=TopupPolicy(low_water=2, batch=5))
    events = outbox.pending_dn(shop, "st-01", 0)
    assert [(e.kind, e.data["qty"]) for e in events] == [(protocol.STOCK_ALLOTMENT, 3)]
    j.add(protocol.STOCK_TOPUP_REQUEST, {"sku": "SKU-1"})
    ingest(shop, TENANT, j.batch(), topup=TopupPolicy(low_water=2, batch=5))
    assert len(outbox.pending_dn(shop, "st-01", 0)) == 1  # 3 left ≥ low water: nothing


def test_a_grant_the_station_rejects_is_taken_back(shop: Engine):
    with transaction(shop) as conn:
        event = stock.grant(conn, "st-01", "SKU-1", 6)
    outbox.record_dn_ack(shop, "st-01", Ack(upto=event.seq, rejected=((event.seq, "bad sku"),)))
    assert view(shop)["stations"][0]["allotted"] == 0
    # The same rejection reported again (as an up event) changes nothing more.
    j = Journal("st-01")
    j.add(protocol.DN_REJECTED, {"seq": event.seq, "reason": "bad sku"})
    ingest(shop, TENANT, j.batch())
    assert view(shop)["stations"][0]["allotted"] == 0
    assert invariants(shop) == []


_STATIONS = ("st-01", "st-02")
_op = st.one_of(
    st.tuples(st.just("receive"), st.just(""), st.integers(1, 20)),
    st.tuples(st.just("adjust"), st.just(""), st.integers(-10, 10).filter(bool)),
    st.tuples(st.just("grant"), st.sampled_from(_STATIONS), st.integers(1, 15)),
    st.tuples(st.just("release"), st.sampled_from(_STATIONS), st.integers(1, 10)),
    st.tuples(st.just("sell"), st.sampled_from(_STATIONS), st.integers(1, 10)),
    st.tuples(st.just("return"), st.sampled_from(_STATIONS), st.integers(1, 5)),
    st.tuples(st.just("reject_grant"), st.sampled_from(_STATIONS), st.integers(1, 5)),
)


def test_the_invariant_holds_after_any_sequence_of_movements(shop: Engine):
    journals = {s: Journal(s) for s in _STATIONS}

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ops=st.lists(_op, min_size=1, max_size=15))
    def run(ops: list[tuple[str, str, int]]) -> None:
        sku = f"R-{uuid.uuid4().hex[:8]}"
        expected_on_hand = 0
        for op, station, qty in ops:
            with read_only(shop) as conn:
                allotted, sold = stock.allotment(conn, station, sku) if station else (0, 0)
            try:
                with transaction(shop) as conn:
                    if op == "receive":
                        stock.receive(conn, TENANT, STORE, sku, qty)
                        expected_on_hand += qty
                    elif op == "adjust":
                        stock.adjust(conn, TENANT, STORE, sku, qty)
                        expected_on_hand += qty
                    elif op == "grant":
                        stock.grant(conn, station, sku, qty)
                    elif op == "release":
                        stock.release(conn, station, sku, qty)
                    elif op == "reject_grant":
                        event = stock.grant(conn, station, sku, qty)
            except InvariantViolation:
                continue
            if op == "reject_grant":
                outbox.record_dn_ack(
                    shop, station, Ack(upto=event.seq, rejected=((event.seq, "test"),))
                )
            if op in {"sell", "return"}:
                # A station sells only what it may; returns only what it sold.
                n = min(qty, allotted - sold) if op == "sell" else min(qty, sold)
                if n > 0:
                    journals[station].move(
                        sku, -n if op == "sell" else n, "sale" if op == "sell" else "return"
                    )
                    assert ingest(shop, TENANT, journals[station].batch()).rejected == ()
                    expected_on_hand += -n if op == "sell" else n
            assert invariants(shop) == []
            with read_only(shop) as conn:
                assert stock.stock_view(conn, TENANT, sku)["on_hand"] == expected_on_hand

    run()


def test_a_batch_mixing_sales_and_a_topup_sees_each_event_in_order(shop: Engine):
    """A grant in the middle of a batch (which writes directly) sees the sales before it,
    and the sales after it see the grant."""
    from cloud.apply import TopupPolicy

    with transaction(shop) as conn:
        stock.grant(conn, "st-01", "SKU-1", 3)
    j = Journal("st-01")
    j.move("SKU-1", -2, "sale")
    j.add(protocol.STOCK_TOPUP_REQUEST, {"sku": "SKU-1"})
    j.move("SKU-1", -1, "sale")
    j.move("SKU-1", -4, "sale")
    assert ingest(shop, TENANT, j.batch(), topup=TopupPolicy(low_water=2, batch=5)).rejected == ()
    v = view(shop)
    assert v["stations"][0] == {
        "station": "st-01",
        "store": STORE,
        "allotted": 8,
        "sold": 7,
        "remaining": 1,
    }
    assert v["stores"][0]["on_hand"] == 3
    assert invariants(shop) == []
