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
       [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
import psycopg  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from sqlalchemy import Engine, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from cloud import db  # noqa: E402
from cloud.ingest import check_streams  # noqa: E402
from cloud.schema import inbox  # noqa: E402
from edge import protocol  # noqa: E402
from edge.config import StationConfig, load_config  # noqa: E402
from edge.store import Store, journal, outbox  # noqa: E402
from edge.store.notify import poke  # noqa: E402
from edge.sync.agent import SyncAgent  # noqa: E402
from tests.broker.mosquitto import Mosquitto  # noqa: E402
from tests.conftest import write_config  # noqa: E402
from tests.hub.conftest import hub_toml  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TICK = os.sysconf("SC_CLK_TCK")


# -- small helpers -----------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def verdict(ok: bool) -> str:
    return "met ✔" if ok else "NOT met ✘"


def event_data(i: int) -> tuple[str, dict[str, Any]]:
    """Small events of kinds the hub records as they are (no stock or order effects)."""
    if i % 2:
        return protocol.STAFF_LOGIN, {"staff_id": f"staff-{i % 40:02d}", "method": "pin"}
    return protocol.PRINT_JOB_STATE, {"job_id": i, "status": "done", "error": None}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds spent by named groups of processes between start() and stop()."""

    def __init__(self, groups: dict[str, Any]):
        self.groups = groups  # name → callable returning pids
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.used: dict[str, float] = {}

    def _sample(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pids in self.groups.values() for pid in pids()}

    def start(self) -> None:
        self.before = self._sample()

    def note(self, pid: int) -> None:
        """Remember a process's CPU before it is killed."""
        self.last[pid] = cpu_seconds(pid)

    def stop(self) -> dict[str, float]:
        self.used = {
            name: sum(
                max(cpu_seconds(p), self.last.get(p, 0.0)) - self.before.get(p, 0.0) for p in pids()
            )
            for name, pids in self.groups.items()
        }
        return self.used

    def line(self, wall: float) -> str:
        parts = [
            f"{name} {sec:.1f} s ({sec / wall * 100:.0f} %)" for name, sec in self.used.items()
        ]
        return "  CPU: " + ", ".join(parts) + f" over {wall:.1f} s wall ({os.cpu_count()} cores)"


# -- PostgreSQL --------------------------------------------------------------------------------
@contextmanager
def pg_schema(admin: str) -> Iterator[str]:
    """A fresh schema on the server, dropped afterwards; yields the hub's database URL."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = make_url(db.database_url(admin)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def exactly_once(engine: Engine, expected: dict[str, int]) -> list[str]:
    """Problems with the hub's inbox: every station must hold seqs 1..n, each applied once."""
    with db.read_only(engine) as conn:
        rows = conn.execute(
            select(
                inbox.c.station,
                func.count(),
                func.min(inbox.c.seq),
                func.max(inbox.c.seq),
                func.count().filter(inbox.c.status != "applied"),
            ).group_by(inbox.c.station)
        ).all()
        problems = check_streams(conn)
    found = {r[0]: tuple(r[1:]) for r in rows}
    for station, last in expected.items():
        count, low, high, not_applied = found.get(station, (0, None, None, 0))
        if (count, low, high, not_applied) != (last, 1, last, 0):
            problems.append(
                f"{station}: expected seqs 1..{last} applied once; the inbox holds {count} "
                f"rows, seqs {low}..{high}, {not_applied} not applied"
            )
    return problems


# -- hub processes -----------------------------------------------------------------------------
class HubProcess:
    """``printstation hub --role ROLE`` as its own process, its log in a file."""

    MARKERS: ClassVar[dict[str, tuple[str, ...]]] = {
        "ingest": ("ingest worker subscribed",),
        "web": ("hub ready",),
        "all": ("ingest worker subscribed", "hub ready"),
    }

    def __init__(self, config: Path, role: str, log: Path):
        self.role, self.log = role, log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "hub", "--config", str(config), "--role", role],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PRINTSTATION_LOG": "INFO"},
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(encoding="utf-8", errors="replace")
            if all(m in text for m in self.MARKERS[self.role]):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"hub --role {self.role} not ready; its log ({self.log}):\n{text}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


# -- stations ----------------------------------------------------------------------------------
class TimedAgent(SyncAgent):
    """The real sync agent, noting when each ``up/ack`` arrives (in the MQTT callback, before
    the agent queues it)."""

    def __init__(self, config: StationConfig, store: Store):
        super().__init__(config, store)
        self.acks: list[tuple[float, bytes]] = []
        self._seen, self._best, self._when = 0, 0, 0.0

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.topics.up_ack:
            self.acks.append((time.time(), bytes(msg.payload)))
        super()._on_message(client, userdata, msg)

    def acked_upto(self) -> tuple[int, float]:
        """The highest ``upto`` acked so far and when it arrived (parses only new acks)."""
        for at, payload in self.acks[self._seen : len(self.acks)]:
            self._seen += 1
            upto = json.loads(payload)["upto"]
            if upto > self._best:
                self._best, self._when = upto, at
        return self._best, self._when


