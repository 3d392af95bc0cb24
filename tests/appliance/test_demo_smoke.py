"""Smoke test of `printstation demo` as shipped: two stations, every /healthz answering,
one order packed end to end through the real processes, and a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from edge.scanner.simulate import simulate_scan
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def get(url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
        return r.status, json.loads(r.read())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_healthy(url, token=None, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, body = get(url + "/healthz", token)
            if status == 200:
                return body
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{url}/healthz never answered 200"
        time.sleep(0.2)


def test_demo_two_stations_healthy_pack_and_stop(tmp_path):
    data = tmp_path / "demo"
    log = tmp_path / "demo.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "demo", "--data", str(data), "--stations", "2"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        manifest_path = data / "demo.json"
        deadline = time.monotonic() + 90
        while not manifest_path.exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "demo.json never written"
            time.sleep(0.2)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        stations = manifest["stations"]
        assert len(stations) == 2
        wait_healthy(manifest["hub"]["url"])
        for station in stations:
            wait_healthy(station["url"], station["api_token"])
        station = stations[0]
        url, token = station["url"], station["api_token"]
        order = get(url + "/api/v1/orders?status=open", token)[1]["orders"][0]
        runtime = data / station["id"] / "run"
        simulate_scan(order["number"], runtime)
        for line in order["lines"]:
            for _ in range(line["qty"]):
                simulate_scan(line["sku"], runtime)
        deadline = time.monotonic() + 30
        while get(url + f"/api/v1/orders/{order['id']}", token)[1]["status"] != "packed":
            assert time.monotonic() < deadline, "order not packed"
            time.sleep(0.2)
        label_dir = data / next(p["out_dir"] for p in station["printers"] if p["role"] == "label")
        while not list(label_dir.glob("*.png")):
            assert time.monotonic() < deadline, "no label printed"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert proc.returncode == 0, log.read_text()[-3000:]
    pids = [pid for s in stations for pid in s["pids"].values()]
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in pids)
