"""A real station (three processes) packing orders against printer emulators over TCP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.station.harness import Station

pytestmark = pytest.mark.slow


def test_scans_pack_an_order_and_the_label_is_printed(station):
    order = station.orders[0]
    station.pack(order)
    station.wait(lambda: (station.job(order["id"]) or {}).get("status") == "done", 15, "label done")
    label = station.emulators["label"]
    label.wait_for_jobs(1, timeout=5)
    pngs = sorted((station.root / "printed" / "label").glob("*.png"))
    assert pngs, "the emulator rendered no label"
    _status, body = station.api("GET", f"/api/v1/orders/{order['id']}")
    assert body["status"] == "packed"
    assert [t["status"] for t in body["timeline"]][-2:] == ["packing", "packed"]


def test_wrong_item_scan_counts_nothing(station):
    order = station.orders[0]
    station.scan(order["number"])
    in_order = {l["sku"] for l in order["lines"]}
    other = next(s for s in ("DRK-001", "STA-003", "HOU-002") if s not in in_order)
    station.scan(other)
    time.sleep(0.5)
    _, body = station.api("GET", f"/api/v1/orders/{order['id']}")
    assert body["status"] == "packing"
    assert all(l["packed_qty"] == 0 for l in body["lines"])


@pytest.mark.allow_errors
def test_spooler_killed_mid_job_leaves_it_uncertain_never_reprinted(tmp_path):
    station = Station(tmp_path / "st", label_speed_mm_s=15)  # a 150 mm label takes ~10 s
    station.start()
    try:
        order = station.orders[0]
        station.pack(order)
        station.wait(
            lambda: (station.job(order["id"]) or {}).get("status") == "printing", 10, "job printing"
        )
        time.sleep(0.5)
        station.kill("spooler", signal.SIGKILL)
        station.start("spooler")
        station.wait(lambda: station.job(order["id"])["status"] == "uncertain", 10, "uncertain")
        time.sleep(1.5)  # a restarted spooler must not send it again by itself
        label = station.emulators["label"]
        complete = [j for j in label.jobs() if j.get("printed", True) and not j.get("partial")]
        assert len(complete) <= 1
        job = station.job(order["id"])
        status, body = station.api(
            "POST", f"/api/v1/print-jobs/{job['id']}/resolve", {"printed": False}
        )
        assert status == 200 and body["status"] == "queued"
        station.wait(lambda: station.job(order["id"])["status"] == "done", 30, "reprinted")
    finally:
        station.stop()


@pytest.mark.allow_errors
def test_paper_out_pauses_and_resumes_by_itself(station):
    label = station.emulators["label"]
    label.set_paper("out")
    order = station.orders[0]
    station.pack(order)
    time.sleep(1.0)
    job = station.job(order["id"])
    assert job["status"] == "queued"
    status_file = station.config.runtime_dir / "spooler-status.json"
    station.wait(lambda: '"paused": true' in status_file.read_text(), 5, "printer paused")
    label.set_paper("ok")
    station.wait(lambda: station.job(order["id"])["status"] == "done", 15, "printed after paper")
    assert len([j for j in label.jobs() if j.get("printed", True)]) == 1


@pytest.mark.allow_errors
def test_offline_printer_keeps_jobs_queued_until_back(station):
    label = station.emulators["label"]
    label.set_online(False)
    order = station.orders[1]
    station.pack(order)
    time.sleep(1.0)
    assert station.job(order["id"])["status"] == "queued"
    label.set_online(True)
    station.wait(lambda: station.job(order["id"])["status"] == "done", 15, "printed when back")


@pytest.mark.allow_errors
def test_broken_config_exits_78_and_the_kiosk_says_what_to_fix(tmp_path):
    port = free_port()
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[station]\nid = "BAD ID"\nbogus = 1\n[http]\nport = {port}\n', "utf-8")
    for service in ("spooler", "scanner"):
        proc = subprocess.run(
            [sys.executable, "-m", "edge.cli", service, "--config", str(bad)],
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 78, proc.stderr
        assert b"station.id" in proc.stderr and b"station.bogus" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "edge.cli", "check-config", str(bad)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 78
    assert b"station.tenant" in proc.stderr  # a missing key is reported by its path

    kiosk = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "kiosk", "--config", str(bad)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        Station.wait(lambda: _status(url + "/") == 503, 20, "safe mode page")
        with pytest.raises(urllib.error.HTTPError) as page:
            urllib.request.urlopen(url + "/pack", timeout=5)
        text = page.value.read().decode()
        page.value.close()
        assert "station.bogus" in text and "check-config" in text
        with pytest.raises(urllib.error.HTTPError) as health:
            urllib.request.urlopen(url + "/healthz", timeout=5)
        assert json.loads(health.value.read())["error"]["code"] == "needs_configuration"
        health.value.close()
    finally:
        kiosk.send_signal(signal.SIGTERM)
        kiosk.wait(20)
    assert kiosk.returncode == 78


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        err.close()
        return err.code
    except OSError:
        return None


def children_of(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_station_command_runs_each_service_as_its_own_process(tmp_path):
    station = Station(tmp_path / "st")
    log = open(tmp_path / "station.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "station", "--config", str(station.config_path)],
        stdout=log,
        stderr=log,
    )
    try:
        station.wait(station.healthy, 30, "kiosk")
        station.wait((station.config.runtime_dir / "scanner-bench.sock").exists, 20, "scanner")
        children = children_of(proc.pid)
        assert len(children) == 4  # kiosk, scanner, spooler, sync
        order = station.orders[0]
        station.pack(order)
        station.wait(lambda: (station.job(order["id"]) or {}).get("status") == "done", 15, "label")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
        station.stop()
    assert proc.returncode == 0
    assert children_of(proc.pid) == []
    for pid in children:
        assert not Path(f"/proc/{pid}").exists()