class Station:
    def __init__(self, root: Path, station_id: str, broker_url: str):
        path = write_config(root / station_id, station_id=station_id, mqtt_url=broker_url)
        self.id = station_id
        self.config = load_config(path)
        self.store = Store(self.config.db_path)
        self.agent: TimedAgent | None = None

    def append(self, n: int, start: int = 0) -> float:
        """Commit ``n`` events in one transaction; returns the time after the commit."""
        with self.store.write() as conn:
            for i in range(start, start + n):
                journal.append(conn, *event_data(i))
        return time.time()

    def last_seq(self) -> int:
        return journal.last_seq(self.store.conn())

    def start_agent(self) -> TimedAgent:
        self.agent = TimedAgent(self.config, self.store)
        self.agent.start()
        return self.agent

    def stop_agent(self) -> None:
        if self.agent is not None:
            self.agent.stop()
            self.agent = None

    def depth(self) -> int:
        return outbox.depth(self.store.conn())

    def close(self) -> None:
        self.stop_agent()
        self.store.close()


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)


def register(stations: list[Station], timeout: float = 60.0) -> None:
    """First contact: each station syncs one event, so the hub knows it; then stops."""
    for st in stations:
        st.append(1)
        st.start_agent()
    wait_for(lambda: all(st.depth() == 0 for st in stations), timeout, "registration")
    for st in stations:
        st.stop_agent()


def drain_all(
    stations: list[Station], timeout: float, *, on_progress: Any = None
) -> tuple[float, float]:
    """Start every agent; returns (start time, time of the last station's final ack)."""
    targets = {st.id: st.last_seq() for st in stations}
    t0 = time.time()
    for st in stations:
        st.start_agent()
    deadline = time.monotonic() + timeout
    while True:
        status = {st.id: st.agent.acked_upto() for st in stations if st.agent}
        if all(status[s][0] >= last for s, last in targets.items()):
            done = max(when for _, when in status.values())
            wait_for(lambda: all(st.depth() == 0 for st in stations), 30, "outbox depth 0")
            return t0, done
        if on_progress is not None:
            on_progress(sum(upto for upto, _ in status.values()))
        if time.monotonic() > deadline:
            raise RuntimeError(f"not drained after {timeout:.0f} s: {status} of {targets}")
        time.sleep(0.01)


# -- 1. raw ceiling ----------------------------------------------------------------------------
def mqtt_client() -> mqtt.Client:
    return mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)


def raw_peer(port: int, n: int) -> int:
    """Child process of part 1. Counts messages on ``bench/raw`` and prints when the N-th
    arrived; answers each ``bench/ping`` on ``bench/pong`` from a worker thread (the hub's
    shape: callback → queue → worker → publish). Plain paho, QoS 1."""
    got, done, pings = 0, threading.Event(), queue.Queue[bytes]()

    def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal got
        if msg.topic == "bench/ping":
            pings.put(bytes(msg.payload))
            return
        got += 1
        if got >= n:
            done.set()

    def answer() -> None:
        while True:
            client.publish("bench/pong", pings.get(), qos=1)

    client = mqtt_client()
    client.on_connect = lambda c, *_: c.subscribe([("bench/raw", 1), ("bench/ping", 1)])
    client.on_subscribe = lambda *_: print("ready", flush=True)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    threading.Thread(target=answer, daemon=True).start()
    done.wait(600)
    print(json.dumps({"last": time.time(), "got": got}), flush=True)
    sys.stdin.readline()  # the parent closes stdin when it is done
    client.loop_stop()
    return 0


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
def latencies(agent: TimedAgent, commits: list[tuple[int, float]]) -> list[float]:
    """Seconds from each event's commit to the first ack covering it."""
    acks = sorted((t, json.loads(p)["upto"]) for t, p in agent.acks)
    out, pos, top, when = [], 0, 0, 0.0
    for seq, committed in commits:
        while top < seq:
            when, upto = acks[pos]
            pos += 1
            top = max(top, upto)
        out.append(when - committed)
    return out


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


def resend_requests(agent: TimedAgent) -> int:
    """Acks that asked the station to send again (the hub saw a gap in the stream)."""
    return sum(json.loads(p).get("resend_from") is not None for _, p in agent.acks)


