"""The exception queue: list by reason, release (waive, re-check, allocate), cancel, with
who, when and why recorded."""

from __future__ import annotations

import pytest

from cloud import exceptions, intake, stock
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput, NotFound
from cloud.orders import get_order

from .conftest import STORE, TENANT, order_body

AT = "2030-01-01T09:00:00.000Z"


def held(engine, config, external_id="T-1", **change):
    order, _ = intake.submit(engine, config, TENANT, order_body(external_id, **change))
    assert order["status"] == "exception"
    return order


def test_the_queue_lists_held_orders_with_reasons_and_filters_by_kind(engine, config):
    unpaid = held(engine, config, "T-1", payment_status="unpaid")
    pricey = held(engine, config, "T-2", lines=[{"sku": "TV-1", "qty": 2}])
    intake.submit(
        engine, config, TENANT, order_body("T-3", customer={"name": "钱七", "phone": "13700137000"})
    )
    with read_only(engine) as conn:
        everything = exceptions.list_queue(conn, TENANT)
        only_unpaid = exceptions.list_queue(conn, TENANT, "unpaid")
        other_tenant = exceptions.list_queue(conn, "other")
        with pytest.raises(InvalidInput, match="unknown reason"):
            exceptions.list_queue(conn, TENANT, "bogus")
    assert [o["id"] for o in everything] == [unpaid["id"], pricey["id"]]
    assert everything[0]["reasons"][0]["reason"] == "unpaid"
    assert everything[1]["reasons"][0]["message"].startswith("order total 9998.00")
    assert [o["id"] for o in only_unpaid] == [unpaid["id"]]
    assert other_tenant == []


def test_release_waives_the_reasons_rechecks_and_records_the_decision(engine, config):
    order = held(engine, config, payment_status="unpaid")
    with transaction(engine) as conn:
        outcome = exceptions.release(
            conn, config, order["id"], "王经理", "paid by bank transfer", AT
        )
        after = get_order(conn, order["id"])
        decisions = exceptions.decisions(conn, order["id"])
        queue = exceptions.list_queue(conn, TENANT)
    assert outcome == {"status": "checked", "waived": ["unpaid"], "reasons": []}
    assert after["status"] == "checked"
    released, checked = after["timeline"][2:4]
    assert released["status"] == "released" and released["source"] == "person"
    assert released["data"] == {"by": "王经理", "waived": ["unpaid"]}
    assert "paid by bank transfer" in released["note"] and released["at"] == AT
    assert checked["status"] == "checked"
    assert decisions == [
        {
            "reason": "unpaid",
            "message": "payment status is unpaid: held until paid",
            "raised_at": order["created_at"],
            "decision": "released",
            "decided_by": "王经理",
            "decided_at": AT,
            "note": "paid by bank transfer",
        }
    ]
    assert queue == []


def test_release_holds_again_when_another_check_now_fails(engine, config):
    order = held(engine, config, lines=[{"sku": "TV-1", "qty": 2}])
    with transaction(engine) as conn:  # the stock went while the order waited
        stock.adjust(conn, TENANT, STORE, "TV-1", -9)
    with transaction(engine) as conn:
        outcome = exceptions.release(conn, config, order["id"], "ops", "", AT)
        queue = exceptions.list_queue(conn, TENANT)
        after = get_order(conn, order["id"])
    assert outcome == {
        "status": "exception",
        "waived": ["high_value"],
        "reasons": ["insufficient_stock"],
    }
    assert [r["reason"] for r in queue[0]["reasons"]] == ["insufficient_stock"]
    assert after["timeline"][-1]["data"] == {"reasons": ["insufficient_stock"]}


def test_a_released_duplicate_does_not_count_itself(engine, config):
    intake.submit(engine, config, TENANT, order_body("T-1"))
    dup = held(engine, config, "T-2")
    with transaction(engine) as conn:
        outcome = exceptions.release(conn, config, dup["id"], "ops", "customer wants two", AT)
    assert outcome["status"] == "checked" and outcome["waived"] == ["duplicate_order"]


def test_cancel_records_who_when_and_why(engine, config):
    order = held(engine, config, customer={"name": "张三", "phone": "123"})
    with transaction(engine) as conn:
        outcome = exceptions.cancel(conn, order["id"], "ops", "fake order", AT)
        after = get_order(conn, order["id"])
        decisions = exceptions.decisions(conn, order["id"])
    assert outcome == {"status": "cancelled", "reasons": ["phone_invalid"]}
    assert after["status"] == "cancelled"
    assert after["timeline"][-1]["status"] == "cancelled"
    assert after["timeline"][-1]["data"] == {"by": "ops", "reasons": ["phone_invalid"]}
    assert decisions[0]["decision"] == "cancelled" and decisions[0]["decided_by"] == "ops"


def test_only_held_orders_can_be_decided(engine, config):
    clean, _ = intake.submit(engine, config, TENANT, order_body())
    order = held(engine, config, "T-2", payment_status="unpaid")
    with transaction(engine) as conn:
        exceptions.cancel(conn, order["id"], "ops", "", AT)
    for order_id in (clean["id"], order["id"]):
        with pytest.raises(exceptions.NotHeld), transaction(engine) as conn:
            exceptions.release(conn, config, order_id, "ops", "", AT)
        with pytest.raises(exceptions.NotHeld), transaction(engine) as conn:
            exceptions.cancel(conn, order_id, "ops", "", AT)
    with pytest.raises(NotFound), transaction(engine) as conn:
        exceptions.cancel(conn, "nope", "ops", "", AT)
    with pytest.raises(InvalidInput, match="who decided"), transaction(engine) as conn:
        exceptions.cancel(conn, order["id"], "", "", AT)
