"""Station ↔ hub over a real mosquitto: everything arrives exactly once, on SQLite and
PostgreSQL, through broker restarts and long offline periods."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cloud import stock as hub_stock
from cloud.db import read_only, transaction
from cloud.schema import inbox
from edge import protocol
from edge.store import catalog, journal, orders, outbox, stock
from tests.hub.conftest import wait

pytestmark = pytest.mark.slow


def hub_count(hub, station: str) -> int:
    with read_only(hub.engine) as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(inbox).where(inbox.c.station == station)
            ).scalar()
            or 0
        )


def known(hub, station: str) -> bool:
    from cloud import registry
    from cloud.errors import NotFound

    with read_only(hub.engine) as conn:
        try:
            return registry.get_station(conn, station).get("store") is not None
        except NotFound:
            return False


def synced(agent) -> bool:
    return outbox.depth(agent.store.conn()) == 0


def test_every_station_event_reaches_the_hub_exactly_once(hub, station_factory):
    agent = station_factory("st-01")
    with agent.store.write() as conn:
        for i in range(300):
            journal.append(conn, protocol.STAFF_LOGIN, {"staff": f"s{i}"})
    last = journal.last_seq(agent.store.conn())
    wait(lambda: synced(agent), what="station outbox drained")
    assert hub_count(hub, "st-01") == last
    with read_only(hub.engine) as conn:
        seqs = [
            r[0]
            for r in conn.execute(
                select(inbox.c.seq).where(inbox.c.station == "st-01").order_by(inbox.c.seq)
            )
        ]
    assert seqs == list(range(1, last + 1))


def test_broker_restart_mid_sync_loses_and_doubles_nothing(hub, station_factory, broker):
    agent = station_factory("st-01")
    wait(lambda: synced(agent), what="initial sync")
    broker.stop()
    with agent.store.write() as conn:
        for i in range(500):
            journal.append(conn, protocol.STAFF_LOGIN, {"staff": f"s{i}"})
    broker.restart()
    wait(lambda: synced(agent), timeout=30, what="backlog after the broker came back")
    assert hub_count(hub, "st-01") == journal.last_seq(agent.store.conn())


def test_catalog_and_allotments_flow_down_and_sales_come_back(hub, station_factory):
    agent = station_factory("st-01", seed_orders=0)
    wait(lambda: known(hub, "st-01"), what="the hub knows the station and its store")
    from cloud.catalog import put_catalog

    with transaction(hub.engine) as conn:
        put_catalog(
            conn,
            "test",
            [
                {
                    "sku": "TEA-1",
                    "name": "乌龙茶",
                    "name_en": "Oolong",
                    "price": "6.00",
                    "category": "饮料 Drinks",
                    "barcodes": ["6901234567892"],
                }
            ],
        )
        hub_stock.receive(conn, "test", "store-01", "TEA-1", 10)
        hub_stock.grant(conn, "st-01", "TEA-1", 4)
    wait(lambda: stock.sellable(agent.store.conn(), "TEA-1") == 4, what="allotment applied")
    assert catalog.get(agent.store.conn(), "TEA-1")["name"] == "乌龙茶"
    with agent.store.write() as conn:
        order = orders.create(
            conn,
            station="st-01",
            channel="kiosk",
            lines=[{"sku": "TEA-1", "name": "乌龙茶", "qty": 3, "unit_price": "6.00"}],
        )
        stock.move(conn, "TEA-1", -3, "sale", order["id"])
    wait(lambda: synced(agent), what="sale synced")
    with read_only(hub.engine) as conn:
        view = hub_stock.stock_view(conn, "test", "TEA-1")
        assert hub_stock.check_invariants(conn) == []
    assert view["on_hand"] == 7
    [st] = view["stations"]
    assert (st["station"], st["allotted"], st["sold"]) == ("st-01", 4, 3)


def test_a_station_running_low_is_topped_up_by_the_hub(hub, station_factory):
    agent = station_factory("st-01", seed_orders=0)
    wait(lambda: known(hub, "st-01"), what="station known")
    with transaction(hub.engine) as conn:
        hub_stock.receive(conn, "test", "store-01", "DRK-001", 30)
        hub_stock.grant(conn, "st-01", "DRK-001", 6)
    wait(lambda: stock.sellable(agent.store.conn(), "DRK-001") == 6, what="granted")
    with agent.store.write() as conn:
        stock.move(conn, "DRK-001", -2, "sale", "o-1")  # 4 left: below the low-water mark
    wait(lambda: stock.sellable(agent.store.conn(), "DRK-001") > 4, what="topped up")
    with read_only(hub.engine) as conn:
        assert hub_stock.check_invariants(conn) == []