def longest_gap(t0: float, agent: TimedAgent) -> float:
    """The longest time the station went without an ack (a stall shows the ack timeout)."""
    times = [t0, *sorted(t for t, _ in agent.acks)]
    return max(b - a for a, b in itertools.pairwise(times))


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

    logging.basicConfig(level=logging.WARNING, format="  (log) %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        # Production hub.conf keeps 1000 queued messages per client; the naive subscriber of
        # part 1 falls that far behind and would lose messages, so the bench broker keeps more.
        broker = Mosquitto(tmp / "broker", extra_config="max_queued_messages 200000")
        broker.start()
        try:
            raw = raw_ceiling(broker, n) if "raw" in parts else None
            if raw:
                report_raw(raw)
            if "drain" in parts:
                report_drain(drain(broker, args.pg, tmp, n), raw)
            if "live" in parts:
                lv = live(broker, args.pg, tmp, args.stations, args.rate, seconds, args.live_procs)
                report_live(lv, raw)
            if "scale" in parts:
                runs = [
                    scaling(broker, args.pg, tmp, w, n, args.scale_stations, kill=w == 3)
                    for w in (1, 2, 3)
                ]
                report_scaling(runs, args.scale_stations)
        finally:
            broker.stop()
    return 0


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def once(problems: list[str]) -> str:
    return "yes ✔" if not problems else "NO ✘ " + "; ".join(problems)


def spread3(ms: list[float]) -> str:
    return f"{pct(ms, 0.5):.1f} / {pct(ms, 0.99):.1f} / {max(ms):.1f} ms"


def report_raw(raw: dict[str, Any]) -> None:
    table(
        f"1. Raw ceiling: plain paho, QoS 1, one {raw['bytes']:.0f}-byte event per message",
        ["figure", "value"],
        [
            [
                f"{raw['n']:,} messages, publisher → subscriber process (window 20)",
                f"{raw['wall']:.2f} s = {raw['rate']:,.0f} msg/s (last PUBACK at "
                f"{raw['puback_wall']:.2f} s)",
            ],
            [
                f"round trip publish → peer's worker thread → reply, {len(raw['round_trips'])} "
                "at 20/s: p50 / p99 / max",
                spread3(raw["round_trips"]),
            ],
        ],
    )


def report_drain(d: dict[str, Any], raw: dict[str, Any] | None) -> None:
    target = f"< 10 s: {verdict(d['wall'] < 10)}"
    ceiling = "—"
    if raw:
        ratio = d["rate"] / raw["rate"]
        target = (
            f"≥ 1.5× ceiling = {1.5 * raw['rate']:,.0f}/s: {ratio:.2f}× "
            f"{verdict(ratio >= 1.5)}; " + target
        )
        ceiling = f"{raw['rate']:,.0f} msg/s"
    table(
        f"2. Drain: one station, {d['n']:,}-event backlog (filled in {d['fill']:.1f} s), agent "
        "start → ack of the last event; hub --role all on PostgreSQL",
        ["figure", "station → hub", "raw ceiling", "target"],
        [
            [
                "backlog drained",
                f"{d['wall']:.2f} s = {d['rate']:,.0f} events/s "
                f"({d['acks']} acks, {d['resends']} resend requests)",
                ceiling,
                target,
            ],
            [
                f"inbox holds seqs 1..{d['n'] + 1:,} once each, all applied",
                once(d["problems"]),
                "",
                "",
            ],
        ],
    )
    print(d["cpu"])


def report_live(lv: dict[str, Any], raw: dict[str, Any] | None) -> None:
    ms, hub_ms = lv["to_ack"], lv["hub_side"]
    rows = [
        [
            "station commit → ack arrives at the station (upper bound of the hub's commit)",
            spread3(ms),
            f"p99 ≤ 50 ms: {verdict(pct(ms, 0.99) <= 50)}",
        ],
        [
            "event `at` → inbox `received_at` (the hub's stamps, 1 ms resolution, taken before "
            "the hub's commit)",
            spread3(hub_ms),
            "—",
        ],
    ]
    if raw:
        rows.append(["baseline: raw paho round trip (part 1)", spread3(raw["round_trips"]), "—"])
    table(
        f"3. Live: {lv['stations']} stations × {lv['rate']:g} events/s, {lv['seconds']:.0f} s "
        f"after a 3 s warm-up, {lv['events']:,} events; hub --role all on PostgreSQL",
        ["figure", "p50 / p99 / max", "target"],
        rows,
    )
    print(
        f"  inbox exactly 1..n once per station: {once(lv['problems'])}; station commits "
        f"behind schedule p99 {lv['lag_p99']:.1f} ms"
    )
    print(lv["cpu"])


def report_scaling(runs: list[dict[str, Any]], spread: int) -> None:
    base = runs[0]["rate"]
    rows = []
    for r in runs:
        note = ""
        if r["killed_after"] is not None:
            note = f"one worker SIGKILLed at {r['killed_after']:.1f} s; " + (
                f"{r['stalled']} station(s) stalled, the longest {r['longest_gap']:.1f} s "
                "without an ack"
                if r["stalled"]
                else f"no station stalled (longest wait for an ack {r['longest_gap']:.1f} s)"
            )
        rows.append(
            [
                str(r["workers"]),
                f"{r['wall']:.2f} s",
                f"{r['rate']:,.0f}",
                f"{r['rate'] / base:.2f}×",
                str(r["resends"]),
                once(r["problems"]),
                note,
            ]
        )
    table(
        f"4. Ingest scaling: {runs[0]['n']:,} events over {spread} stations, N × hub --role "
        "ingest + 1 × --role web on PostgreSQL",
        [
            "ingest workers",
            "drained in",
            "events/s",
            "vs 1 worker",
            "resend requests",
            "exactly once",
            "note",
        ],
        rows,
    )
    for r in runs:
        print(f"  {r['workers']} worker(s):" + r["cpu"][len("  CPU:") :])


if __name__ == "__main__":
    sys.exit(main())
