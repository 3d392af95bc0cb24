"""Benchmark: station → hub sync over one real mosquitto, the hub on PostgreSQL.

One run, one broker (started here on a free port, anonymous, production's limits except a
larger message queue per client, see ``main``); each hub part gets a fresh PostgreSQL schema,
dropped afterwards.

1. Raw ceiling: plain paho, QoS 1, one MQTT message per event (a real sealed event as JSON,
   about 300 bytes), from here to a peer process; paho's default in-flight window (20).
   Messages/s until the peer has all N. Then the round trip of single messages to the
   peer, which answers from a worker thread as the hub does: the transport's latency floor.
2. Drain: a real station (``SyncAgent`` in this process, its own SQLite store) registered at
   the hub, then N events appended to its journal while its agent is stopped; time from the
   agent's start (it connects at once) until the ack covering the last event arrives (the
   outbox depth is then checked to reach 0). The hub is ``printstation hub --role all`` as a
   process. Its inbox must then hold exactly seqs 1..N, each applied once.
3. Live latency: S stations × R events/s, real ``SyncAgent`` s with a SQLite store each, spread
   over several processes (paho's select() loop fails on file descriptors past 1024, which
   100 stations in one process exceed). Each event is committed on schedule and the agent
   poked as the kiosk does. Measured per event: station commit → arrival of the ack that
   covers it (an upper bound of the hub's commit, which precedes the ack), and the hub's own
   stamps, event ``at`` (taken in the station's transaction) → inbox ``received_at`` (taken
   in the hub's transaction before its commit; both with millisecond resolution).
4. Ingest scaling: 1, 2 and 3 ``printstation hub --role ingest`` processes plus one
   ``--role web`` draining N events spread over several stations; in the 3-worker run one
   ingest worker is SIGKILLed at 40 %. Printed: events/s, the acks that asked a station to
   resend (the hub saw a gap), and whether the inbox holds exactly seqs 1..n per station.

CPU seconds of every process involved (from /proc) are printed under parts 2-4. Nothing is
asserted: the figures and the target verdicts are printed, and the exit status is 0.

Usage: python bench/sync.py [--quick] [--events 50000] [--stations 100] [--rate 2]
       [--seconds 60] [--scale-stations 10] [--live-procs 4] [--parts raw,drain,live,scale]
       [--window 1000]
       [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import Engine, select  # noqa: E402

from bench.results import add_json_option  # noqa: E402
from cloud import db  # noqa: E402
from cloud.schema import inbox  # noqa: E402
from edge import protocol  # noqa: E402
from edge.store.notify import poke  # noqa: E402
from tests.broker.mosquitto import Mosquitto  # noqa: E402
from tests.hub.conftest import hub_toml  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TICK = os.sysconf("SC_CLK_TCK")


from sync_harness import (  # noqa: E402
    CpuMeter,
    HubProcess,
    Station,
    drain_all,
    event_data,
    exactly_once,
    latencies,
    longest_gap,
    mqtt_client,
    pct,
    pg_schema,
    postgres_pids,
    raw_peer,
    register,
    resend_requests,
    wait_for,
)
from sync_report import (  # noqa: E402
    figures,
    report_drain,
    report_live,
    report_raw,
    report_scaling,
)

# -- 1. raw ceiling ----------------------------------------------------------------------------


def raw_ceiling(broker: Mosquitto, n: int, pings: int = 200) -> dict[str, Any]:
    prev = protocol.GENESIS_HASH
    payloads = []
    for i in range(n):
        event = protocol.seal(i + 1, *event_data(i), prev)
        prev = event.hash
        payloads.append(protocol.canonical_json(event.to_wire()).encode())
    peer = subprocess.Popen(
        [sys.executable, __file__, "--raw-peer", str(broker.port), str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert peer.stdout is not None and peer.stdin is not None
    if peer.stdout.readline().strip() != "ready":
        raise RuntimeError("the raw peer did not start")
    client = mqtt_client()
    subscribed, pongs = threading.Event(), queue.Queue[float]()
    client.on_connect = lambda c, *_: c.subscribe("bench/pong", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda *_: pongs.put(time.perf_counter())
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    subscribed.wait(10)
    t0 = time.time()
    infos = [client.publish("bench/raw", p, qos=1) for p in payloads]
    infos[-1].wait_for_publish(600)
    pubacked = time.time()
    result = json.loads(peer.stdout.readline())
    if result["got"] < n:
        raise RuntimeError(f"the raw subscriber got {result['got']} of {n} messages")
    round_trips = []
    for payload in payloads[:pings]:  # 20 a second, each waits for its answer
        sent = time.perf_counter()
        client.publish("bench/ping", payload, qos=1)
        round_trips.append((pongs.get(timeout=5) - sent) * 1000)
        time.sleep(0.05)
    peer.stdin.close()
    peer.wait(30)
    client.loop_stop()
    client.disconnect()
    wall = result["last"] - t0
    return {
        "n": n,
        "bytes": statistics.mean(len(p) for p in payloads),
        "wall": wall,
        "rate": n / wall,
        "puback_wall": pubacked - t0,
        "round_trips": round_trips,
    }


# -- 2. drain ----------------------------------------------------------------------------------
def drain(broker: Mosquitto, admin: str, tmp: Path, n: int) -> dict[str, Any]:
    with pg_schema(admin) as url:
        hub = HubProcess(hub_toml(tmp / "hub-drain", url, broker.url), "all", tmp / "hub-drain.log")
        engine = db.make_engine(url)
        station = Station(tmp / "drain", "st-drain", broker.url)
        try:
            hub.wait_ready()
            register([station])
            t_fill = time.time()
            station.append(n, start=1)
            fill = time.time() - t_fill
            last = station.last_seq()
            meter = CpuMeter(
                {
                    "station (bench process)": lambda: [os.getpid()],
                    "hub": lambda: [hub.proc.pid],
                    "postgres": postgres_pids,
                    "mosquitto": lambda: [broker.pid],
                }
            )
            meter.start()
            t0, t_end = drain_all([station], timeout=600)
            wall = t_end - t0
            meter.stop()
            agent = station.agent
            assert agent is not None
            acks, resends = len(agent.acks), resend_requests(agent)
            problems = exactly_once(engine, {station.id: last})
        finally:
            station.close()
            hub.stop()
            engine.dispose()
    return {
        "n": n,
        "fill": fill,
        "wall": wall,
        "rate": n / wall,
        "acks": acks,
        "resends": resends,
        "problems": problems,
        "cpu": meter.line(wall),
    }


# -- 3. live latency ---------------------------------------------------------------------------


def live_worker(spec: dict[str, Any]) -> int:
    """Child process of part 3: runs some of the stations (paho's select() loop cannot
    handle file descriptors past 1024, which 100 stations in one process exceed).
    Registers them, says "ready", reads the start time, commits events on schedule, and
    prints the latencies as JSON."""
    root, ids, period = Path(spec["root"]), spec["ids"], 1.0 / spec["rate"]
    stations = [Station(root, sid, spec["broker"]) for sid in ids]
    for st in stations:
        st.append(1)
        st.start_agent()
    wait_for(lambda: all(st.depth() == 0 for st in stations), 120, "registration")
    print("ready", flush=True)
    begin = float(sys.stdin.readline())
    measured_from, end = begin + spec["warmup"], begin + spec["warmup"] + spec["seconds"]
    commits: dict[str, list[tuple[int, float]]] = {sid: [] for sid in ids}
    lags: list[float] = []

    def produce(mine: list[tuple[int, Station]]) -> None:
        due = [(begin + period * offset / spec["total"], k) for k, (offset, _) in enumerate(mine)]
        heapq.heapify(due)
        while due:
            when, k = heapq.heappop(due)
            if when >= end:
                continue
            time.sleep(max(0.0, when - time.time()))
            st = mine[k][1]
            seq = st.last_seq() + 1
            committed = st.append(1, start=seq)
            poke(st.config.runtime_dir, "sync")  # as the kiosk does after its commit
            lags.append(committed - when)
            if when >= measured_from:
                commits[st.id].append((seq, committed))
            heapq.heappush(due, (when + period, k))

    indexed = list(zip(spec["offsets"], stations, strict=True))
    producers = [threading.Thread(target=produce, args=(indexed[k::2],)) for k in range(2)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    last = {st.id: st.last_seq() for st in stations}
    wait_for(
        lambda: all(st.agent and st.agent.acked_upto()[0] >= last[st.id] for st in stations),
        60,
        "the last events acked",
    )
    to_ack = [x for st in stations if st.agent for x in latencies(st.agent, commits[st.id])]
    ranges = {sid: [c[0][0], c[-1][0]] for sid, c in commits.items() if c}
    for st in stations:
        st.close()
    print(json.dumps({"to_ack": to_ack, "lags": lags, "ranges": ranges, "last": last}), flush=True)
    return 0


def live(
    broker: Mosquitto, admin: str, tmp: Path, count: int, rate: float, seconds: float, procs: int
) -> dict[str, Any]:
    warmup = 3.0
    ids = [f"st-{i:03d}" for i in range(count)]
    with pg_schema(admin) as url:
        hub = HubProcess(hub_toml(tmp / "hub-live", url, broker.url), "all", tmp / "hub-live.log")
        engine = db.make_engine(url)
        workers: list[subprocess.Popen[str]] = []
        try:
            hub.wait_ready()
            for k in range(procs):
                spec = {
                    "root": str(tmp / "live"),
                    "broker": broker.url,
                    "ids": ids[k::procs],
                    "offsets": list(range(count))[k::procs],
                    "total": count,
                    "rate": rate,
                    "warmup": warmup,
                    "seconds": seconds,
                }
                workers.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--live-worker", json.dumps(spec)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
            for proc in workers:
                assert proc.stdout is not None
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError("a live worker failed to start its stations")
            meter = CpuMeter(
                {
                    f"stations ({procs} processes)": lambda: [p.pid for p in workers],
                    "hub": lambda: [hub.proc.pid],
                    "postgres": postgres_pids,
                    "mosquitto": lambda: [broker.pid],
                }
            )
            meter.start()
            begin = time.time() + 0.5
            for proc in workers:
                assert proc.stdin is not None
                proc.stdin.write(f"{begin}\n")
                proc.stdin.flush()
            time.sleep(max(0.0, begin + warmup + seconds - time.time()))
            meter.stop()
            results = []
            for proc in workers:
                assert proc.stdout is not None
                results.append(json.loads(proc.stdout.readline()))
            for proc in workers:
                proc.wait(30)
            ranges = {sid: r for res in results for sid, r in res["ranges"].items()}
            hub_side = hub_stamps(engine, ranges)
            last = {sid: n for res in results for sid, n in res["last"].items()}
            problems = exactly_once(engine, last)
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
            hub.stop()
            engine.dispose()
    to_ack = [x * 1000 for res in results for x in res["to_ack"]]
    lags = [x for res in results for x in res["lags"]]
    return {
        "stations": count,
        "rate": rate,
        "seconds": seconds,
        "events": len(to_ack),
        "to_ack": to_ack,
        "hub_side": hub_side,
        "lag_p99": pct(lags, 0.99) * 1000,
        "problems": problems,
        "cpu": meter.line(warmup + seconds),
    }


def hub_stamps(engine: Engine, ranges: dict[str, list[int]]) -> list[float]:
    """Event ``at`` → inbox ``received_at`` in ms, for the measured seqs of each station."""
    out = []
    with db.read_only(engine) as conn:
        for station, (first, last) in ranges.items():
            rows = conn.execute(
                select(inbox.c.at, inbox.c.received_at).where(
                    inbox.c.station == station, inbox.c.seq.between(first, last)
                )
            ).all()
            out += [
                (
                    datetime.fromisoformat(r.received_at) - datetime.fromisoformat(r.at)
                ).total_seconds()
                * 1000
                for r in rows
            ]
    return out


# -- 4. ingest scaling -------------------------------------------------------------------------
def scaling(
    broker: Mosquitto, admin: str, tmp: Path, workers: int, n: int, spread: int, kill: bool
) -> dict[str, Any]:
    each = n // spread
    with pg_schema(admin) as url:
        config = hub_toml(tmp / f"hub-x{workers}", url, broker.url)
        web = HubProcess(config, "web", tmp / f"hub-x{workers}-web.log")
        web.wait_ready()
        ingest = [
            HubProcess(config, "ingest", tmp / f"hub-x{workers}-ingest{k}.log")
            for k in range(workers)
        ]
        engine = db.make_engine(url)
        stations = [Station(tmp / f"x{workers}", f"st-x{i:02d}", broker.url) for i in range(spread)]
        killed_at: list[float] = []
        try:
            for proc in ingest:
                proc.wait_ready()
            register(stations)
            for st in stations:
                st.append(each, start=1)
            total = sum(st.last_seq() for st in stations)

            def maybe_kill(acked: int) -> None:
                if kill and not killed_at and acked >= total * 0.4:
                    meter.note(ingest[0].proc.pid)
                    ingest[0].kill()
                    killed_at.append(time.time())

            meter = CpuMeter(
                {
                    "stations (bench process)": lambda: [os.getpid()],
                    **{f"ingest {k}": (lambda p=p: [p.proc.pid]) for k, p in enumerate(ingest)},
                    "web": lambda: [web.proc.pid],
                    "postgres": postgres_pids,
                    "mosquitto": lambda: [broker.pid],
                }
            )
            meter.start()
            t0, t_end = drain_all(stations, timeout=600, on_progress=maybe_kill)
            wall = t_end - t0
            meter.stop()
            gaps = [longest_gap(t0, st.agent) for st in stations if st.agent]
            resends = sum(resend_requests(st.agent) for st in stations if st.agent)
            problems = exactly_once(engine, {st.id: st.last_seq() for st in stations})
        finally:
            for st in stations:
                st.close()
            for proc in [*ingest, web]:
                proc.stop()
            engine.dispose()
    return {
        "workers": workers,
        "n": each * spread,
        "wall": wall,
        "rate": each * spread / wall,
        "killed_after": killed_at[0] - t0 if killed_at else None,
        "problems": problems,
        "stalled": sum(g > 5 for g in gaps),
        "resends": resends,
        "longest_gap": max(gaps),
        "cpu": meter.line(wall),
    }


# -- report ------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, 15 s of live load")
    parser.add_argument("--events", type=int, help="backlog size (default 50000; quick 10000)")
    parser.add_argument("--stations", type=int, default=100, help="stations in the live part")
    parser.add_argument("--rate", type=float, default=2.0, help="events/s per live station")
    parser.add_argument("--seconds", type=float, help="live measuring time (60; quick 15)")
    parser.add_argument(
        "--scale-stations",
        type=int,
        default=10,
        help="stations sharing the backlog in the ingest-scaling part",
    )
    parser.add_argument(
        "--parts",
        default="raw,drain,live,scale",
        help="comma-separated subset of raw,drain,live,scale",
    )
    parser.add_argument("--pg", default=os.environ.get("PRINTSTATION_TEST_PG", DEFAULT_PG))
    parser.add_argument(
        "--live-procs", type=int, default=4, help="processes the live stations are spread over"
    )
    parser.add_argument(
        "--window", type=int, help="the drain and scaling stations' [sync] window_events"
    )
    add_json_option(parser)
    parser.add_argument("--raw-peer", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--live-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_peer:
        return raw_peer(int(args.raw_peer[0]), int(args.raw_peer[1]))
    if args.live_worker:
        return live_worker(json.loads(args.live_worker))
    # A SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C: hubs, broker and schemas go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    n = args.events or (10_000 if args.quick else 50_000)
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    parts = set(args.parts.split(","))
    Station.window_events = args.window

    logging.basicConfig(level=logging.WARNING, format="  (log) %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        # Production hub.conf keeps 1000 queued messages per client; the naive subscriber of
        # part 1 falls that far behind and would lose messages, so the bench broker keeps more.
        broker = Mosquitto(tmp / "broker", extra_config="max_queued_messages 200000")
        broker.start()
        found: dict[str, Any] = {}
        try:
            raw = raw_ceiling(broker, n) if "raw" in parts else None
            if raw:
                report_raw(raw)
            if "drain" in parts:
                found["drain"] = drain(broker, args.pg, tmp, n)
                report_drain(found["drain"], raw)
            if "live" in parts:
                found["live"] = live(
                    broker, args.pg, tmp, args.stations, args.rate, seconds, args.live_procs
                )
                report_live(found["live"], raw)
            if "scale" in parts:
                found["runs"] = [
                    scaling(broker, args.pg, tmp, w, n, args.scale_stations, kill=w == 3)
                    for w in (1, 2, 3)
                ]
                report_scaling(found["runs"], args.scale_stations)
        finally:
            broker.stop()
        figures(raw, **found).write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
