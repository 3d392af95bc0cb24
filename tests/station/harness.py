"""Run a real station — kiosk, scanner and spooler as their own processes — against printer
emulators over real TCP, for end-to-end and fault tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from edge.config import StationConfig, load_config
from edge.emulator.server import PrinterEmulator
from edge.sample import seed
from edge.scanner.simulate import simulate_scan
from edge.store import Store
from tests.conftest import REPO, write_config

SERVICES = ("kiosk", "scanner", "spooler")


class Station:
    def __init__(
        self,
        root: Path,
        *,
        label_speed_mm_s: float | None = None,
        extra_toml: str = "",
        kiosk_scanner: bool = False,
    ):
        """``extra_toml`` adds config sections (e.g. ``[kiosk]``); ``kiosk_scanner`` adds a
        simulated scanner ``counter`` whose scans go to the customer screen."""
        self.root = root
        self.emulators = {
            "receipt": PrinterEmulator("127.0.0.1", 0, root / "printed" / "receipt"),
            "label": PrinterEmulator(
                "127.0.0.1",
                0,
                root / "printed" / "label",
                speed_mm_s=label_speed_mm_s,
                width_dots=800,
            ),
        }
        for emulator in self.emulators.values():
            emulator.start()
        printers = "".join(
            f"""
[printers.{name}]
type = "network"
role = "{name}"
language = "{"tspl" if name == "label" else "escpos"}"
host = "127.0.0.1"
port = {emu.port}
"""
            for name, emu in self.emulators.items()
        )
        scanners = """
[scanners.bench]
type = "simulated"
debounce_ms = 0
"""
        if kiosk_scanner:
            scanners += """
[scanners.counter]
type = "simulated"
purpose = "kiosk"
debounce_ms = 0
"""
        self.config_path = write_config(root, printers + scanners + extra_toml)
        self.config: StationConfig = load_config(self.config_path)
        store = Store(self.config.db_path)
        with store.write() as conn:
            self.orders = seed(conn, self.config.station.id)
        store.close()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = root / "logs"
        self.logs.mkdir(exist_ok=True)

    # -- processes ---------------------------------------------------------------------
    def start(self, *services: str) -> None:
        for name in services or SERVICES:
            log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", name, "--config", str(self.config_path)],
                cwd=REPO,
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            log.close()
        if "kiosk" in (services or SERVICES):
            self.wait(self.healthy, 20, "kiosk /healthz")
        if "scanner" in (services or SERVICES):
            for scanner, settings in self.config.scanners.items():
                if settings.type != "simulated":
                    continue
                self.wait(
                    (self.config.runtime_dir / f"scanner-{scanner}.sock").exists,
                    20,
                    f"simulated scanner socket {scanner}",
                )
        if "spooler" in (services or SERVICES):
            self.wait((self.config.runtime_dir / "notify-spooler.sock").exists, 20, "spooler")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(10)

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            self.kill(name, signal.SIGTERM)
        for emulator in self.emulators.values():
            emulator.stop()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def wait(predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def url(self, path: str = "") -> str:
        return self.config.kiosk_url + path

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/healthz"), timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def api(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url(path),
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.config.api_token}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def scan(self, code: str, scanner: str = "bench") -> None:
        simulate_scan(code, self.config.runtime_dir, scanner)

    def card_next(self, outcome: str) -> None:
        """Tell the simulated card terminal how its next charge ends: approve, decline, timeout."""
        path = self.config.runtime_dir / "card-terminal.json"
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps({"next": outcome}), encoding="utf-8")
        partial.replace(path)

    def pack(self, order: dict[str, Any]) -> None:
        """Scan an order and every unit of it, as a packer would."""
        self.scan(order["number"])
        for line in order["lines"]:
            for _ in range(line["qty"]):
                self.scan(line["sku"])

    def job(self, order_id: str) -> dict[str, Any] | None:
        _, body = self.api("GET", f"/api/v1/print-jobs?order_id={order_id}")
        jobs = body["print_jobs"]
        return jobs[0] if jobs else None
