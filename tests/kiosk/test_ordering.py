"""Self-ordering at the kiosk: quotes, coupons, points, payments, idempotency, feedback."""

from __future__ import annotations

import json
import threading

import pytest

from edge import protocol
from edge.kiosk.app import create_app
from edge.kiosk.runtime import Runtime
from edge.sample import MEMBER_PHONE, seed
from edge.store import Store, journal, loyalty, orders, print_jobs, stock
from tests.kiosk.conftest import PRINTERS

KIOSK = (
    PRINTERS
    + """
[kiosk]
card_terminal = "simulated"
card_timeout_s = 0.5

[scanners.counter]
type = "simulated"
purpose = "kiosk"
"""
)


@pytest.fixture
def kiosk(station_config):
    config = station_config(KIOSK)
    store = Store(config.db_path)
    with store.write() as conn:
        seed(conn, config.station.id)
    runtime = Runtime(config=config, store=store)
    yield runtime
    store.close()


@pytest.fixture
def page(kiosk):
    """A customer page's client: session cookie and CSRF token, no bearer token."""
    client = create_app(kiosk).test_client()
    client.get("/")
    with client.session_transaction() as session:
        csrf = session["csrf"]

    def call(method, path, body=None, key=None):
        headers = {"X-CSRF-Token": csrf}
        if key:
            headers["Idempotency-Key"] = key
        return client.open(path, method=method, json=body, headers=headers)

    call.client = client
    return call


def card_next(kiosk, outcome):
    kiosk.runtime_dir.mkdir(parents=True, exist_ok=True)
    (kiosk.runtime_dir / "card-terminal.json").write_text(json.dumps({"next": outcome}))


CART = {"lines": [{"sku": "SNK-004", "qty": 2}]}  # 2 × 15.80 = 31.60


def test_quote_totals_coupon_points_and_tax(page):
    body = {**CART, "coupon": "welcome10", "member": MEMBER_PHONE, "points": 300}
    q = page("POST", "/api/v1/cart/quote", body).json
    assert q["subtotal"] == "31.60"
    assert q["discount"] == "3.16"
    assert q["coupon"]["ok"] and q["coupon"]["code"] == "WELCOME10"
    assert q["points_discount"] == "3.00" and q["member"]["redeem"] == 300
    assert q["total"] == "25.44"
    assert q["tax"] == "2.93"  # VAT included in 25.44 at 13 %
    assert q["member"]["earn"] == 25


@pytest.mark.parametrize(
    ("code", "subtotal_cart", "reason"),
    [
        ("EXPIRED", CART, "2025-12-31"),
        ("NOPE", CART, None),
        ("MINUS5", {"lines": [{"sku": "DRK-001", "qty": 1}]}, "30.00"),
    ],
)
def test_coupons_that_do_not_apply_say_why(page, code, subtotal_cart, reason):
    q = page("POST", "/api/v1/cart/quote", {**subtotal_cart, "coupon": code}).json
    assert q["coupon"]["ok"] is False and q["discount"] == "0.00"
    if reason:
        assert reason in q["coupon"]["message"]


def test_quote_flags_stock_and_suggests_alternatives(page):
    q = page("POST", "/api/v1/cart/quote", {"lines": [{"sku": "DRK-001", "qty": 60}]}).json
    [problem] = q["problems"]
    assert problem["code"] == "insufficient_stock" and problem["sellable"] == 50
    assert problem["alternatives"]
    for alternative in problem["alternatives"]:
        assert alternative["category"] == "饮料 Drinks" and alternative["sellable"] > 0
    assert q["lines"][0]["ok"] is False


def test_recommendations_come_from_order_history(page, kiosk):
    with kiosk.store.write() as conn:
        for _ in range(3):
            orders.create(
                conn,
                station="st-01",
                channel="kiosk",
                lines=[
                    {"sku": "DRK-001", "name": "可乐", "qty": 1, "unit_price": "3.50"},
                    {"sku": "SNK-001", "name": "薯片", "qty": 1, "unit_price": "7.90"},
                ],
            )
    q = page("POST", "/api/v1/cart/quote", {"lines": [{"sku": "DRK-001", "qty": 1}]}).json
    assert q["recommendations"][0]["sku"] == "SNK-001"


def test_pay_at_counter_order_is_one_transaction(page, kiosk):
    body = {
        **CART,
        "payment": "counter",
        "coupon": "WELCOME10",
        "member": MEMBER_PHONE,
        "points": 100,
    }
    resp = page("POST", "/api/v1/orders", body, key="k1")
    assert resp.status_code == 201, resp.json
    order = resp.json
    assert order["status"] == "pending_payment" and order["paid"] is False
    assert order["qr_url"] == f"/o/{order['number']}/qr.png"
    assert order["status_url"].endswith(f"/o/{order['number']}")
    conn = kiosk.store.conn()
    assert stock.sellable(conn, "SNK-004") == 48
    assert loyalty.balance(conn, MEMBER_PHONE) == 500 - 100 + int(float(order["total"]))
    [ticket] = print_jobs.find(conn, order_id=order["id"])
    assert ticket["kind"] == "ticket" and ticket["payload"]["total"] == order["total"]
    kinds = [e.kind for e in journal.since(conn, 0, 10_000)]
    assert protocol.COUPON_REDEEMED in kinds and protocol.LOYALTY_MOVED in kinds
    again = page("POST", "/api/v1/orders", body, key="k1")
    assert again.status_code == 200 and again.json["id"] == order["id"]
    assert page.client.get(order["qr_url"]).data.startswith(b"\x89PNG")


