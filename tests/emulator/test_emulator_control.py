"""The HTTP control interface and the command-line entry point."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.emulator.server import PrinterEmulator

from .helpers import ask, receipt_job

EmulatorFactory = Callable[..., PrinterEmulator]
READY = re.compile(
    r"^printer-emulator listening on 127\.0\.0\.1:(\d+) \(control 127\.0\.0\.1:(\d+)\), out=(.+)$"
)
ROOT = Path(__file__).resolve().parents[2]


def call(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


@pytest.fixture
def controlled(make_emulator: EmulatorFactory) -> PrinterEmulator:
    return make_emulator(control_port=0)


def test_status_paper_and_online(controlled: PrinterEmulator) -> None:
    port = controlled.control_port
    assert port is not None

    status, body = call(port, "GET", "/status")
    assert status == 200
    assert body["paper"] == "ok" and body["online"] is True and body["jobs"] == 0

    status, body = call(port, "POST", "/paper", {"state": "out"})
    assert status == 200 and body["paper"] == "out"
    assert controlled.state.paper == "out"

    status, body = call(port, "POST", "/online", {"online": False})
    assert status == 200 and body["online"] is False
    assert controlled.state.online is False


def test_jobs_are_listed(controlled: PrinterEmulator) -> None:
    port = controlled.control_port
    assert port is not None
    with socket.create_connection(("127.0.0.1", controlled.port), timeout=5) as sock:
        sock.sendall(receipt_job())
    controlled.wait_for_jobs(1)

    status, body = call(port, "GET", "/jobs")

    assert status == 200
    assert [job["file"] for job in body] == ["000001-escpos.png"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/paper", {"state": "full"}, 400, "bad_state"),
        ("POST", "/online", {"online": "yes"}, 400, "bad_state"),
        ("POST", "/paper", ["out"], 400, "bad_json"),
        ("GET", "/paper", None, 405, "method_not_allowed"),
        ("GET", "/nowhere", None, 404, "not_found"),
    ],
)
def test_errors_share_one_shape(
    controlled: PrinterEmulator, method: str, path: str, body: Any, status: int, code: str
) -> None:
    port = controlled.control_port
    assert port is not None

    got_status, got = call(port, method, path, body)

    assert got_status == status
    assert got["error"]["code"] == code and got["error"]["message"]


def test_main_prints_ready_line_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = (
        "from edge.emulator.server import main; "
        f"raise SystemExit(main(['--port', '0', '--control-port', '0', '--out', {str(out)!r}]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = READY.match(line)
        assert match, line
        port, control_port = int(match[1]), int(match[2])
        assert Path(match[3]) == out

        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            assert ask(sock, b"\x10\x04\x01") == b"\x16"
            sock.sendall(receipt_job())
            assert ask(sock, b"\x10\x04\x04") == b"\x12"
        assert call(control_port, "POST", "/paper", {"state": "low"})[1]["paper"] == "low"

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
    assert (out / "000001-escpos.png").is_file()
