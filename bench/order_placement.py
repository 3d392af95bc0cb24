"""Benchmark: order placement through the kiosk's real HTTP server (waitress, as the systemd
unit runs it) with concurrent keep-alive clients, against a bare Flask + SQLite baseline.

Station: the kiosk as its own process (``python -m edge.cli kiosk --config FILE``) with the
sample catalog, enough stock that no order is refused, and a receipt printer, so each order
also queues its ticket (the spooler does not run). Every client POSTs ``/api/v1/orders`` with
the bearer token and a fresh ``Idempotency-Key``; every answer must be 201.

Baseline, same run, same client code: a Flask app with one endpoint that inserts one row into
SQLite through the station's own connection settings (WAL, ``synchronous=FULL``, one
connection per thread, ``BEGIN IMMEDIATE`` … ``COMMIT``), on waitress with the same number of
threads, in its own process.

Each server's CPU time per order (from ``/proc``) and the clients' are printed too: on a
small machine both share the same cores.

Targets: station throughput ≥ 0.5× the baseline's, station p99 ≤ 100 ms. Figures are
reported, not asserted: the exit status is 0 either way.

Usage: python bench/order_placement.py [--clients 16] [--seconds 20 | --orders N]
       python bench/order_placement.py --serve-baseline PORT DB [--threads 16]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flask import Flask, Response, jsonify, request  # noqa: E402
from waitress.server import create_server  # noqa: E402

from bench.results import Results, add_json_option  # noqa: E402
from edge.store import Store, stock  # noqa: E402
from edge.store.db import connect, transaction  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.station.harness import Station  # noqa: E402

PATH = "/api/v1/orders"
ORDER: dict[str, Any] = {
    "lines": [{"sku": "DRK-001", "qty": 1}, {"sku": "SNK-002", "qty": 2}],
    "payment": "counter",
}
#: Receipts added to every SKU of an order, far beyond what a run can sell (no 409s).
STOCK = 10_000_000
WARMUP_PER_CLIENT = 5


# -- the baseline server ---------------------------------------------------------------


def baseline_app(db: Path) -> Flask:
    """One endpoint: parse the JSON body and insert one row, one durable commit."""
    local = threading.local()
    with transaction(connect(db)) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, key TEXT NOT NULL, "
            "body TEXT NOT NULL, at REAL NOT NULL)"
        )
    app = Flask(__name__)

    @app.post(PATH)
    def place() -> tuple[Response, int]:
        body = request.get_json()
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = connect(db)
        with transaction(conn):
            cur = conn.execute(
                "INSERT INTO orders (key, body, at) VALUES (?,?,?)",
                (request.headers.get("Idempotency-Key", ""), json.dumps(body), time.time()),
            )
        return jsonify({"id": cur.lastrowid}), 201

    return app


def serve_baseline(port: int, db: Path, threads: int) -> int:
    server = create_server(baseline_app(db), host="127.0.0.1", port=port, threads=threads)
    server.run()
    return 0


# -- the clients -----------------------------------------------------------------------


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # seconds, 201 answers only
    failures: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0
    server_cpu: float | None = None  # seconds of the server process during the run
    client_cpu: float = 0.0  # seconds of this process (the clients) during the run

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def per_order(self, seconds: float | None) -> str:
        if seconds is None or not self.latencies:
            return "?"
        return f"{seconds / len(self.latencies) * 1000:.2f}"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux ``/proc``), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def drive(
    port: int,
    token: str,
    tag: str,
    clients: int,
    *,
    seconds: float | None = None,
    orders: int | None = None,
) -> Run:
    """``clients`` threads, each with its own keep-alive connection, placing orders until
    ``seconds`` have passed or ``orders`` have been sent in all."""
    payload = json.dumps(ORDER).encode()
    tickets = itertools.count()
    clock: dict[str, float] = {}
    ends: list[float] = []
    run = Run()
    lock = threading.Lock()
    barrier = threading.Barrier(clients, action=lambda: clock.update(start=time.perf_counter()))

    def more() -> bool:
        if orders is not None:
            return next(tickets) < orders
        return time.perf_counter() < clock["start"] + (seconds or 0)

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        latencies: list[float] = []
        failures: Counter[str] = Counter()
        barrier.wait()
        for i in itertools.count():
            if not more():
                break
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"{tag}-{n}-{i}",
            }
            t0 = time.perf_counter()
            try:
                conn.request("POST", PATH, body=payload, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as err:
                failures[f"{type(err).__name__}: {err}"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            elapsed = time.perf_counter() - t0
            if resp.status == 201:
                latencies.append(elapsed)
            else:
                failures[f"{resp.status} {data[:200].decode(errors='replace')}"] += 1
            if resp.will_close:
                conn.close()
        conn.close()
        with lock:
            run.latencies.extend(latencies)
            run.failures.update(failures)
            ends.append(time.perf_counter())

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    run.wall = max(ends) - clock["start"]
    return run


def measure(pid: int, port: int, token: str, tag: str, args: argparse.Namespace) -> Run:
    """Warm up (connections, server threads and their SQLite connections), then measure,
    with the CPU time the server process ``pid`` and the clients spent."""
    drive(port, token, f"{tag}-warm", args.clients, orders=WARMUP_PER_CLIENT * args.clients)
    server, client = cpu_seconds(pid), time.process_time()
    run = drive(port, token, tag, args.clients, seconds=args.seconds, orders=args.orders)
    run.client_cpu = time.process_time() - client
    after = cpu_seconds(pid)
    if server is not None and after is not None:
        run.server_cpu = after - server
    return run


# -- the two servers -------------------------------------------------------------------


def station_run(root: Path, args: argparse.Namespace) -> tuple[Run, int]:
    station = Station(root / "station")
    store = Store(station.config.db_path)
    with store.write() as conn:
        for line in ORDER["lines"]:
            stock.move(conn, line["sku"], STOCK, "receipt", "bench stock")
    store.close()
    station.start("kiosk")
    try:
        run = measure(
            station.procs["kiosk"].pid,
            station.config.http.port,
            station.config.api_token,
            "station",
            args,
        )
    finally:
        station.stop()
    return run, station.config.http.threads


def baseline_run(root: Path, threads: int, args: argparse.Namespace) -> Run:
    port = free_port()
    log = open(root / "baseline.log", "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-baseline",
            str(port),
            str(root / "baseline.db"),
            "--threads",
            str(threads),
        ],
        cwd=REPO,
        stdout=log,
        stderr=log,
    )
    log.close()
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(
                        "baseline server did not start:\n" + (root / "baseline.log").read_text()
                    ) from None
                time.sleep(0.05)
        return measure(proc.pid, port, "-", "baseline", args)
    finally:
        proc.terminate()
        proc.wait(10)


# -- report ----------------------------------------------------------------------------


def row(name: str, run: Run) -> str:
    ms = [s * 1000 for s in run.latencies] or [float("nan")]
    return (
        f"  {name:<9}{len(run.latencies):8d}{run.rate:10.1f}{pct(ms, 0.5):9.1f}"
        f"{pct(ms, 0.99):9.1f}{max(ms):9.1f}{statistics.mean(ms):9.1f}"
        f"{sum(run.failures.values()):9d}{run.per_order(run.server_cpu):>9}"
        f"{run.per_order(run.client_cpu):>9}"
    )


def report(station: Run, baseline: Run, threads: int, args: argparse.Namespace) -> None:
    span = f"{args.orders} orders" if args.orders else f"{args.seconds:g} s"
    print(
        f"order placement: {args.clients} keep-alive clients, {span} per server, "
        f"waitress {threads} threads"
    )
    print(
        f"  {'':<9}{'orders':>8}{'orders/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'mean ms':>9}{'non-201':>9}{'srv CPU':>9}{'cli CPU':>9}"
    )
    print(row("station", station))
    print(row("baseline", baseline))
    print(
        f"  (CPU: ms per order of the server process and of the client threads; "
        f"{os.cpu_count()} cores shared by both)"
    )
    for name, run in (("station", station), ("baseline", baseline)):
        for what, count in run.failures.most_common(5):
            print(f"  {name} answered {count}× {what}")
    ratio = station.rate / baseline.rate if baseline.rate else 0.0
    p99 = pct(station.latencies, 0.99) * 1000 if station.latencies else float("inf")
    print(
        f"  throughput station / baseline {ratio:.2f}× "
        f"(target ≥ 0.5×: {'met' if ratio >= 0.5 else 'NOT met'})"
    )
    print(f"  station p99 {p99:.1f} ms (target ≤ 100 ms: {'met' if p99 <= 100 else 'NOT met'})")
    results = Results("order_placement")
    results.add(
        "throughput",
        station.rate,
        "orders/s",
        baseline=baseline.rate,
        baseline_label="bare Flask + SQLite insert",
        target="≥ 0.5× baseline",
        met=ratio >= 0.5,
        group="throughput",
    )
    base_p99 = pct(baseline.latencies, 0.99) * 1000 if baseline.latencies else None
    results.add(
        "latency p99",
        p99,
        "ms",
        baseline=base_p99,
        baseline_label="bare Flask + SQLite insert",
        target="≤ 100 ms",
        met=p99 <= 100,
        group="latency",
    )
    results.write(args.json)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    span = parser.add_mutually_exclusive_group()
    span.add_argument("--seconds", type=float, default=20.0, help="per server (default 20)")
    span.add_argument("--orders", type=int, help="orders per server, instead of --seconds")
    parser.add_argument("--serve-baseline", nargs=2, metavar=("PORT", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=16, help=argparse.SUPPRESS)
    add_json_option(parser)
    args = parser.parse_args()

    if args.serve_baseline:
        port, db = args.serve_baseline
        return serve_baseline(int(port), Path(db), args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        station, threads = station_run(root, args)
        baseline = baseline_run(root, threads, args)
    report(station, baseline, threads, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
