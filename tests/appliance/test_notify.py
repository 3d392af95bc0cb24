"""Each station service speaks systemd's notify protocol as its unit expects: READY=1 once
started, WATCHDOG=1 at half the watchdog period while its workers run, STOPPING=1 on SIGTERM,
and exit 0; with a broken config it exits 78 (which the units do not restart)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, write_config

pytestmark = pytest.mark.slow
PRINTER = """
[printers.receipt]
type = "simulated"
role = "receipt"

[scanners.sim]
type = "simulated"
"""


def notifications(sock: socket.socket, until: str, timeout: float = 30.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while until not in seen:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    return seen


@pytest.mark.parametrize("service", ["kiosk", "scanner", "spooler", "sync"])
def test_service_notifies_ready_watchdog_and_stopping(tmp_path, service):
    config = write_config(tmp_path / "station", PRINTER)
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "200000"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", service, "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            seen = notifications(sock, "READY=1")
            assert proc.stderr is not None
            assert "READY=1" in seen, proc.stderr.read() if proc.poll() is not None else seen
            pings = 0
            while pings < 3:
                message = notifications(sock, "WATCHDOG=1", timeout=10)
                assert "WATCHDOG=1" in message
                pings += 1
            proc.send_signal(signal.SIGTERM)
            assert "STOPPING=1" in notifications(sock, "STOPPING=1")
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()


@pytest.mark.allow_errors
def test_broken_config_exits_78(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\nid = "NOT VALID"\n', encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "edge.cli", "spooler", "--config", str(bad)],
        cwd=REPO,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 78
