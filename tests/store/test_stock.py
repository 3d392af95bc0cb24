"""Stock: a sale of several SKUs at once records what one movement per SKU would."""

from __future__ import annotations

import pytest

from edge import protocol
from edge.store import Conflict, Store, catalog, journal, kv, stock


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.write() as conn:
        catalog.upsert(
            conn,
            [
                {"sku": sku, "name": sku, "name_en": sku, "price": "1", "barcodes": [], "bin": ""}
                for sku in ("A1", "B2", "NEW-1")
            ],
        )
        stock.move(conn, "A1", 10, "receipt", "delivery-1")
        stock.move(conn, "B2", 7, "receipt", "delivery-1")
    yield s
    s.close()


def _movements(conn, ref):
    rows = conn.execute(
        "SELECT sku, qty, reason, ref FROM stock_movements WHERE ref = ? ORDER BY id", (ref,)
    )
    return [tuple(r) for r in rows]


def test_sell_records_the_movements_levels_and_events_of_one_move_each(store):
    with store.write() as conn:
        after = stock.sell(conn, [("A1", 3), ("B2", 1)], "order-1")
    conn = store.conn()
    assert after == {"A1": 7, "B2": 6}
    assert stock.sellable(conn, "A1") == 7 and stock.sellable(conn, "B2") == 6
    assert stock.summary(conn, "A1") == {"sellable": 7, "receipt": 10, "sale": -3}
    assert _movements(conn, "order-1") == [
        ("A1", -3, "sale", "order-1"),
        ("B2", -1, "sale", "order-1"),
    ]
    events = journal.since(conn, 2)
    assert [(e.kind, e.data) for e in events] == [
        (
            protocol.STOCK_MOVED,
            {"sku": "A1", "qty": -3, "reason": "sale", "ref": "order-1", "sellable": 7},
        ),
        (
            protocol.STOCK_MOVED,
            {"sku": "B2", "qty": -1, "reason": "sale", "ref": "order-1", "sellable": 6},
        ),
    ]
    assert journal.verify(conn) is None


def test_a_sale_crossing_the_low_water_mark_asks_for_a_top_up_once(store):
    with store.write() as conn:
        kv.put(conn, stock.LOW_WATER, 4)
        stock.sell(conn, [("A1", 5), ("B2", 1)], "order-1")  # A1 10 → 5, B2 7 → 6: above 4
        stock.sell(conn, [("A1", 2), ("B2", 3)], "order-2")  # A1 → 3 and B2 → 3: both cross
        stock.sell(conn, [("A1", 1)], "order-3")  # already below: no second request
    topups = [
        e.data for e in journal.since(store.conn(), 0) if e.kind == protocol.STOCK_TOPUP_REQUEST
    ]
    assert topups == [
        {"sku": "A1", "sellable": 3, "low_water": 4},
        {"sku": "B2", "sellable": 3, "low_water": 4},
    ]


def test_the_default_low_water_mark_applies_without_a_setting(store):
    with store.write() as conn:
        stock.sell(conn, [("B2", 3)], "order-1")  # 7 → 4, below the default of 5
    kinds = [e.kind for e in journal.since(store.conn(), 2)]
    assert kinds == [protocol.STOCK_MOVED, protocol.STOCK_TOPUP_REQUEST]


def test_a_sale_short_of_one_sku_changes_nothing(store):
    conn = store.conn()
    before = journal.last_seq(conn)
    with store.write() as conn:
        with pytest.raises(Conflict, match="only 7 of B2 can be sold here, 8 asked"):
            stock.sell(conn, [("A1", 2), ("B2", 8), ("NEW-1", 1)], "order-1")
        # the caller's transaction goes on: what it sees is as before the call
        assert stock.sellable(conn, "A1") == 10 and stock.sellable(conn, "B2") == 7
        assert stock.sellable(conn, "NEW-1") == 0
        assert _movements(conn, "order-1") == []
        assert journal.last_seq(conn) == before


def test_a_sku_without_stock_cannot_be_sold(store):
    with store.write() as conn, pytest.raises(Conflict, match="only 0 of NEW-1"):
        stock.sell(conn, [("NEW-1", 1)], "order-1")
    assert stock.sellable(store.conn(), "NEW-1") == 0


@pytest.mark.parametrize(
    "items", [[("A1", 0)], [("A1", -1)], [("A1", 1), ("A1", 1)]], ids=["zero", "negative", "twice"]
)
def test_bad_sales_are_refused_before_anything_is_written(store, items):
    with store.write() as conn, pytest.raises(Conflict):
        stock.sell(conn, items, "order-1")
    assert stock.sellable(store.conn(), "A1") == 10


def test_an_empty_sale_does_nothing(store):
    with store.write() as conn:
        assert stock.sell(conn, [], "order-1") == {}
    assert journal.last_seq(store.conn()) == 2
