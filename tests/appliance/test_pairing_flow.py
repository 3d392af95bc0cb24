"""First-boot pairing end to end with real processes: a hub, a broker, and a new station
(kiosk, spooler, sync under the supervisor) with an emulated receipt printer. The station
shows its code and prints a ticket with a QR; an operator claims the code through the hub
API; the station fetches its credentials, restarts its sync service and connects."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from edge.emulator.server import PrinterEmulator
from tests.broker.mosquitto import Mosquitto
from tests.conftest import REPO, free_port, write_config

pytestmark = pytest.mark.slow


def request(url, body=None, token=None, method=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            return resp.status, raw.decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def spawn(argv, log):
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "edge.cli", *argv],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def test_new_station_pairs_through_the_hub(tmp_path):
    broker = Mosquitto(tmp_path / "broker", users={"hub": "hub-secret"}).start()
    (tmp_path / "hub-password").write_text("hub-secret\n")
    hub_port = free_port()
    hub_toml = tmp_path / "hub.toml"
    hub_toml.write_text(f"""
[hub]
database = "{tmp_path / "hub.db"}"
tenants = ["test"]

[mqtt]
url = "{broker.url}"
username = "hub"
password_file = "{tmp_path / "hub-password"}"

[http]
port = {hub_port}
token_file = "{tmp_path / "api-token"}"

[pairing]
station_mqtt_url = "{broker.url}"
broker_password_file = "{broker.password_file}"
""")
    printer = PrinterEmulator("127.0.0.1", free_port(), tmp_path / "printed")
    printer.start()
    station_toml = write_config(
        tmp_path / "station",
        f"""
[pairing]
hub_url = "http://127.0.0.1:{hub_port}"
poll_s = 0.3

[sync]
reconnect_min_s = 0.2
reconnect_max_s = 1.0

[printers.receipt]
type = "network"
role = "receipt"
host = "127.0.0.1"
port = {printer.port}
""",
        station_id="st-new",
    )
    station_toml.write_text(
        station_toml.read_text().replace('[mqtt]\nurl = "mqtt://127.0.0.1:9"\n', "")
    )
    port = re.search(r"port = (\d+)", station_toml.read_text())
    assert port is not None
    kiosk = f"http://127.0.0.1:{port[1]}"
    hub_url = f"http://127.0.0.1:{hub_port}"
    hub = spawn(["hub", "--config", str(hub_toml)], tmp_path / "hub.log")
    station = spawn(
        ["station", "--config", str(station_toml), "--only", "kiosk,spooler,sync"],
        tmp_path / "station.log",
    )
    try:
        wait_for(lambda: request(hub_url + "/healthz")[0] == 200, 60, "the hub")
        token = (tmp_path / "api-token").read_text().strip()

        # The kiosk shows the pairing screen with the station id and the code.
        def pairing_page():
            status, page = request(kiosk + "/")
            return page if status == 200 and "pairing-code" in page else None

        page = wait_for(pairing_page, 60, "the pairing screen")
        found = re.search(r'data-testid="pairing-code">([0-9A-Z]{4}-[0-9A-Z]{4})<', page)
        assert found is not None, page
        code = found[1]
        assert 'data-testid="pairing-station">st-new<' in page
        assert 'src="data:image/svg+xml;base64,' in page

        # The ticket was printed once, and its QR holds the station id and the code.
        tickets = wait_for(lambda: sorted(Path(printer.out_dir).glob("*.png")), 30, "the ticket")
        decoded = subprocess.run(
            [sys.executable, "-m", "edge.cli", "decode", str(tickets[0])],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"station=st-new&code={code.replace('-', '')}" in decoded

        # The hub lists the waiting station; a claim needs the token and the right code.
        status, body = request(hub_url + "/api/v1/pairing", token=token)
        assert status == 200 and json.loads(body)["pending"][0]["station"] == "st-new"
        claim = {"station_id": "st-new", "code": code, "by": "operator"}
        assert request(hub_url + "/api/v1/pairing/claim", claim)[0] == 401
        wrong = {**claim, "code": "2222-2222"}
        status, body = request(hub_url + "/api/v1/pairing/claim", wrong, token)
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
        status, body = request(hub_url + "/api/v1/pairing/claim", {"code": 5}, token)
        assert status == 400 and json.loads(body)["error"]["message"]
        status, body = request(hub_url + "/api/v1/pairing/claim", claim, token)
        assert status == 201, body
        assert broker.pid is not None
        os.kill(broker.pid, signal.SIGHUP)  # what printstation-hub-broker-reload.path does

        # The station takes its credentials, restarts sync and appears at the hub.
        def registered():
            status, body = request(hub_url + "/api/v1/stations", token=token)
            return status == 200 and any(s["id"] == "st-new" for s in json.loads(body)["stations"])

        wait_for(registered, 60, "the paired station at the hub")
        data = tmp_path / "station"
        secret = data / "secrets" / "mqtt-password"
        assert secret.stat().st_mode & 0o777 == 0o600
        overrides = json.loads((data / "config-overrides.json").read_text())
        assert overrides["mqtt.username"] == "st-new"
        assert overrides["mqtt.password_file"] == str(secret)
        assert "pairing-code" not in request(kiosk + "/")[1]
        assert len(list(Path(printer.out_dir).glob("*.png"))) == 1  # the ticket printed once
        log = (tmp_path / "station.log").read_text()
        assert "paired with the hub" in log and "sync exited with 75" in log
    finally:
        station_rc = stop(station)
        hub_rc = stop(hub)
        printer.stop()
        broker.stop()
    assert station_rc == 0, (tmp_path / "station.log").read_text()[-3000:]
    assert hub_rc == 0, (tmp_path / "hub.log").read_text()[-3000:]
