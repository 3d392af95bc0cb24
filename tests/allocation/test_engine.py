"""The allocation rule engine on SQLite and PostgreSQL: filters, scores, decisions,
stock grants, re-allocation and urgent-first batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from cloud import allocation, orders, stock
from cloud.config import HubConfig
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput
from cloud.schema import stations
from edge.protocol import format_time, utc_now

from .helpers import TENANT, checked_order, dn_kinds, offline, shop

CONFIG = HubConfig()


@pytest.fixture
def hub_db(engine: Engine) -> Engine:
    shop(engine)
    return engine


def test_order_goes_to_a_station_in_its_province_with_the_decision_recorded(hub_db):
    with transaction(hub_db) as conn:
        order_id = checked_order(conn, province="上海市", city="上海市")
        result = allocation.allocate(conn, CONFIG, order_id, utc_now())
    assert result["station"] == "sh-1"
    with read_only(hub_db) as conn:
        order = orders.get_order(conn, order_id)
        assert order["status"] == "allocated" and order["station"] == "sh-1"
        assert order["carrier"] == "EMS" and order["sort_code"] == "EMS-SH-03"
        assert order["timeline"][-1]["status"] == "allocated"
        assert "sh-1 scored" in order["timeline"][-1]["note"]
        (decision,) = allocation.decisions(conn, order_id)
        assert decision["station"] == "sh-1"
        assert {c["station"] for c in decision["candidates"]} == {"gz-1", "gz-2", "sh-1"}
        # the order's units are granted to the station and announced before the order
        assert stock.allotment(conn, "sh-1", "SKU-1") == (2, 0)
        kinds = dn_kinds(conn, "sh-1")
        assert kinds[-3:] == ["stock.allotment", "waybill.pool", "order.assigned"]


def test_load_breaks_the_tie_between_stations_of_one_store(hub_db):
    with transaction(hub_db) as conn:
        first = allocation.allocate(conn, CONFIG, checked_order(conn), utc_now())
        second = allocation.allocate(conn, CONFIG, checked_order(conn), utc_now())
    assert {first["station"], second["station"]} == {"gz-1", "gz-2"}


def test_an_order_the_store_cannot_give_goes_elsewhere_or_stays_checked(hub_db):
    with transaction(hub_db) as conn:
        far = checked_order(conn, lines=[{"sku": "SKU-1", "qty": 30}])
        result = allocation.allocate(conn, CONFIG, far, utc_now())
        assert result["station"] is None
        assert "cannot give SKU-1" in result["reason"]
        order = orders.get_order(conn, far)
        assert order["status"] == "checked" and order["station"] is None
        assert order["timeline"][-1]["note"].startswith("not allocated")
        stock.receive(conn, TENANT, "sh", "SKU-1", 20, "po")
        moved = allocation.allocate(conn, CONFIG, far, utc_now())
    assert moved["station"] == "sh-1"  # the only store that now has 30


def test_no_carrier_for_the_service_level_leaves_the_order_checked(hub_db):
    with transaction(hub_db) as conn:
        order_id = checked_order(conn, service_level="scheduled", province="北京市", city="北京市")
        result = allocation.allocate(conn, CONFIG, order_id, utc_now())
    assert result["station"] is None
    assert result["reason"] == "no carrier delivers scheduled to 北京"


def test_the_cheapest_carrier_that_meets_the_service_level_is_chosen(hub_db):
    with transaction(hub_db) as conn:
        standard = checked_order(conn)
        fast = checked_order(conn, service_level="next_day")
        allocation.allocate(conn, CONFIG, standard, utc_now())
        allocation.allocate(conn, CONFIG, fast, utc_now())
        assert orders.get_order(conn, standard)["carrier"] == "EMS"  # 8.00 < 12.00
        assert orders.get_order(conn, fast)["carrier"] == "SF"  # EMS has no next_day


def test_offline_stations_are_penalised_then_excluded_past_the_timeout(hub_db):
    now = datetime.now(UTC)
    with transaction(hub_db) as conn:
        offline(conn, "gz-1")
        offline(conn, "gz-2")
        order_id = checked_order(conn)
        result = allocation.allocate(conn, CONFIG, order_id, format_time(now))
        # both Guangzhou stations just went offline: penalised below Shanghai
        assert result["station"] == "sh-1"
        conn.execute(
            update(stations)
            .where(stations.c.id.in_(["gz-1", "gz-2"]))
            .values(last_seen=format_time(now - timedelta(hours=1)))
        )
        second = allocation.allocate(conn, CONFIG, checked_order(conn), format_time(now))
        verdicts = {c["station"]: c for c in second["candidates"]}
    assert verdicts["gz-1"]["why"] == "offline past the timeout"


def test_urgent_orders_are_allocated_first(hub_db):
    with transaction(hub_db) as conn:
        # only 20 of SKU-2 in Guangzhou and 20 in Shanghai: the urgent order comes first
        slow = checked_order(
            conn, lines=[{"sku": "SKU-2", "qty": 20}], created_at="2026-01-01T08:00:00.000Z"
        )
        urgent = checked_order(
            conn,
            lines=[{"sku": "SKU-2", "qty": 20}],
            service_level="next_day",
            created_at="2026-01-01T09:00:00.000Z",
        )
        # a batch of one: the newer, urgent order still goes first
        done = allocation.allocate_pending(conn, CONFIG, utc_now(), limit=1)
        done += allocation.allocate_pending(conn, CONFIG, utc_now(), limit=1)
        assert allocation.allocate_pending(conn, CONFIG, utc_now(), limit=1) == []
    assert [d["order_id"] for d in done] == [urgent, slow]
    assert done[0]["station"] in ("gz-1", "gz-2")
    assert done[1]["station"] == "sh-1"


def test_reallocation_revokes_at_the_old_station_and_releases_its_grant(hub_db):
    now = datetime.now(UTC)
    with transaction(hub_db) as conn:
        order_id = checked_order(conn)
        first = allocation.allocate(conn, CONFIG, order_id, format_time(now))["station"]
        offline(conn, first)
        conn.execute(
            update(stations)
            .where(stations.c.id == first)
            .values(last_seen=format_time(now - timedelta(hours=1)))
        )
        assert allocation.stranded(conn, CONFIG, format_time(now)) == [order_id]
        counts = allocation.sweep(conn, CONFIG, format_time(now))
        assert counts["moved"] == 1
        order = orders.get_order(conn, order_id)
        assert order["station"] not in (first, None)
        assert [t["status"] for t in order["timeline"]][-2:] == ["revoked", "allocated"]
        assert dn_kinds(conn, first)[-2:] == ["order.revoked", "stock.allotment"]
        assert stock.allotment(conn, first, "SKU-1") == (0, 0)
        assert stock.check_invariants(conn) == []
        assert len(allocation.decisions(conn, order_id)) == 2


def test_an_order_being_packed_cannot_be_moved(hub_db):
    with transaction(hub_db) as conn:
        order_id = checked_order(conn)
        allocation.allocate(conn, CONFIG, order_id, utc_now())
        conn.execute(
            update(orders.orders).where(orders.orders.c.id == order_id).values(status="packing")
        )
        with pytest.raises(InvalidInput, match="can no longer be moved"):
            allocation.reallocate(conn, CONFIG, order_id, "ops@example.com", utc_now())


def test_a_stations_own_orders_are_never_moved(hub_db):
    now = datetime.now(UTC)
    with transaction(hub_db) as conn:
        own = checked_order(conn)
        conn.execute(
            update(orders.orders)
            .where(orders.orders.c.id == own)
            .values(station="gz-1", status="open", channel="kiosk")
        )
        offline(conn, "gz-1")
        conn.execute(
            update(stations)
            .where(stations.c.id == "gz-1")
            .values(last_seen=format_time(now - timedelta(hours=1)))
        )
        assert allocation.stranded(conn, CONFIG, format_time(now)) == []
        with pytest.raises(InvalidInput, match="not allocated by the hub"):
            allocation.reallocate(conn, CONFIG, own, "ops", utc_now())


def test_only_checked_orders_are_allocated(hub_db):
    with transaction(hub_db) as conn:
        order_id = checked_order(conn)
        allocation.allocate(conn, CONFIG, order_id, utc_now())
        with pytest.raises(InvalidInput):
            allocation.allocate(conn, CONFIG, order_id, utc_now())


def test_without_a_carrier_table_orders_are_still_allocated(engine):
    shop(engine, with_carriers=False)
    with transaction(engine) as conn:
        result = allocation.allocate(conn, CONFIG, checked_order(conn), utc_now())
        assert result["station"] in ("gz-1", "gz-2")
        assert "carrier" not in orders.get_order(conn, result["order_id"])
