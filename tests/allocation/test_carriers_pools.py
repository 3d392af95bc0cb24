"""Carriers (validation, cheapest qualifying choice), waybill check digits, pools granted
and topped up, station reports of used numbers, and returns at the hub — on SQLite and
PostgreSQL."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from cloud import allocation, carriers, orders, returns, stock, waybills
from cloud.config import HubConfig
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput
from cloud.ingest import ingest
from edge import protocol
from edge.protocol import utc_now, waybill_check_digit, waybill_number
from tests.cloud.factories import Journal

from .helpers import CARRIERS, TENANT, checked_order, dn_kinds, shop

CONFIG = HubConfig()


def test_s10_check_digit_matches_the_upu_example():
    # UPU S10 worked example: RR 47312482 ? GB → 9
    assert waybill_check_digit("s10", 47312482) == 9
    assert waybill_number("RR", 47312482, 8, "s10", "GB") == "RR473124829GB"
    # the two special cases: 11 − 1 = 10 → 0, 11 − 0 = 11 → 5
    tens = next(n for n in range(10**7, 10**7 + 500) if waybill_check_digit("s10", n) == 0)
    assert (
        11 - sum(int(d) * w for d, w in zip(f"{tens:08d}", protocol.S10_WEIGHTS, strict=True)) % 11
    ) in (10, 11)


@given(st.integers(min_value=0, max_value=10**10 - 1))
def test_mod7_numbers_carry_the_serial_modulo_7(serial):
    number = waybill_number("SF", serial, 10, "mod7")
    assert number[2:12] == f"{serial:010d}" and int(number[-1]) == serial % 7


def test_check_digit_inputs_are_refused_when_out_of_range():
    with pytest.raises(ValueError):
        waybill_check_digit("s10", 10**8)
    with pytest.raises(ValueError):
        waybill_check_digit("luhn", 1)
    with pytest.raises(ValueError):
        waybill_number("SF", 1000, 3, "mod7")


def test_choice_is_the_cheapest_carrier_meeting_the_service_level():
    table = [carriers.validate(c) for c in CARRIERS]
    best, why = carriers.choose(table, "广东", "standard", 2500)
    assert best is not None and (best.carrier, best.zone, str(best.price)) == (
        "EMS",
        "GD-03",
        "12.00",
    )
    assert best.sort_code == "EMS-GD-03" and "SF 16.00" in why
    fast, _ = carriers.choose(table, "广东省", "next_day", 500)
    assert fast is not None and (fast.carrier, str(fast.price)) == ("SF", "12.00")
    # only SF covers other provinces, through its "*" zone
    far, _ = carriers.choose(table, "新疆", "standard", 1000)
    assert far is not None and far.sort_code == "SF-CN-09"
    none, why = carriers.choose(table, "新疆", "scheduled", 1000)
    assert none is None and why == "no carrier delivers scheduled to 新疆"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.update(code="sf"), "code"),
        (lambda c: c.update(service_levels=["teleport"]), "service_levels"),
        (lambda c: c["rates"].pop("GD-01"), "no rate for zone GD-01"),
        (lambda c: c["rates"]["GD-01"].update(first_kg="-1"), "not an amount"),
        (lambda c: c["waybills"].update(last=0), "does not fit"),
        (lambda c: c["waybills"].update(scheme="s10"), "exactly 8"),
    ],
)
def test_bad_carriers_are_refused_with_the_reason(change, message):
    carrier = copy.deepcopy(CARRIERS[0])
    change(carrier)
    with pytest.raises(InvalidInput, match=message):
        carriers.validate(carrier)


def test_a_bad_carrier_table_writes_nothing(engine: Engine):
    with transaction(engine) as conn:
        carriers.replace_all(conn, TENANT, CARRIERS)
    broken = [CARRIERS[0], {**CARRIERS[1], "zones": {}}]
    with pytest.raises(InvalidInput), transaction(engine) as conn:
        carriers.replace_all(conn, TENANT, broken)
    with read_only(engine) as conn:
        assert [c["code"] for c in carriers.list_carriers(conn, TENANT)] == ["EMS", "SF"]


def test_pools_are_granted_in_blocks_and_topped_up_below_the_low_water_mark(engine: Engine):
    shop(engine)
    with transaction(engine) as conn:
        first = waybills.grant_block(conn, TENANT, "gz-1", "SF", 100)
        assert first is not None and (first["first"], first["last"]) == (1, 100)
        assert waybills.top_up(conn, TENANT, "gz-1", "SF", 20, 100) is None  # 100 unused
        second = waybills.grant_block(conn, TENANT, "gz-2", "SF", 100)
        assert second is not None and second["first"] == 101  # never the same number twice
        assert dn_kinds(conn, "gz-1")[-1] == "waybill.pool"
    # the station reports numbers as it prints them
    j = Journal("gz-1")
    with transaction(engine) as conn:
        order_id = checked_order(conn)
        conn.execute(
            orders.orders.update()
            .where(orders.orders.c.id == order_id)
            .values(station="gz-1", status="packed")
        )
    j.add(
        protocol.WAYBILL_USED,
        {
            "carrier": "SF",
            "block_id": first["block_id"],
            "serial": 85,
            "number": "SF00000000851",
            "order_id": order_id,
        },
    )
    j.add(
        protocol.WAYBILL_USED,
        {
            "carrier": "SF",
            "block_id": second["block_id"],
            "serial": 101,
            "number": "x",
            "order_id": order_id,
        },
    )
    ack = ingest(engine, TENANT, j.batch())
    assert ack.rejected and ack.rejected[0][0] == 2  # another station's block
    with transaction(engine) as conn:
        assert waybills.unused(conn, "gz-1", "SF") == 15
        assert orders.get_order(conn, order_id)["tracking_number"] == "SF00000000851"
        counts = allocation.sweep(conn, CONFIG, utc_now())
        assert counts["waybill_blocks"] == 1  # gz-1 fell below 20
        assert waybills.unused(conn, "gz-1", "SF") == 115
        assert waybills.unused(conn, "gz-2", "SF") == 100


def test_an_exhausted_range_raises_an_alert_instead_of_granting(engine: Engine):
    shop(engine)
    with transaction(engine) as conn:
        block = waybills.grant_block(conn, TENANT, "gz-1", "SF", 5000)
        assert block is not None and block["last"] == 1000
        assert waybills.grant_block(conn, TENANT, "gz-1", "SF", 10) is None
        from cloud.alerts import open_alerts

        assert any(a["kind"] == "waybills_exhausted" for a in open_alerts(conn))


def test_returns_at_the_hub_go_to_the_packing_station_and_come_back_restocked(engine: Engine):
    shop(engine)
    with transaction(engine) as conn:
        order_id = checked_order(conn)
        station = allocation.allocate(conn, CONFIG, order_id, utc_now())["station"]
        with pytest.raises(InvalidInput, match="only packed or shipped"):
            returns.request(conn, order_id, "too early")
        conn.execute(
            orders.orders.update().where(orders.orders.c.id == order_id).values(status="packed")
        )
        made = returns.request(conn, order_id, "broken")
        assert returns.request(conn, order_id, "again")["id"] == made["id"]
        assert dn_kinds(conn, station)[-1] == "return.expected"
        assert made["lines"] == [{"sku": "SKU-1", "qty": 2}]
    j = Journal(station)
    j.add(protocol.STOCK_MOVED, {"sku": "SKU-1", "qty": -2, "reason": "sale", "ref": order_id})
    j.add(protocol.STOCK_MOVED, {"sku": "SKU-1", "qty": 1, "reason": "return", "ref": made["id"]})
    j.add(
        protocol.RETURN_INSPECTED,
        {"return_id": made["id"], "status": "restocked", "restocked": {"SKU-1": 1}, "staff": "李"},
    )
    assert not ingest(engine, TENANT, j.batch()).rejected
    with read_only(engine) as conn:
        assert returns.get_return(conn, made["id"])["status"] == "restocked"
        view = stock.stock_view(conn, TENANT, "SKU-1")
        gz = next(s for s in view["stores"] if s["store"] == "gz")
        assert gz["on_hand"] == 19  # 20 − 2 sold + 1 back on the shelf
        assert stock.check_invariants(conn) == []
        timeline = [t["status"] for t in orders.get_order(conn, order_id)["timeline"]]
        assert timeline[-2:] == ["return_requested", "return_restocked"]
