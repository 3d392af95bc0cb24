"""End to end: a real hub (SQLite and PostgreSQL), a real mosquitto and two real stations
(kiosk, scanner, spooler and sync as processes, printer emulators over TCP). An order
posted to the hub is allocated to the station in its province, shows on that station's
packing screen, is packed by scans, prints a label with a pool waybill and the sort code,
and the hub timeline shows every step; a station offline past the timeout loses its
untouched orders to the other."""

from __future__ import annotations

import http.cookiejar
import json
import signal
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cloud.config import load_hub_config
from cloud.service import Hub
from tests.allocation.helpers import CARRIERS
from tests.hub.conftest import hub_toml
from tests.station.harness import Station

pytestmark = pytest.mark.slow
SKU = "DRK-001"


class HubClient:
    def __init__(self, hub: Hub, root: Path):
        self.base = f"http://127.0.0.1:{hub.config.http.port}"
        self.token = (root / "api-token").read_text(encoding="utf-8").strip()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        assert status in (200, 201), (status, answer)
        return answer


def make_station(root: Path, station_id: str, store: str, broker_url: str) -> Station:
    station = Station(root)
    text = station.config_path.read_text(encoding="utf-8")
    text = text.replace('id = "st-01"', f'id = "{station_id}"')
    text = text.replace('store = "store-01"', f'store = "{store}"')
    text = text.replace('url = "mqtt://127.0.0.1:9"', f'url = "{broker_url}"')
    text += (
        "\n[sync]\nack_timeout_s = 2.0\ntelemetry_interval_s = 0.5\n"
        "reconnect_min_s = 0.2\nreconnect_max_s = 1.0\n"
    )
    station.config_path.write_text(text, encoding="utf-8")
    from edge.config import load_config

    station.config = load_config(station.config_path)
    return station


