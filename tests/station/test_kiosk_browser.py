"""Headless Chromium on the customer screens of a real station: find by pinyin, scan to add,
coupon, pay at the counter or by (simulated) card, the ticket on the receipt emulator, the
status page behind its QR, the idle reset, and names that look like HTML staying text.

Screenshots of every screen at a kiosk and a phone viewport go to test-artifacts/kiosk/."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.sample import products
from edge.store import Store, catalog, stock
from tests.conftest import ARTIFACTS
from tests.station.harness import Station

pytestmark = [pytest.mark.slow, pytest.mark.browser]

VIEWPORTS = {"kiosk": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
OUT = ARTIFACTS / "kiosk"
CARD = """
[kiosk]
card_terminal = "simulated"
card_timeout_s = 2
"""


def barcode(sku: str) -> str:
    """The EAN-13 of a sample product (its first barcode)."""
    return next(p["barcodes"][0] for p in products() if p["sku"] == sku)


@pytest.fixture
def make_station(tmp_path: Path) -> Iterator[Callable[..., Station]]:
    """Factory: a station with a kiosk-purpose scanner ``counter``; ``setup(store)`` runs on
    its database before the services start."""
    made: list[Station] = []

    def make(
        extra_toml: str = CARD,
        services: tuple[str, ...] = (),
        setup: Callable[[Store], None] | None = None,
    ) -> Station:
        station = Station(tmp_path / f"st{len(made)}", extra_toml=extra_toml, kiosk_scanner=True)
        made.append(station)
        if setup is not None:
            store = Store(station.config.db_path)
            setup(store)
            store.close()
        station.start(*services)
        return station

    yield make
    for station in made:
        station.stop()


class Screen:
    """One customer page: screenshots under a viewport's name, and no script errors."""

    def __init__(self, browser: Any, station: Station, viewport: str):
        self.viewport = viewport
        self.page = browser.new_page(viewport=VIEWPORTS[viewport], locale="zh-CN")
        self.errors: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(str(err)))
        self.page.on("dialog", lambda d: self.errors.append(f"unexpected dialog: {d.message}"))
        self.station = station
        OUT.mkdir(parents=True, exist_ok=True)

    def open(self, path: str = "/") -> None:
        self.page.goto(self.station.url(path))
        if path == "/":
            self.page.wait_for_selector("#products .product")

    def shot(self, name: str, *, full: bool = False) -> None:
        """Save a screenshot; the screen must fit its viewport's width (no sideways scroll)."""
        self.page.screenshot(path=str(OUT / f"{self.viewport}-{name}.png"), full_page=full)
        width = self.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[self.viewport]["width"], f"{name} is {width} px wide"

    def on(self, screen: str, timeout: float = 10_000) -> None:
        self.page.wait_for_selector(f"#screen-{screen}:not([hidden])", timeout=timeout)

    def cart_count(self) -> int:
        return int(self.page.text_content("#cart-count") or "0")

    def quoted(self) -> None:
        """Wait until the cart shows a fresh quote (the pay buttons come alive)."""
        self.page.wait_for_selector("#pay-counter:not([disabled])")

    def add(self, sku: str) -> None:
        self.page.click(f'#products .product[data-sku="{sku}"] .add')

    def check(self) -> None:
        assert not self.errors, self.errors


def kiosk_orders(station: Station) -> list[dict[str, Any]]:
    status, body = station.api("GET", "/api/v1/orders?channel=kiosk")
    assert status == 200, body
    return body["orders"]


def decode_qr(png: Path) -> set[str]:
    import zxingcpp
    from PIL import Image

    return {r.text for r in zxingcpp.read_barcodes(Image.open(png))}


