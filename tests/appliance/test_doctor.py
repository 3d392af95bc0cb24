"""`printstation doctor`: ok/warn/fail with a fix for each check, exit 1 on any failure;
against broken configs, corrupt and intact databases, a full disk, a wrong clock, printer
emulators up and down, and real brokers reachable, unreachable and refusing the login."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from edge import doctor
from edge.emulator.server import PrinterEmulator
from edge.store import Store
from tests.broker.mosquitto import Mosquitto
from tests.conftest import REPO, free_port, write_config


def by_check(results):
    return {r.check: r for r in results}


@pytest.fixture
def printer(tmp_path):
    emulator = PrinterEmulator("127.0.0.1", free_port(), tmp_path / "printed")
    emulator.start()
    yield emulator
    emulator.stop()


def station(tmp_path, extra="", **kwargs):
    return write_config(tmp_path / "station", extra, **kwargs)


def network_printer(port):
    return f"""
[printers.receipt]
type = "network"
role = "receipt"
host = "127.0.0.1"
port = {port}
status_timeout_s = 1.0
"""


def test_broken_config_fails_alone_with_the_fix(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\nid = "st-01"\ntenant = "t"\nstore = "s"\n[http]\nport = 0\n')
    results = doctor.run_checks(bad)
    assert [(r.check, r.status) for r in results] == [("config", "fail")]
    assert "http.port" in results[0].detail
    assert results[0].fix == f"printstation check-config {bad}"


def test_unreadable_config(tmp_path):
    [result] = doctor.run_checks(tmp_path / "missing.toml")
    assert result.status == "fail" and "cannot read" in result.detail


def test_healthy_station_with_printer_and_broker(tmp_path, printer, broker):
    config = station(tmp_path, network_printer(printer.port), mqtt_url=broker.url)
    Store(tmp_path / "station" / "station.db").close()  # migrates a fresh database
    checks = by_check(doctor.run_checks(config, timeout=2))
    assert checks["config"].status == "ok"
    assert checks["database"].status == "ok" and "intact" in checks["database"].detail
    assert checks["disk"].status == "ok"
    assert checks["clock"].status in ("ok", "warn")
    assert checks["printer receipt"].status == "ok", checks["printer receipt"]
    assert checks["broker"].status == "ok"
    assert checks["credentials"].status == "warn"  # no password: not paired yet
    assert "pair" in checks["credentials"].fix


def test_printer_down_then_up(tmp_path, printer):
    config = station(tmp_path, network_printer(printer.port))
    printer.stop()
    down = by_check(doctor.run_checks(config, timeout=1))["printer receipt"]
    assert down.status == "fail" and down.fix
    printer.start()  # same port again
    up = by_check(doctor.run_checks(config, timeout=1))["printer receipt"]
    assert up.status == "ok", up


def test_unreachable_broker_fails(tmp_path, broker):
    config = station(tmp_path, mqtt_url=broker.url)
    broker.stop()
    result = by_check(doctor.run_checks(config, timeout=1))["broker"]
    assert result.status == "fail" and "unreachable" in result.detail
    assert "network" in result.fix


def test_login_with_wrong_and_right_password(tmp_path):
    broker = Mosquitto(tmp_path / "broker", users={"st-01": "right"}).start()
    try:
        secret = tmp_path / "mqtt-password"
        extra = f'\n[mqtt]\nurl = "{broker.url}"\npassword_file = "{secret}"\n'
        base = station(tmp_path).read_text().replace('[mqtt]\nurl = "mqtt://127.0.0.1:9"\n', "")
        config = tmp_path / "station" / "station.toml"
        config.write_text(base + extra)
        secret.write_text("wrong\n")
        refused = by_check(doctor.run_checks(config, timeout=3, login=True))["broker"]
        assert refused.status == "fail" and "refused" in refused.detail
        secret.write_text("right\n")
        checks = by_check(doctor.run_checks(config, timeout=3, login=True))
        assert checks["broker"].status == "ok" and "logged in" in checks["broker"].detail
        assert checks["credentials"].status == "ok"
        secret.unlink()
        assert by_check(doctor.run_checks(config, timeout=3))["credentials"].status == "fail"
    finally:
        broker.stop()


def test_credentials_laid_out_like_systemd(tmp_path, monkeypatch):
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = station(tmp_path)
    text = config.read_text().replace(
        '[mqtt]\nurl = "mqtt://127.0.0.1:9"\n',
        '[mqtt]\nurl = "mqtt://127.0.0.1:9"\npassword_file = "station_mqtt-password"\n',
    )
    config.write_text(text)
    (config.parent / "credentials").mkdir()
    (config.parent / "credentials" / "mqtt-password").write_text("secret\n")
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "doctor", "--config", str(config), "--timeout", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "ok    credentials" in out.stdout, out.stdout


def test_corrupt_database_fails(tmp_path):
    config = station(tmp_path)
    db = tmp_path / "station" / "station.db"
    Store(db).close()
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for start in range(page, len(data), page):
        data[start] = 0xEE  # not a b-tree page type: every table page is now damaged
    db.write_bytes(bytes(data))
    result = by_check(doctor.run_checks(config, timeout=1))["database"]
    assert result.status == "fail" and "restore" in result.fix


def test_not_a_database_fails(tmp_path):
    config = station(tmp_path)
    (tmp_path / "station" / "station.db").write_bytes(b"this is not sqlite" * 100)
    result = by_check(doctor.run_checks(config, timeout=1))["database"]
    assert result.status == "fail"


def test_full_disk_fails_and_nearly_full_warns(tmp_path, monkeypatch):
    config = station(tmp_path)
    free_mb = doctor.shutil.disk_usage(tmp_path).free // doctor.MB
    monkeypatch.setattr(doctor, "DISK_FAIL_MB", free_mb + 10)
    assert by_check(doctor.run_checks(config, timeout=1))["disk"].status == "fail"
    monkeypatch.setattr(doctor, "DISK_FAIL_MB", 1)
    monkeypatch.setattr(doctor, "DISK_WARN_MB", free_mb + 10)
    assert by_check(doctor.run_checks(config, timeout=1))["disk"].status == "warn"


def test_clock_before_the_install_fails(tmp_path):
    config = station(tmp_path)
    result = by_check(doctor.run_checks(config, now=time.time() - 10 * 365 * 86400))["clock"]
    assert result.status == "fail" and "timedatectl" in result.fix


def test_missing_scanner_devices_fail(tmp_path):
    extra = """
[scanners.serial]
type = "serial"
port = "/dev/ttyACM97"

[scanners.cam]
type = "camera"
device = "/dev/video97"

[scanners.sim]
type = "simulated"
"""
    checks = by_check(doctor.run_checks(station(tmp_path, extra), timeout=1))
    assert checks["scanner serial"].status == "fail"
    assert checks["scanner cam"].status == "fail"
    assert checks["scanner sim"].status == "ok"


def test_command_prints_report_and_exits_1_on_failure(tmp_path, printer):
    config = station(tmp_path, network_printer(printer.port))
    printer.stop()
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "doctor", "--config", str(config), "--timeout", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert "FAIL  printer receipt" in out.stdout
    assert "fix:" in out.stdout
    assert out.stdout.rstrip().splitlines()[-1].endswith("ok")


def test_command_exits_0_when_nothing_fails(tmp_path, printer, broker):
    config = station(tmp_path, network_printer(printer.port), mqtt_url=broker.url)
    conn = sqlite3.connect(tmp_path / "station" / "station.db")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "doctor", "--config", str(config), "--timeout", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout
    assert "0 failed" in out.stdout
