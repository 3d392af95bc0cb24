import pytest

from edge import protocol
from edge.store import Conflict, NotFound, Store, catalog, journal, kv, orders, stock

LINE = {"sku": "A1", "name": "可乐", "name_en": "Cola", "qty": 2, "unit_price": "3.50"}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.write() as conn:
        catalog.upsert(
            conn,
            [
                {
                    "sku": "A1",
                    "name": "可乐",
                    "name_en": "Cola",
                    "price": "3.5",
                    "barcodes": ["6901234567892"],
                    "bin": "A-01-1",
                }
            ],
        )
    yield s
    s.close()


def test_create_writes_order_lines_timeline_and_event(store):
    with store.write() as conn:
        order = orders.create(conn, station="st-01", channel="kiosk", lines=[LINE])
    assert order["number"] == "ST-01-000001"
    assert order["total"] == "7.00"
    assert order["timeline"][0]["status"] == "open"
    events = journal.since(store.conn(), 0)
    assert events[-1].kind == protocol.ORDER_CREATED
    assert events[-1].data["order"]["id"] == order["id"]


def test_state_machine_rejects_illegal_moves(store):
    with store.write() as conn:
        order = orders.create(conn, station="st-01", channel="kiosk", lines=[LINE])
        with pytest.raises(Conflict):
            orders.transition(conn, order["id"], "shipped")
        orders.transition(conn, order["id"], "packing")
        with pytest.raises(Conflict):
            orders.transition(conn, order["id"], "cancelled")


def test_pack_unit_counts_and_detects_over_scan_and_wrong_item(store):
    with store.write() as conn:
        order = orders.create(conn, station="st-01", channel="kiosk", lines=[LINE])
        _, done = orders.pack_unit(conn, order["id"], "A1")
        assert not done
        _, done = orders.pack_unit(conn, order["id"], "A1")
        assert done
        with pytest.raises(Conflict):
            orders.pack_unit(conn, order["id"], "A1")
        with pytest.raises(NotFound):
            orders.pack_unit(conn, order["id"], "B2")


def test_exception_and_release_resets_counts(store):
    with store.write() as conn:
        order = orders.create(conn, station="st-01", channel="kiosk", lines=[LINE])
        orders.transition(conn, order["id"], "packing")
        orders.pack_unit(conn, order["id"], "A1")
        flagged = orders.flag_exception(conn, order["id"], "damaged")
        assert flagged["status"] == "exception"
        released = orders.release_exception(conn, order["id"], "ok now")
    assert released["status"] == "open"
    assert released["lines"][0]["packed_qty"] == 0


def test_stock_is_a_ledger_and_never_negative(store):
    with store.write() as conn:
        stock.move(conn, "A1", 5, "receipt")
        stock.move(conn, "A1", -3, "sale", "o1")
        with pytest.raises(Conflict):
            stock.move(conn, "A1", -3, "sale", "o2")
    assert stock.summary(store.conn(), "A1") == {"sellable": 2, "receipt": 5, "sale": -3}


def test_find_by_code_accepts_every_gtin_form(store):
    conn = store.conn()
    for code in ("6901234567892", "06901234567892", "A1"):
        found = catalog.find_by_code(conn, code)
        assert found is not None and found["sku"] == "A1"
    assert catalog.find_by_code(conn, "0000000000000") is None


def test_search_escapes_like_wildcards(store):
    conn = store.conn()
    assert [p["sku"] for p in catalog.search(conn, "可")] == ["A1"]
    assert catalog.search(conn, "%") == []
    assert [p["sku"] for p in catalog.search(conn, "cola")] == ["A1"]


def test_order_numbers_count_up_and_the_counter_reads_as_a_number(store):
    with store.write() as conn:
        numbers = [
            orders.create(conn, station="st-01", channel="kiosk", lines=[LINE])["number"]
            for _ in range(3)
        ]
    assert numbers == ["ST-01-000001", "ST-01-000002", "ST-01-000003"]
    assert kv.get(store.conn(), "order_counter") == 3


def test_an_order_of_many_lines_keeps_them_all_in_order(store):
    lines = [{**LINE, "qty": n} for n in range(1, 251)]
    with store.write() as conn:
        made = orders.create(conn, station="st-01", channel="kiosk", lines=lines)
    again = orders.get(store.conn(), made["id"])
    assert [l["qty"] for l in again["lines"]] == list(range(1, 251))
    assert [l["line_no"] for l in again["lines"]] == list(range(1, 251))
    assert again["lines"] == made["lines"]


def test_numbering_goes_on_from_a_counter_kept_by_an_earlier_version(store):
    with store.write() as conn:
        kv.put(conn, "order_counter", 41)
        made = orders.create(conn, station="st-01", channel="kiosk", lines=[LINE])
    assert made["number"] == "ST-01-000042"
    assert kv.get(store.conn(), "order_counter") == 42
