"""Every intake check, on SQLite and PostgreSQL: clean orders pass, each rule holds an
order with its reason code, bad input is refused with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cloud import checks, intake, stock
from cloud.config import HubConfig
from cloud.db import read_only, transaction
from cloud.errors import InvalidInput
from cloud.schema import order_timeline, orders
from cloud.schema_intake import order_exceptions

from .conftest import STORE, TENANT, order_body


def submit(engine, config, body, key=None):
    return intake.submit(engine, config, TENANT, body, key)


def count(engine, table=orders) -> int:
    with read_only(engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_clean_order_is_checked_with_prices_address_parts_and_timeline(engine, config):
    order, created = submit(engine, config, order_body())
    assert created and order["status"] == "checked"
    assert order["number"].startswith("HB") and order["station"] is None
    assert order["lines"] == [{"sku": "TEA-1", "qty": 2, "name": "绿茶", "price": "5.50"}]
    assert order["total"] == "11.00"
    assert order["address_parts"] == {
        "province": "广东省",
        "city": "深圳市",
        "district": "南山区",
        "street": "科技园路1号",
        "adcode": "440305",
    }
    # no station can take it yet: allocation leaves it checked (and may say why)
    assert [t["status"] for t in order["timeline"]][:2] == ["received", "checked"]
    assert {t["status"] for t in order["timeline"]} == {"received", "checked"}
    assert all(t["at"] == order["created_at"] for t in order["timeline"])


RULES = [
    ("address_incomplete", {"address": "科技园路1号"}),
    ("address_incomplete", {"address": "广东省深圳市"}),
    ("address_inconsistent", {"address": "广东省杭州市西湖区文三路1号"}),
    ("address_inconsistent", {"address": "浙江省深圳市南山区科技园路1号"}),
    ("phone_invalid", {"customer": {"name": "张三", "phone": "12345"}}),
    ("phone_invalid", {"customer": {"name": "张三", "phone": "not a number"}}),
    ("unknown_sku", {"lines": [{"sku": "NOPE-1", "qty": 1}]}),
    ("insufficient_stock", {"lines": [{"sku": "COLA-1", "qty": 501}]}),
    ("high_value", {"lines": [{"sku": "TV-1", "qty": 2}]}),
    ("unpaid", {"payment_status": "unpaid"}),
    ("unpaid", {"payment_status": "pending"}),
]


@pytest.mark.parametrize(
    ("reason", "change"), RULES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(RULES)]
)
def test_each_rule_holds_the_order_with_its_reason(engine, config, reason, change):
    order, _ = submit(engine, config, order_body(**change))
    assert order["status"] == "exception"
    held = order["timeline"][-1]
    assert held["status"] == "exception" and held["data"]["reasons"] == [reason]
    with read_only(engine) as conn:
        rows = conn.execute(
            select(order_exceptions.c.reason, order_exceptions.c.decision).where(
                order_exceptions.c.order_id == order["id"]
            )
        ).all()
    assert [tuple(r) for r in rows] == [(reason, None)]


def test_valid_numbers_pass_the_phone_check():
    for phone in (
        "13800138000",
        "+86 138 0013 8000",
        "010-12345678",
        "0755 8888 6666",
        "+1 650 253 0000",
    ):
        assert checks.check_phone(phone) is None, phone


def test_several_findings_are_all_recorded(engine, config):
    order, _ = submit(
        engine,
        config,
        order_body(
            customer={"name": "李四", "phone": "123"},
            payment_status="unpaid",
            lines=[{"sku": "TV-1", "qty": 2}, {"sku": "NOPE", "qty": 1}],
        ),
    )
    assert order["timeline"][-1]["data"]["reasons"] == [
        "phone_invalid",
        "unknown_sku",
        "high_value",
        "unpaid",
    ]


def test_same_customer_address_and_lines_within_the_window_is_a_duplicate(engine, config):
    first, _ = submit(engine, config, order_body("T-1"))
    same, _ = submit(engine, config, order_body("T-2", address="广东省深圳市南山区 科技园路1号"))
    other_lines, _ = submit(engine, config, order_body("T-3", lines=[{"sku": "TEA-1", "qty": 3}]))
    assert first["status"] == "checked"
    assert same["status"] == "exception"
    assert same["timeline"][-1]["data"]["reasons"] == ["duplicate_order"]
    assert other_lines["status"] == "checked"


def test_the_duplicate_window_is_configurable(engine, config: HubConfig):
    off = config.model_copy(
        update={"intake": config.intake.model_copy(update={"duplicate_window_s": 0})}
    )
    submit(engine, off, order_body("T-1"))
    again, _ = submit(engine, off, order_body("T-2"))
    assert again["status"] == "checked"
    # an order older than the window does not count
    with transaction(engine) as conn:
        intake.create_orders(
            conn,
            config,
            TENANT,
            [intake.validate(order_body("T-3"), config.intake)],
            "2020-01-01T00:00:00.000Z",
        )
    late, _ = submit(
        engine, config, order_body("T-4", customer={"name": "王五", "phone": "13800138000"})
    )
    assert late["status"] == "checked"


def test_high_value_threshold_and_unpaid_hold_are_configurable(engine, config: HubConfig):
    relaxed = config.model_copy(
        update={
            "intake": config.intake.model_copy(
                update={"high_value": "100000", "hold_unpaid": False}
            )
        }
    )
    order, _ = submit(
        engine,
        relaxed,
        order_body(payment_status="unpaid", lines=[{"sku": "TV-1", "qty": 2}]),
    )
    assert order["status"] == "checked"


def test_stock_counts_every_store_of_the_tenant(engine, config):
    with transaction(engine) as conn:
        stock.receive(conn, TENANT, "store-02", "TV-1", 5)
    order, _ = submit(engine, config, order_body(lines=[{"sku": "TV-1", "qty": 1}]))
    assert order["status"] == "checked"
    held, _ = submit(
        engine, config, order_body("T-2", payment_status="paid", lines=[{"sku": "TV-1", "qty": 16}])
    )
    assert "insufficient_stock" in held["timeline"][-1]["data"]["reasons"]
    with read_only(engine) as conn:
        assert stock.stock_view(conn, TENANT, "TV-1")["on_hand"] == 15
    assert STORE == "store-01"


BAD = [
    ({"channel": "ebay"}, "unknown channel"),
    ({"channel": None}, "'channel'"),
    ({"external_id": ""}, "external_id"),
    ({"external_id": "a\x00b"}, "external_id"),
    ({"customer": "张三"}, "customer"),
    ({"customer": {"name": "", "phone": "13800138000"}}, "name"),
    ({"customer": {"name": "张\x1b三", "phone": "13800138000"}}, "name"),
    ({"address": ""}, "address"),
    ({"address": "广东省" * 200}, "address"),
    ({"lines": []}, "lines"),
    ({"lines": [{"sku": "TEA-1", "qty": -1}]}, "qty"),
    ({"lines": [{"sku": "TEA-1", "qty": 0}]}, "qty"),
    ({"lines": [{"sku": "TEA-1", "qty": 1.5}]}, "qty"),
    ({"lines": [{"sku": "TEA-1", "qty": True}]}, "qty"),
    ({"lines": [{"sku": "TEA-1", "qty": "2"}]}, "qty"),
    ({"lines": [{"sku": "", "qty": 1}]}, "sku"),
    ({"lines": [{"sku": "TEA-1", "qty": 1}] * 201}, "at most"),
    ({"lines": ["TEA-1"]}, "object"),
    ({"payment_status": "maybe"}, "payment_status"),
    ({"service_level": "<b>x</b>"}, "service_level"),
]


@pytest.mark.parametrize(("change", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_is_refused_and_nothing_is_written(engine, config, change, message):
    with pytest.raises(InvalidInput, match=message):
        submit(engine, config, order_body(**change))
    assert count(engine) == 0 and count(engine, order_timeline) == 0


def test_sql_and_html_in_fields_are_kept_as_text(engine, config):
    name = "<script>alert(1)</script>'; DROP TABLE orders; --"
    order, _ = submit(
        engine,
        config,
        order_body("x' OR '1'='1", customer={"name": name, "phone": "13800138000"}),
    )
    assert order["customer"]["name"] == name and order["external_id"] == "x' OR '1'='1"
    assert count(engine) == 1


def test_the_same_channel_order_twice_is_refused(engine, config):
    submit(engine, config, order_body("T-9"))
    with pytest.raises(intake.Duplicate, match="already hub order"):
        submit(engine, config, order_body("T-9"))
    # another channel may use the same id
    other, _ = submit(
        engine,
        config,
        order_body("T-9", channel="jd", customer={"name": "赵六", "phone": "13900139000"}),
    )
    assert other["channel"] == "jd"
    assert count(engine) == 2


def test_an_idempotency_key_returns_the_first_order(engine, config):
    first, created = submit(engine, config, order_body("T-1"), key="key-1")
    again, created_again = submit(engine, config, order_body("T-1"), key="key-1")
    assert created and not created_again and again["id"] == first["id"]
    with pytest.raises(intake.Duplicate, match="another order"):
        submit(engine, config, order_body("T-2"), key="key-1")
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        submit(engine, config, order_body("T-3"), key="bad\nkey")
    assert count(engine) == 1