@pytest.mark.parametrize("viewport", ["kiosk", "phone"])
def test_customer_orders_and_pays_at_counter(browser, make_station, viewport):
    station = make_station()
    s = Screen(browser, station, viewport)
    page = s.page
    s.open()
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.locator('a[href*="/pack"], a[href*="/admin"], [href*="/admin"]').count() == 0
    scripts = page.evaluate(
        "() => performance.getEntriesByType('resource').map(r => r.name)"
        ".filter(n => n.endsWith('.js'))"
    )
    assert len(scripts) >= 5, scripts  # the app's modules
    for script in scripts:
        text = page.request.get(script).text()
        assert "/pack" not in text and "/admin" not in text, script
    s.shot("1-browse")
    page.click('#chips .chip[data-category="饮料 Drinks"]')
    page.wait_for_function(
        "() => [...document.querySelectorAll('#products .product')]"
        ".every(p => p.dataset.sku.startsWith('DRK-'))"
    )
    page.click('#chips .chip[data-category=""]')

    page.fill("#q", "kl")  # pinyin initials of 可乐 (and of 巧克力)
    page.wait_for_function(
        "() => { const found = [...document.querySelectorAll('#products .product')];"
        " return found.length < 5 && found[0].dataset.sku === 'DRK-001'; }"
    )
    assert "可口可乐" in page.text_content('.product[data-sku="DRK-001"] .name')
    s.shot("2-search-kl")
    s.add("DRK-001")
    page.wait_for_function("() => document.getElementById('cart-count').textContent === '1'")

    station.scan(barcode("SNK-001"), scanner="counter")  # 乐事薯片 at the kiosk's scanner
    page.wait_for_function("() => document.getElementById('cart-count').textContent === '2'")
    assert "乐事" in page.text_content("#toast")
    station.scan("NOPE-0001", scanner="counter")
    page.wait_for_selector("#toast.bad")
    assert page.text_content("#toast") == "未知条码：NOPE-0001"
    assert s.cart_count() == 2

    page.click("#cartbar-open")
    s.on("cart")
    s.quoted()
    for _ in range(3):  # 4 × ¥3.50 + ¥7.90 = ¥21.90: over WELCOME10's ¥20 minimum
        page.click('.cart-line[data-sku="DRK-001"] .plus')
    page.wait_for_function(
        "() => document.querySelector('.cart-line[data-sku=\"DRK-001\"] .n').textContent === '4'"
    )
    s.quoted()
    assert page.text_content("#t-subtotal") == "¥21.90"
    page.fill("#coupon", "welcome10")
    page.click("#coupon-form button")
    page.wait_for_selector("#coupon-msg.good")
    page.wait_for_selector("#t-discount-row:not([hidden])")
    s.quoted()
    assert page.text_content("#t-discount") == "−¥2.19"
    assert page.text_content("#t-total") == "¥19.71"
    s.shot("3-cart", full=True)

    page.dblclick("#pay-counter")  # a double tap still makes one order
    s.on("ticket")
    number = page.text_content("#ticket-number") or ""
    assert re.fullmatch(r"ST-01-\d{6}", number), number
    assert s.cart_count() == 0
    assert page.text_content("#ticket-paid") == "请到柜台付款"
    page.wait_for_function("() => document.getElementById('ticket-qr').naturalWidth > 0")
    s.shot("4-ticket", full=True)
    (order,) = kiosk_orders(station)
    assert order["number"] == number
    assert order["total"] == "19.71"
    assert {(l["sku"], l["qty"]) for l in order["lines"]} == {("DRK-001", 4), ("SNK-001", 1)}

    page.click('#feedback .star[data-rating="5"]')
    page.fill("#comment", "很方便 <b>fast</b>")
    page.click("#feedback-send")
    page.wait_for_selector("#feedback", state="hidden")

    receipts = station.root / "printed" / "receipt"
    station.wait(lambda: any(receipts.glob("*.png")), 15, "the ticket PNG from the emulator")
    ticket_png = sorted(receipts.glob("*.png"))[-1]
    (OUT / f"{viewport}-4-ticket-printed.png").write_bytes(ticket_png.read_bytes())
    status_url = station.url(f"/o/{number}")
    assert status_url in decode_qr(ticket_png)

    phone = browser.new_page(viewport=VIEWPORTS[viewport])  # the customer follows the QR link
    phone.goto(status_url)
    phone.wait_for_selector(".steps .step.current")
    assert phone.text_content(".order-number") == number
    assert phone.get_attribute(".steps .step.current", "data-step") == "pending_payment"
    assert phone.locator(".steps .step.todo").count() == 4
    phone.screenshot(path=str(OUT / f"{viewport}-5-status.png"), full_page=True)
    phone.close()

    page.click("#done")
    s.on("browse")
    assert page.input_value("#q") == ""
    station.scan(status_url, scanner="counter")  # the ticket's QR at the kiosk's scanner
    page.wait_for_url(f"**/o/{number}")
    page.wait_for_selector(".steps .step.current")
    page.click("#back-to-start")
    page.wait_for_selector("#products .product")

    page.click("#open-status")  # and typed in by hand
    s.on("status")
    page.fill("#status-number", "ST-01-999999")
    page.click("#status-form button[type=submit]")
    page.wait_for_selector("#status-msg:not(:empty)")
    s.shot("6-status-entry")
    page.fill("#status-number", number.rsplit("-", 1)[1].lstrip("0"))  # "1" is enough
    page.click("#status-form button[type=submit]")
    page.wait_for_url(f"**/o/{number}")
    s.check()


