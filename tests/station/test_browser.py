"""Headless Chromium on the packing screen of a real station: log in, pack by scans through
the real scan path, and see the label the emulator printed."""

from __future__ import annotations

import pytest

from tests.conftest import ARTIFACTS

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_pack_an_order_by_scans_in_the_browser(browser, station):
    out = ARTIFACTS / "packing"
    out.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(station.url("/pack"))
    assert "/pack/login" in page.url
    for key in "1234":
        page.click(f'.key[data-key="{key}"]')
    page.click('.key[data-key="OK"]')
    page.wait_for_url("**/pack")
    page.wait_for_selector("#queue li")
    page.screenshot(path=str(out / "1-queue.png"))

    order = station.orders[0]
    station.scan(order["number"])
    page.wait_for_function(
        "n => document.getElementById('order-number').textContent === n", arg=order["number"]
    )
    assert page.get_attribute("#banner", "data-outcome") == "order_opened"

    in_order = {l["sku"] for l in order["lines"]}
    wrong = next(s for s in ("DRK-001", "STA-003", "HOU-002") if s not in in_order)
    station.scan(wrong)
    page.wait_for_selector('#banner[data-outcome="wrong_item"]')
    assert "bad" in page.get_attribute("#banner", "class")
    page.screenshot(path=str(out / "2-wrong-item.png"))

    for line in order["lines"]:
        for _ in range(line["qty"]):
            station.scan(line["sku"])
    page.wait_for_selector('#banner[data-outcome="order_packed"]')
    page.wait_for_selector("#jobs li.job-done", timeout=15_000)
    page.screenshot(path=str(out / "3-packed.png"))

    label_dir = station.root / "printed" / "label"
    station.wait(lambda: any(label_dir.glob("*.png")), 10, "label PNG from the emulator")
    label = sorted(label_dir.glob("*.png"))[-1]
    (out / "4-label.png").write_bytes(label.read_bytes())
    import zxingcpp
    from PIL import Image

    texts = {r.text for r in zxingcpp.read_barcodes(Image.open(label))}
    assert order["tracking_number"] in texts

    page.goto(station.url("/admin"))
    page.wait_for_selector('#printers li[data-device="label"].ok')
    page.wait_for_selector('#scanners li[data-device="bench"]')
    assert page.locator("#stock tr").count() >= 10
    page.screenshot(path=str(out / "5-admin.png"), full_page=True)


def test_badge_scan_logs_in(browser, station):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(station.url("/pack/login"))
    page.wait_for_timeout(300)  # the login screen's live stream is open
    station.scan("BADGE-0001")
    page.wait_for_url("**/pack", timeout=10_000)
    page.wait_for_selector("#queue li")
