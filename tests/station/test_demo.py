"""`printstation demo`: every service its own process, demo.json, a packed order, clean stop,
and a second run on the same data resuming."""

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


def start_demo(data):
    data.mkdir(parents=True, exist_ok=True)
    with open(data.parent / "demo.out", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "demo", "--data", str(data), "--stations", "1"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 60
    manifest = data / "demo.json"
    while time.monotonic() < deadline:
        if manifest.exists() and manifest.stat().st_mtime > proc_started(proc):
            return proc, json.loads(manifest.read_text(encoding="utf-8"))
        assert proc.poll() is None, (data.parent / "demo.out").read_text()
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("demo did not write demo.json")


def proc_started(proc):
    return os.stat(f"/proc/{proc.pid}").st_mtime - 1


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def test_demo_runs_packs_stops_and_resumes(tmp_path):
    data = tmp_path / "demo"
    proc, manifest = start_demo(data)
    try:
        [station] = manifest["stations"]
        assert set(station["pids"]) == {"kiosk", "scanner", "spooler", "sync"}
        assert len(set(station["pids"].values())) == 4
        assert alive(manifest["broker"]["pid"]) and alive(manifest["hub"]["pids"]["hub"])
        hub_url, hub_token = manifest["hub"]["url"], manifest["hub"]["api_token"]
        stations = get(hub_url + "/api/v1/stations", hub_token)["stations"]
        assert [s["id"] for s in stations] == [station["id"]]
        assert manifest["staff"]["pin"]
        assert get(station["url"] + "/healthz", station["api_token"])["ok"]
        url, token = station["url"], station["api_token"]
        products = get(url + "/api/v1/products?q=%E5%8F%AF%E4%B9%90", token)
        assert products["products"][0]["name_en"].startswith("Coca-Cola")
        order = get(url + "/api/v1/orders?status=open", token)["orders"][0]
        runtime = data / station["id"] / "run"
        simulate_scan(order["number"], runtime)
        for line in order["lines"]:
            for _ in range(line["qty"]):
                simulate_scan(line["sku"], runtime)
        label_dir = next(p["out_dir"] for p in station["printers"] if p["role"] == "label")
        deadline = time.monotonic() + 20
        while not list((data / label_dir).glob("*.png")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list((data / label_dir).glob("*.png")), "no label printed"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 0
    time.sleep(0.5)
    assert not any(alive(pid) for pid in station["pids"].values())

    proc, again = start_demo(data)
    try:
        assert again["stations"][0]["url"] == station["url"]
        order_again = get(station["url"] + f"/api/v1/orders/{order['id']}", station["api_token"])
        assert order_again["status"] == "packed"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            at_hub = get(
                again["hub"]["url"] + f"/api/v1/orders/{order['id']}", again["hub"]["api_token"]
            )
            if at_hub["status"] == "packed":
                break
            time.sleep(0.3)
        assert at_hub["status"] == "packed"  # the hub saw every step
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