@pytest.mark.parametrize("viewport", ["kiosk", "phone"])
def test_card_timeout_and_decline_leave_no_order_then_approve_works(
    browser, make_station, viewport
):
    station = make_station(services=("kiosk",))
    s = Screen(browser, station, viewport)
    page = s.page
    s.open()
    s.add("SNK-004")
    page.click("#cart-button")
    s.on("cart")
    s.quoted()
    page.fill("#member", "13800138000")  # a member with 500 points uses 100 (¥1.00)
    page.click("#member-form button[type=submit]")
    page.wait_for_selector("#points-field:not([hidden])")
    assert "500" in page.text_content("#member-msg")
    page.fill("#points", "100")
    page.click("#points-apply")
    page.wait_for_selector("#t-points-row:not([hidden])")
    s.quoted()
    assert page.text_content("#t-points") == "−¥1.00"
    assert page.text_content("#t-total") == "¥14.80"
    s.shot("7-cart-member", full=True)

    station.card_next("timeout")
    page.click("#pay-card")
    s.on("paying")
    assert page.text_content("#paying-title") == "请按刷卡机提示操作"
    s.shot("8-card-waiting")
    s.on("failed", timeout=15_000)
    assert page.text_content("#failed-title") == "刷卡机没有响应"
    assert "订单未创建" in page.text_content("#failed-text")
    s.shot("9-card-timeout")
    assert kiosk_orders(station) == []

    station.card_next("decline")
    page.click("#retry")
    page.wait_for_function(
        "() => document.getElementById('failed-title').textContent === '银行卡被拒绝'"
    )
    s.on("failed")
    assert page.is_visible("#fallback-counter")
    s.shot("10-card-declined")
    assert kiosk_orders(station) == []

    station.card_next("approve")
    page.click("#retry")
    s.on("ticket")
    assert page.text_content("#ticket-paid") == "已刷卡付款"
    (order,) = kiosk_orders(station)
    assert order["paid"] is True
    assert order["total"] == "14.80"
    assert order["number"] == page.text_content("#ticket-number")
    s.shot("11-card-paid", full=True)
    s.check()


def test_stock_limit_and_alternatives(browser, make_station):
    def few_soy_milk(store: Store) -> None:
        with store.write() as conn:
            stock.move(conn, "DRK-004", -48, "adjustment", "test: only 2 left")
            stock.move(conn, "SNK-003", -50, "adjustment", "test: sold out")

    station = make_station(services=("kiosk",), setup=few_soy_milk)
    s = Screen(browser, station, "phone")
    page = s.page
    s.open()
    assert "剩 2 件" in page.text_content('.product[data-sku="DRK-004"]')
    assert page.text_content('.product[data-sku="SNK-003"] .soldout') == "已售罄"
    assert page.locator('.product[data-sku="SNK-003"] .add').count() == 0
    s.add("DRK-004")
    s.add("DRK-004")
    s.add("DRK-004")  # one more than the station may sell
    page.wait_for_selector("#toast.bad")
    assert "仅剩 2 件" in page.text_content("#toast")
    assert s.cart_count() == 2
    page.click("#cart-button")
    s.on("cart")
    s.quoted()
    page.click('.cart-line[data-sku="DRK-004"] .plus')
    page.wait_for_selector('.cart-line[data-sku="DRK-004"] .note')
    assert page.text_content('.cart-line[data-sku="DRK-004"] .note') == "仅剩 2 件"
    assert page.text_content('.cart-line[data-sku="DRK-004"] .n') == "2"
    page.wait_for_selector("#recs .rec")  # often bought together, from the station's orders
    recommended = page.get_attribute("#recs .rec", "data-sku")
    page.click("#recs .rec .add")
    page.wait_for_selector(f'.cart-line[data-sku="{recommended}"]')
    s.quoted()

    status, _ = station.api(  # someone else buys one meanwhile
        "POST",
        "/api/v1/orders",
        {"lines": [{"sku": "DRK-004", "qty": 1}], "payment": "counter"},
        {"Idempotency-Key": "elsewhere-1"},
    )
    assert status == 201
    page.click("#pay-counter")
    page.wait_for_selector('.problem[data-sku="DRK-004"] .alt')
    s.on("cart")
    assert page.is_visible("#cart-msg")
    assert page.is_disabled("#pay-counter")
    s.shot("12-cart-problem", full=True)
    alternative = page.get_attribute('.problem[data-sku="DRK-004"] .alt', "data-sku")
    page.click('.problem[data-sku="DRK-004"] .alt')
    page.wait_for_selector(f'.cart-line[data-sku="{alternative}"]')
    assert page.locator('.cart-line[data-sku="DRK-004"]').count() == 0
    s.quoted()
    assert page.locator(".problem").count() == 0

    count = s.cart_count()
    page.click(".bar .lang")  # English, and the cart is still there
    page.wait_for_selector("html[lang=en]")
    s.on("cart")
    assert s.cart_count() == count
    assert page.text_content("#cart-button .label") == "Cart"
    assert page.text_content("#pay-counter").startswith("Pay at counter")
    s.quoted()
    s.shot("13-cart-english", full=True)
    s.check()