def test_counter_payment_marked_paid_by_a_staff_scan(page, kiosk, token_for):
    order = page("POST", "/api/v1/orders", {**CART, "payment": "counter"}, key="k2").json
    resp = token_for(kiosk)("POST", "/api/v1/scans", json={"code": order["number"], "source": "x"})
    assert resp.json["outcome"] == "order_paid"
    after = orders.get(kiosk.store.conn(), order["id"])
    assert after["paid"] is True and after["status"] == "open"


def test_card_declined_or_timed_out_leaves_nothing(page, kiosk):
    conn = kiosk.store.conn()
    before = (journal.last_seq(conn), stock.sellable(conn, "SNK-004"))
    card_next(kiosk, "decline")
    resp = page("POST", "/api/v1/orders", {**CART, "payment": "card"}, key="c1")
    assert resp.status_code == 402 and resp.json["error"]["code"] == "payment_declined"
    card_next(kiosk, "timeout")
    resp = page("POST", "/api/v1/orders", {**CART, "payment": "card"}, key="c2")
    assert resp.status_code == 504 and resp.json["error"]["code"] == "payment_timeout"
    assert orders.find(conn, channel="kiosk") == []
    assert stock.sellable(conn, "SNK-004") == before[1]
    events = journal.since(conn, before[0])
    assert [e.kind for e in events] == [protocol.PAYMENT_FAILED] * 2
    card_next(kiosk, "approve")
    resp = page("POST", "/api/v1/orders", {**CART, "payment": "card"}, key="c3")
    assert resp.status_code == 201 and resp.json["paid"] is True and resp.json["status"] == "open"


def test_double_submitted_card_checkout_makes_one_order_and_one_charge(page, kiosk):
    kiosk.terminal.delay_s = 0.3
    results = []

    def tap():
        results.append(page("POST", "/api/v1/orders", {**CART, "payment": "card"}, key="same"))

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes in ([201, 409], [200, 201])
    assert len(orders.find(kiosk.store.conn(), channel="kiosk")) == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"lines": [{"sku": "DRK-001", "qty": 0}]}, 400, "bad_quantity"),
        ({"lines": [{"sku": "DRK-001", "qty": 100000}]}, 400, "bad_quantity"),
        ({"lines": [{"sku": "NOPE", "qty": 1}]}, 422, "unknown_sku"),
        ({**CART, "coupon": "EXPIRED"}, 422, "coupon_invalid"),
        ({**CART, "member": "<script>"}, 400, "bad_member"),
        ({**CART, "payment": "bitcoin"}, 400, "bad_request"),
        ({"lines": [{"sku": "DRK-001", "qty": 51}]}, 409, "insufficient_stock"),
    ],
)
def test_bad_orders_are_refused_and_nothing_is_written(page, kiosk, body, status, code):
    before = journal.last_seq(kiosk.store.conn())
    resp = page("POST", "/api/v1/orders", body, key="bad")
    assert resp.status_code == status, resp.json
    assert resp.json["error"]["code"] == code
    assert journal.last_seq(kiosk.store.conn()) == before


def test_customer_calls_need_the_page_or_a_token(kiosk):
    client = create_app(kiosk).test_client()
    resp = client.post("/api/v1/cart/quote", json=CART)
    assert resp.status_code == 401 and "error" in resp.json
    assert client.get("/api/v1/products?q=kl").json["products"][0]["sku"] == "DRK-001"


def test_feedback_once_per_order(page, kiosk):
    order = page("POST", "/api/v1/orders", {**CART}, key="f1").json
    url = f"/api/v1/orders/{order['id']}/feedback"
    assert page("POST", url, {"rating": 6}).status_code == 400
    resp = page("POST", url, {"rating": 5, "comment": "<b>好</b>"})
    assert resp.status_code == 201
    assert page("POST", url, {"rating": 4}).status_code == 409
    event = journal.since(kiosk.store.conn(), 0, 10_000)[-1]
    assert event.kind == protocol.ORDER_FEEDBACK and event.data["comment"] == "<b>好</b>"


def test_cancelling_an_unpaid_order_gives_back_stock_and_points(page, kiosk):
    body = {**CART, "member": MEMBER_PHONE, "points": 200}
    order = page("POST", "/api/v1/orders", body, key="x1").json
    with kiosk.store.write() as conn:
        orders.cancel(conn, order["id"], "never paid")
    conn = kiosk.store.conn()
    assert stock.sellable(conn, "SNK-004") == 50
    assert loyalty.balance(conn, MEMBER_PHONE) == 500


def test_kiosk_scanner_scans_go_to_the_customer_screen(kiosk, token_for):
    q = kiosk.customers.subscribe()
    api = token_for(kiosk)
    api("POST", "/api/v1/scans", json={"code": "6900000000014", "source": "counter"})
    event, data = q.get(timeout=1)
    assert event == "product" and data["product"]["sku"] == "DRK-001"
    api("POST", "/api/v1/scans", json={"code": "ST-01-000001", "source": "counter"})
    assert q.get(timeout=1) == ("order", {"number": "ST-01-000001"})
    api("POST", "/api/v1/scans", json={"code": "nothing", "source": "counter"})
    assert q.get(timeout=1)[0] == "unknown"
    assert orders.by_number(kiosk.store.conn(), "ST-01-000001")["status"] == "open"
