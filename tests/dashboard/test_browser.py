"""Headless Chromium on the hub's dashboard against a real hub and a real station (kiosk,
scanner, spooler and sync as their own processes, printers emulated over TCP): log in, see
the station go offline when its sync process is killed and come back when restarted,
reprint a job on the emulator, see an alert fire and clear; a viewer cannot act."""

from __future__ import annotations

import pytest

from cloud import users
from cloud.config import load_hub_config
from cloud.db import transaction
from cloud.service import Hub
from edge.config import load_config
from tests.conftest import ARTIFACTS
from tests.hub.conftest import hub_toml
from tests.station.conftest import browser  # noqa: F401 - fixture
from tests.station.harness import Station

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PASSWORD = "operations-pass"
SYNC = """
[sync]
ack_timeout_s = 2.0
telemetry_interval_s = 0.5
reconnect_min_s = 0.2
reconnect_max_s = 1.0
"""


@pytest.fixture
def hub(tmp_path, broker):
    path = hub_toml(tmp_path / "hub", str(tmp_path / "hub" / "hub.db"), broker.url)
    with path.open("a", encoding="utf-8") as out:
        out.write("\n[dashboard]\nrefresh_s = 1\nhistory_every_s = 1\n")
    running = Hub(load_hub_config(path), "all")
    with transaction(running.engine) as conn:
        users.add_user(conn, "olga", PASSWORD, "operator")
        users.add_user(conn, "vic", PASSWORD, "viewer")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def synced_station(tmp_path, broker):
    station = Station(tmp_path / "st", extra_toml=SYNC)
    text = station.config_path.read_text(encoding="utf-8")
    station.config_path.write_text(
        text.replace('url = "mqtt://127.0.0.1:9"', f'url = "{broker.url}"'), encoding="utf-8"
    )
    station.config = load_config(station.config_path)
    station.start("kiosk", "scanner", "spooler", "sync")
    yield station
    station.stop()


def hub_url(hub: Hub, path: str = "") -> str:
    return f"http://127.0.0.1:{hub.server.effective_port}{path}"


def log_in(page, hub: Hub, name: str) -> None:
    page.goto(hub_url(hub, "/"))
    assert "/login" in page.url
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_selector("#fleet")


def test_fleet_reprint_and_alerts_in_the_browser(browser, hub, synced_station):  # noqa: F811
    out = ARTIFACTS / "dashboard"
    out.mkdir(parents=True, exist_ok=True)
    station = synced_station
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    log_in(page, hub, "olga")
    row = '#fleet tr[data-station="st-01"]'
    page.wait_for_selector(f"{row}.online", timeout=20_000)
    page.screenshot(path=str(out / "1-fleet-online.png"), full_page=True)

    station.kill("sync")
    page.wait_for_selector(f"{row}.offline", timeout=30_000)
    assert page.inner_text(f"{row} td.state") == "offline"
    page.screenshot(path=str(out / "2-fleet-offline.png"), full_page=True)
    station.start("sync")
    page.wait_for_selector(f"{row}.online", timeout=30_000)

    # A label printed at the station shows on its page; a reprint from there prints again.
    order = station.orders[0]
    station.pack(order)
    station.wait(lambda: (station.job(order["id"]) or {}).get("status") == "done", 20, "label")
    label = station.emulators["label"]
    label.wait_for_jobs(1, timeout=5)
    job = station.job(order["id"])
    page.goto(hub_url(hub, "/stations/st-01"))
    job_row = f'#jobs tr[data-job="{job["id"]}"]'
    for _ in range(30):
        if page.query_selector(job_row):
            break
        page.wait_for_timeout(1000)
        page.reload()
    page.wait_for_selector(job_row)
    page.click(f"{job_row} button.reprint")
    page.wait_for_selector('#commands tr[data-status="done"]', timeout=30_000)
    assert "reprint" in page.inner_text("#commands")
    label.wait_for_jobs(2, timeout=20)
    printed = [j for j in label.jobs() if j.get("printed", True)]
    assert len(printed) >= 2
    page.screenshot(path=str(out / "3-station-reprinted.png"), full_page=True)

    # Out of paper: the alert fires on the dashboard, and clears when paper is back.
    label.set_paper("out")
    page.goto(hub_url(hub, "/"))
    page.wait_for_selector('#alerts li[data-kind="printer_problem"]', timeout=30_000)
    assert "out of paper" in page.inner_text("#alerts")
    page.screenshot(path=str(out / "4-alert.png"), full_page=True)
    label.set_paper("ok")
    page.wait_for_selector(
        '#alerts li[data-kind="printer_problem"]', state="detached", timeout=30_000
    )
    page.goto(hub_url(hub, "/alerts"))
    assert page.query_selector('#all-alerts tr.cleared[data-kind="printer_problem"]')
    page.goto(hub_url(hub, "/stations/st-01"))
    page.wait_for_selector("#chart-queues .main-svg")  # plotly drew the history
    page.screenshot(path=str(out / "5-station.png"), full_page=True)


def test_a_viewer_cannot_send_commands(browser, hub, synced_station):  # noqa: F811
    page = browser.new_page()
    log_in(page, hub, "vic")
    page.wait_for_selector('#fleet tr[data-station="st-01"]', timeout=20_000)
    page.goto(hub_url(hub, "/stations/st-01"))
    assert page.query_selector("#command-forms") is None
    assert page.query_selector("button.reprint") is None
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    response = page.request.post(
        hub_url(hub, "/stations/st-01/commands"),
        form={"name": "resync", "from_seq": "1", "csrf_token": token or ""},
    )
    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"
    anonymous = browser.new_page()
    anonymous.goto(hub_url(hub, "/stations/st-01"))
    assert "/login" in anonymous.url