def test_idle_timeout_returns_to_start_and_clears_the_cart(browser, make_station):
    station = make_station("[kiosk]\nidle_timeout_s = 3\n", services=("kiosk",))
    s = Screen(browser, station, "kiosk")
    page = s.page
    s.open()
    s.add("DRK-002")
    page.click("#cart-button")
    s.on("cart")
    page.wait_for_selector("#idle:not([hidden])", timeout=5_000)  # the countdown warning
    s.shot("14-idle-warning")
    s.on("browse", timeout=5_000)
    assert s.cart_count() == 0
    assert page.evaluate("() => sessionStorage.getItem('printstation.kiosk')") is None
    page.reload()
    page.wait_for_selector("#products .product")
    assert s.cart_count() == 0

    s.add("DRK-002")  # the ticket screen resets too
    page.click("#cart-button")
    s.quoted()
    page.click("#pay-counter")
    s.on("ticket")
    number = page.text_content("#ticket-number")
    s.on("browse", timeout=8_000)
    assert s.cart_count() == 0

    page.click("#open-status")  # the status page, opened at the kiosk, goes back there too
    page.fill("#status-number", number)
    page.click("#status-form button[type=submit]")
    page.wait_for_url(f"**/o/{number}")
    page.wait_for_url(station.url("/"), timeout=8_000)
    page.wait_for_selector("#products .product")
    s.check()


def test_names_that_look_like_html_are_shown_as_text(browser, make_station):
    name = "<script>alert(1)</script>"
    name_en = '<img src=x onerror="alert(2)">'

    def sly_product(store: Store) -> None:
        with store.write() as conn:
            catalog.upsert(
                conn,
                [
                    {
                        "sku": "XSS-001",
                        "name": name,
                        "name_en": name_en,
                        "price": "1.00",
                        "category": "<b>cat</b>",
                        "barcodes": ["XSS-001"],
                    }
                ],
            )
            stock.move(conn, "XSS-001", 5, "receipt", "test")

    station = make_station(services=("kiosk",), setup=sly_product)
    for viewport in ("kiosk", "phone"):
        s = Screen(browser, station, viewport)
        page = s.page
        s.open()
        page.fill("#q", "XSS")
        page.wait_for_selector('.product[data-sku="XSS-001"]')
        assert page.text_content('.product[data-sku="XSS-001"] .name') == name
        assert page.text_content('.product[data-sku="XSS-001"] .sub') == name_en
        assert page.locator("#products script, #products img[src='x']").count() == 0
        assert page.locator('#chips .chip[data-category="<b>cat</b>"] b').count() == 0
        s.add("XSS-001")
        page.click("#cart-button")
        s.quoted()
        assert page.text_content('.cart-line[data-sku="XSS-001"] .name') == name
        s.shot("15-html-as-text")
        s.check()
        page.close()
