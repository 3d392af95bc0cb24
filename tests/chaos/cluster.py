"""The system under test, all real processes: a mosquitto broker, a hub as one ``web`` and
two ``ingest`` processes on SQLite or PostgreSQL, and stations (kiosk, scanner, spooler and
sync each its own process, printer emulators over TCP), each station's sync agent reaching
the broker through its own :class:`~tests.chaos.proxy.Proxy`."""

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

from sqlalchemy import select

from cloud.db import make_engine, read_only
from cloud.schema import stream_state
from edge.config import load_config
from edge.emulator.server import PrinterEmulator
from edge.sample import products, seed
from edge.store import Store, outbox
from tests.broker.mosquitto import Mosquitto
from tests.chaos.proxy import Proxy
from tests.conftest import REPO, write_config
from tests.hub.conftest import hub_toml
from tests.station.harness import Station

STATION_SERVICES = ("kiosk", "scanner", "spooler", "sync")
FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
STORE = "store-01"
SKUS = ("DRK-001", "DRK-002", "SNK-001", "SNK-002")


def _popen(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PRINTSTATION_LOG": "INFO", **(env or {})},
        )


class ChaosStation(Station):
    """A :class:`Station` with its own id, a broker URL (its proxy), a sync agent, no
    opening stock (the hub allots it) and services that can be restarted with a skewed
    clock."""

    def __init__(self, root: Path, station_id: str, broker_url: str, seed_no: int):
        self.root = root
        self.station_id = station_id
        self.emulators = {
            "receipt": PrinterEmulator("127.0.0.1", 0, root / "printed" / "receipt"),
            "label": PrinterEmulator("127.0.0.1", 0, root / "printed" / "label", width_dots=800),
        }
        for emulator in self.emulators.values():
            emulator.start()
        printers = "".join(
            f'\n[printers.{name}]\ntype = "network"\nrole = "{name}"\n'
            f'language = "{"tspl" if name == "label" else "escpos"}"\n'
            f'host = "127.0.0.1"\nport = {emu.port}\n'
            for name, emu in self.emulators.items()
        )
        extra = (
            printers
            + """
[scanners.bench]
type = "simulated"
debounce_ms = 0

[sync]
ack_timeout_s = 2.0
telemetry_interval_s = 5.0
reconnect_min_s = 0.2
reconnect_max_s = 1.0
"""
        )
        self.config_path = write_config(root, extra, station_id=station_id, mqtt_url=broker_url)
        self.config = load_config(self.config_path)
        store = Store(self.config.db_path)
        with store.write() as conn:
            self.orders = seed(conn, station_id, stock_each=0, order_count=8, seed_no=seed_no)
        store.close()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = root / "logs"
        self.logs.mkdir(exist_ok=True)
        self.skew: dict[str, str] = {}  # service -> libfaketime offset while skewed
        self.paused: set[str] = set()

    def launch(self, name: str, skew: str | None = None) -> None:
        """Start one service; ``skew`` (e.g. ``"+2h"``) runs it under libfaketime."""
        env: dict[str, str] = {}
        if skew:
            env = {
                "LD_PRELOAD": str(FAKETIME_LIB),
                "FAKETIME": skew,
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "FAKETIME_NO_CACHE": "1",
            }
            self.skew[name] = skew
        else:
            self.skew.pop(name, None)
        argv = [sys.executable, "-m", "edge.cli", name, "--config", str(self.config_path)]
        self.procs[name] = _popen(argv, self.logs / f"{name}.log", env)
        self.paused.discard(name)
        if name == "kiosk":
            self.wait(self.healthy, 30, f"{self.station_id} kiosk /healthz")
        elif name == "scanner":
            sock = self.config.runtime_dir / "scanner-bench.sock"
            self.wait(sock.exists, 30, f"{self.station_id} scanner socket")
        elif name == "spooler":
            sock = self.config.runtime_dir / "notify-spooler.sock"
            self.wait(sock.exists, 30, f"{self.station_id} spooler")

    def start(self, *services: str) -> None:
        for name in services or STATION_SERVICES:
            self.launch(name)

    def send(self, name: str, sig: int) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if name in self.paused:
            proc.send_signal(signal.SIGCONT)
            self.paused.discard(name)
        proc.send_signal(sig)
        proc.wait(15)

    def restart(self, name: str, skew: str | None = None) -> None:
        self.kill(name)
        if name == "scanner":  # a killed scanner leaves its socket behind
            (self.config.runtime_dir / "scanner-bench.sock").unlink(missing_ok=True)
        self.launch(name, skew)

    def pid(self, name: str) -> int | None:
        proc = self.procs.get(name)
        return proc.pid if proc is not None and proc.poll() is None else None

    def dead(self) -> list[str]:
        """Services that exited on their own (not killed by the nemesis)."""
        return [n for n, p in self.procs.items() if p.poll() is not None]

    def outbox_depth(self) -> int:
        db = Store(self.config.db_path)
        try:
            return int(outbox.depth(db.conn()))
        finally:
            db.close()

    def jobs_settled(self) -> bool:
        db = Store(self.config.db_path)
        try:
            rows = (
                db.conn()
                .execute("SELECT COUNT(*) FROM print_jobs WHERE status IN ('queued', 'printing')")
                .fetchone()
            )
            return int(rows[0]) == 0
        finally:
            db.close()