def packing_screen(station: Station) -> dict[str, Any]:
    """What the packing screen shows, as a logged-in packer's browser gets it."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = urllib.parse.urlencode({"pin": "1234"}).encode()
    opener.open(station.url("/pack/login"), data=form, timeout=10).read()
    with opener.open(station.url("/pack/state"), timeout=10) as resp:
        state: dict[str, Any] = json.loads(resp.read())
    return state


def order_body(external_id: str, name: str, address: str) -> dict[str, Any]:
    return {
        "channel": "web",
        "external_id": external_id,
        "customer": {"name": name, "phone": "13800000000"},
        "address": address,
        "service_level": "standard",
        "payment_status": "paid",
        "lines": [{"sku": SKU, "qty": 2}],
    }


@pytest.fixture
def world(tmp_path, broker, db_url):
    path = hub_toml(tmp_path / "hub", db_url, broker.url)
    path.write_text(
        path.read_text(encoding="utf-8") + "\n[allocation]\noffline_timeout_s = 2.0\n",
        encoding="utf-8",
    )
    hub = Hub(load_hub_config(path), "all")
    hub.start()
    stations = {
        "gz-1": make_station(tmp_path / "gz-1", "gz-1", "gz", broker.url),
        "sh-1": make_station(tmp_path / "sh-1", "sh-1", "sh", broker.url),
    }
    try:
        api = HubClient(hub, tmp_path / "hub")
        api.ok("PUT", "/api/v1/stores/gz", {"province": "广东省", "city": "广州市"})
        api.ok("PUT", "/api/v1/stores/sh", {"province": "上海市", "city": "上海市"})
        api.ok("PUT", "/api/v1/carriers", {"carriers": CARRIERS})
        from edge.sample import products

        api.ok("PUT", "/api/v1/catalog", {"products": products()})
        for station in stations.values():
            station.start("kiosk", "scanner", "spooler", "sync")
        Station.wait(
            lambda: (
                {
                    s["id"]: (s["store"], s["online"])
                    for s in api.ok("GET", "/api/v1/stations")["stations"]
                }
                == {"gz-1": ("gz", True), "sh-1": ("sh", True)}
            ),
            30,
            "both stations online with their stores",
        )
        for store in ("gz", "sh"):
            api.ok("POST", "/api/v1/stock/receipts", {"store": store, "sku": SKU, "qty": 10})
        yield api, stations
    finally:
        for station in stations.values():
            station.stop()
        hub.stop()


def test_an_order_is_allocated_packed_and_tracked_and_moves_when_its_station_is_gone(world):
    api, stations = world
    gz = stations["gz-1"]
    posted = api.ok(
        "POST", "/api/v1/orders", order_body("w-1", "王伟", "广东省广州市天河区体育西路1号")
    )
    assert posted["status"] == "allocated", posted
    hub_order = api.ok("GET", f"/api/v1/orders/{posted['id']}")
    assert hub_order["station"] == "gz-1" and hub_order["sort_code"] == "EMS-GD-03"

    # it reaches gz-1's packing screen with its sort code
    def on_screen(station: Station, number: str) -> dict[str, Any] | None:
        return next((o for o in packing_screen(station)["queue"] if o["number"] == number), None)

    Station.wait(lambda: on_screen(gz, posted["number"]) is not None, 20, "order on gz-1 screen")
    shown = on_screen(gz, posted["number"])
    assert shown is not None and shown["sort_code"] == "EMS-GD-03" and shown["carrier"] == "EMS"

    # packed by scans there; the label carries a pool waybill and the sort code
    gz.pack(shown)
    Station.wait(lambda: (gz.job(shown["id"]) or {}).get("status") == "done", 20, "label printed")
    job = gz.job(shown["id"])
    assert job is not None
    tracking = job["payload"]["tracking_number"]
    assert tracking.startswith("EE") and tracking.endswith("CN") and len(tracking) == 13
    records = gz.emulators["label"].wait_for_jobs(1, timeout=10)
    raw = (gz.root / "printed" / "label" / records[-1]["raw"]).read_bytes()
    assert tracking.encode() in raw and b"EMS-GD-03" in raw
    assert any(r["file"] for r in records), "the emulator rendered no label image"

    # the hub timeline shows every step, and the waybill number
    def at_hub() -> dict[str, Any]:
        return api.ok("GET", f"/api/v1/orders/{posted['id']}")

    Station.wait(
        lambda: at_hub()["status"] == "packed" and at_hub().get("tracking_number") == tracking,
        20,
        "hub sees the packed order and its waybill",
    )
    steps = [t["status"] for t in at_hub()["timeline"]]
    assert steps[:3] == ["received", "checked", "allocated"]
    assert steps[-2:] == ["packing", "packed"]
    decisions = api.ok("GET", f"/api/v1/orders/{posted['id']}/allocation")["decisions"]
    assert decisions[0]["station"] == "gz-1"

    # a second order for Guangdong goes to gz-1, which then drops off the network
    second = api.ok(
        "POST", "/api/v1/orders", order_body("w-2", "李娜", "广东省广州市越秀区北京路2号")
    )
    assert second["status"] == "allocated"
    Station.wait(lambda: on_screen(gz, second["number"]) is not None, 20, "2nd order on gz-1")
    gz.kill("sync", signal.SIGKILL)
    Station.wait(lambda: at_hub_station(api, second["id"]) == "sh-1", 40, "order moved to sh-1")
    moved = api.ok("GET", f"/api/v1/orders/{second['id']}")
    assert [t["status"] for t in moved["timeline"]][-2:] == ["revoked", "allocated"]
    assert "gz-1" in moved["timeline"][-1]["note"]
    sh = stations["sh-1"]
    Station.wait(lambda: on_screen(sh, second["number"]) is not None, 20, "order on sh-1 screen")

    # when gz-1 comes back it drops the order it lost
    gz.start("sync")

    def gz_status() -> str:
        _code, body = gz.api("GET", f"/api/v1/orders/{second['id']}")
        return str(body.get("status"))

    Station.wait(lambda: gz_status() == "cancelled", 30, "gz-1 drops the moved order")


def at_hub_station(api: HubClient, order_id: str) -> str | None:
    station: str | None = api.ok("GET", f"/api/v1/orders/{order_id}")["station"]
    return station