class HubProcesses:
    """The hub as real processes: ``web`` (HTTP API and dn dispatcher) and ingest workers."""

    def __init__(self, root: Path, database: str, broker_url: str, ingest: int = 2):
        self.root = root
        self.config = hub_toml(root, database, broker_url)
        self.database = database
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.names = ["web", *(f"ingest-{i}" for i in range(1, ingest + 1))]
        self.paused: set[str] = set()
        text = self.config.read_text(encoding="utf-8")
        self.port = int(text.split("port = ")[1].split()[0])
        self.token_file = root / "api-token"

    def launch(self, name: str) -> None:
        role = "web" if name == "web" else "ingest"
        argv = [
            sys.executable,
            "-m",
            "edge.cli",
            "hub",
            "--config",
            str(self.config),
            "--role",
            role,
        ]
        self.procs[name] = _popen(argv, self.logs / f"{name}.log")
        self.paused.discard(name)
        if name == "web":
            Station.wait(self.healthy, 60, "hub web /healthz")

    def start(self) -> None:
        for name in self.names:
            self.launch(name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if name in self.paused:
            proc.send_signal(signal.SIGCONT)
            self.paused.discard(name)
        proc.send_signal(sig)
        proc.wait(20)

    def restart(self, name: str) -> None:
        self.kill(name)
        self.launch(name)

    def send(self, name: str, sig: int) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)

    def dead(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.poll() is not None]

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
        """(status, body); raises OSError (incl. timeouts) when no answer came."""
        token = self.token_file.read_text(encoding="utf-8").strip()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode()}


class Cluster:
    """Everything for one campaign, under ``root``."""

    def __init__(self, root: Path, database: str, stations: int, seed: int):
        self.root = root
        self.broker = Mosquitto(root / "broker")
        self.broker.start()
        self.hub = HubProcesses(root / "hub", database, self.broker.url)
        self.hub.start()
        self.proxies: dict[str, Proxy] = {}
        self.stations: dict[str, ChaosStation] = {}
        for i in range(stations):
            sid = f"st-{i + 1:02d}"
            proxy = Proxy(self.broker.host, self.broker.port, seed=seed + i, name=sid).start()
            self.proxies[sid] = proxy
            self.stations[sid] = ChaosStation(root / sid, sid, proxy.url, i)
        for station in self.stations.values():
            station.start()
        self.engine = make_engine(database)

    def seed_hub(self, received: int, allotted: int) -> None:
        """Catalog, stock in the store and an allotment for every station."""

        def known() -> bool:
            _, body = self.hub.api("GET", "/api/v1/stations")
            found = {s["id"] for s in body["stations"] if s.get("store")}
            return set(self.stations) <= found

        Station.wait(known, 60, "every station known to the hub")
        status, body = self.hub.api("PUT", "/api/v1/catalog", {"products": products()})
        assert status == 200, body
        for sku in SKUS:
            status, body = self.hub.api(
                "POST",
                "/api/v1/stock/receipts",
                {"store": STORE, "sku": sku, "qty": received, "ref": "opening"},
            )
            assert status in (200, 201), body
            for sid in self.stations:
                status, body = self.hub.api(
                    "POST",
                    "/api/v1/stock/allotments",
                    {"station": sid, "sku": sku, "qty": allotted},
                )
                assert status in (200, 201), body

    def heal(self) -> None:
        """Every fault off, every process running with a true clock."""
        for proxy in self.proxies.values():
            proxy.heal()
        if not self.broker.running:
            self.broker.start()
        for name in list(self.hub.paused):
            self.hub.send(name, signal.SIGCONT)
            self.hub.paused.discard(name)
        for name in self.hub.names:
            if name not in self.hub.procs or self.hub.procs[name].poll() is not None:
                self.hub.procs.pop(name, None)
                self.hub.launch(name)
        for station in self.stations.values():
            for name in list(station.paused):
                station.send(name, signal.SIGCONT)
                station.paused.discard(name)
            pid = station.pid("kiosk")
            if pid is not None:
                subprocess.run(["prlimit", f"--pid={pid}", "--fsize=unlimited"], check=False)
            for name in STATION_SERVICES:
                running = name in station.procs and station.procs[name].poll() is None
                if not running or name in station.skew:
                    station.restart(name)

    def dn_lag(self) -> dict[str, int]:
        """Per station: dn events the hub made that the station has not acked."""
        with read_only(self.engine) as conn:
            rows = conn.execute(
                select(stream_state.c.station, stream_state.c.seq, stream_state.c.acked).where(
                    stream_state.c.stream == "dn"
                )
            ).all()
        return {r.station: int(r.seq) - int(r.acked) for r in rows}

    def quiet(self) -> bool:
        if any(s.outbox_depth() for s in self.stations.values()):
            return False
        if any(self.dn_lag().values()):
            return False
        return all(s.jobs_settled() for s in self.stations.values())

    def quiesce(self, timeout: float) -> str | None:
        """Wait until every outbox is empty and acked, every dn acked and every print job
        finished; None then, else what is still not quiet (the checker says the rest)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.quiet():
                time.sleep(1.0)  # an ack in flight, a top-up just granted
                if self.quiet():
                    return None
            time.sleep(0.5)
        detail = {sid: s.outbox_depth() for sid, s in self.stations.items()}
        return f"not quiet after {timeout} s: outbox {detail}, dn lag {self.dn_lag()}"

    def stop(self) -> None:
        for station in self.stations.values():
            for name in list(station.procs):
                station.kill(name, signal.SIGTERM)
            for emulator in station.emulators.values():
                emulator.stop()
        for proxy in self.proxies.values():
            proxy.stop()
        self.hub.stop()
        self.broker.stop()
        self.engine.dispose()


def job_statuses(station: ChaosStation) -> list[dict[str, Any]]:
    db = Store(station.config.db_path)
    try:
        return [
            dict(r)
            for r in db.conn().execute(
                "SELECT j.id, j.printer, j.kind, j.status, j.order_id, o.number "
                "FROM print_jobs j LEFT JOIN orders o ON o.id = j.order_id ORDER BY j.id"
            )
        ]
    finally:
        db.close()
