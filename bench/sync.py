"""Benchmark: station → hub sync over one real mosquitto, the hub on PostgreSQL.

All parts run in one process of this script, on the same broker (started here on a free port):

1. Raw ceiling: plain paho, QoS 1, one MQTT message per event (a real sealed event as JSON,
   about 300 bytes), a publisher here and a subscriber in its own process; paho's default
   in-flight window (20). Messages/s until the subscriber has all N.
2. Drain: a real station (``SyncAgent`` here, its own SQLite store) registered at the hub,
   then N events appended to its journal while it is stopped; time from the agent's start
   (it connects at once) until the hub's ack covers the last event. The hub is
   ``printstation hub --role all`` as a process on a fresh PostgreSQL schema. Then the hub's
   inbox must hold exactly seqs 1..N, each applied once.
3. Live latency: S stations (real ``SyncAgent`` s, one SQLite store each, all in this
   process) each committing R events/s, poking the agent as the kiosk does. Per event:
   station commit → ack arrival at the station (an upper bound of the hub's commit, which
   happens before the ack is sent), and the hub's own stamps: event ``at`` (taken inside
   the station's transaction) → inbox ``received_at`` (taken inside the hub's transaction,
   before its commit; both with millisecond resolution).
4. Ingest scaling: 1, 2 and 3 ``printstation hub --role ingest`` processes plus one
   ``--role web`` draining the same backlog (N events spread over several stations); in the
   3-worker run one ingest worker is SIGKILLed mid-run. After each run the inbox must hold
   exactly seqs 1..n of every station.

CPU seconds of each process (from /proc) are printed next to the figures of parts 2-4.

Usage: python bench/sync.py [--quick] [--events 50000] [--stations 100] [--rate 2]
       [--seconds 60] [--scale-stations 10] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
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
from typing import Any

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
from edge import protocol, wire  # noqa: E402
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
        self.used: dict[str, float] = {}

    def _sample(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pids in self.groups.values() for pid in pids()}

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict[str, float]:
        self.used = {
            name: sum(cpu_seconds(p) - self.before.get(p, 0.0) for p in pids())
            for name, pids in self.groups.items()
        }
        return self.used

    def line(self, wall: float) -> str:
        parts = [f"{name} {sec:.1f} s ({sec / wall * 100:.0f} %)" for name, sec in self.used.items()]
        return "  CPU: " + ", ".join(parts) + f"  over {wall:.1f} s wall, 2 cores = 200 %"


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

    MARKERS = {
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

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.topics.up_ack:
            self.acks.append((time.time(), bytes(msg.payload)))
        super()._on_message(client, userdata, msg)

    def acked_upto(self) -> tuple[int, float]:
        """The highest ``upto`` acked so far and when it arrived."""
        best, when = 0, 0.0
        for at, payload in list(self.acks):
            upto = json.loads(payload)["upto"]
            if upto > best:
                best, when = upto, at
        return best, when


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
            return t0, max(when for _, when in status.values())
        if on_progress is not None:
            on_progress(sum(upto for upto, _ in status.values()))
        if time.monotonic() > deadline:
            raise RuntimeError(f"not drained after {timeout:.0f} s: {status} of {targets}")
        time.sleep(0.01)


# -- 1. raw ceiling ----------------------------------------------------------------------------
def raw_subscriber(port: int, n: int, topic: str) -> int:
    """Child process of part 1: counts messages; prints when the N-th arrived."""
    got, done = 0, threading.Event()

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        nonlocal got
        got += 1
        if got >= n:
            done.set()

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: print("ready", flush=True)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(600)
    print(json.dumps({"last": time.time(), "got": got}), flush=True)
    client.loop_stop()
    client.disconnect()
    return 0


def raw_ceiling(broker: Mosquitto, n: int) -> dict[str, float]:
    prev = protocol.GENESIS_HASH
    payloads = []
    for i in range(n):
        event = protocol.seal(i + 1, *event_data(i), prev)
        prev = event.hash
        payloads.append(protocol.canonical_json(event.to_wire()).encode())
    topic = "bench/raw"
    sub = subprocess.Popen(
        [sys.executable, __file__, "--raw-subscriber", str(broker.port), str(n), topic],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sub.stdout is not None
    if sub.stdout.readline().strip() != "ready":
        raise RuntimeError("the raw subscriber did not start")
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    connected.wait(10)
    t0 = time.time()
    infos = [client.publish(topic, p, qos=1) for p in payloads]
    infos[-1].wait_for_publish(600)
    pubacked = time.time()
    result = json.loads(sub.stdout.readline())
    sub.wait(30)
    client.loop_stop()
    client.disconnect()
    wall = result["last"] - t0
    return {
        "n": n,
        "got": result["got"],
        "bytes": statistics.mean(len(p) for p in payloads),
        "wall": wall,
        "rate": n / wall,
        "puback_wall": pubacked - t0,
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
            meter = CpuMeter({
                "station (bench process)": lambda: [os.getpid()],
                "hub": lambda: [hub.proc.pid],
                "postgres": postgres_pids,
                "mosquitto": lambda: [broker.pid],
            })
            meter.start()
            t0, t_end = drain_all([station], timeout=600)
            wall = t_end - t0
            meter.stop()
            agent = station.agent
            assert agent is not None
            acks = len(agent.acks)
            problems = exactly_once(engine, {station.id: last})
        finally:
            station.close()
            hub.stop()
            engine.dispose()
    return {"n": n, "fill": fill, "wall": wall, "rate": n / wall, "acks": acks,
            "problems": problems, "cpu": meter.line(wall)}


# -- 3. live latency ---------------------------------------------------------------------------
def live(
    broker: Mosquitto, admin: str, tmp: Path, count: int, rate: float, seconds: float
) -> dict[str, Any]:
    warmup = 3.0
    with pg_schema(admin) as url:
        hub = HubProcess(hub_toml(tmp / "hub-live", url, broker.url), "all", tmp / "hub-live.log")
        engine = db.make_engine(url)
        stations = [Station(tmp / "live", f"st-{i:03d}", broker.url) for i in range(count)]
        try:
            hub.wait_ready()
            register(stations, timeout=120)
            for st in stations:
                st.start_agent()
            wait_for(lambda: all(st.agent and st.agent.connected.is_set() for st in stations),
                     60, "every agent connected")
            commits: dict[str, list[tuple[int, float]]] = {st.id: [] for st in stations}
            lags: list[float] = []
            period = 1.0 / rate
            begin = time.time() + 0.5
            end = begin + warmup + seconds

            def produce(mine: list[Station]) -> None:
                due = [(begin + period * stations.index(st) / len(stations), k)
                       for k, st in enumerate(mine)]
                heapq.heapify(due)
                while due:
                    when, k = heapq.heappop(due)
                    if when >= end:
                        continue
                    now = time.time()
                    if when > now:
                        time.sleep(when - now)
                    st = mine[k]
                    seq = st.last_seq() + 1
                    committed = st.append(1, start=seq)
                    poke(st.config.runtime_dir, "sync")
                    lags.append(committed - when)
                    if when >= begin + warmup:
                        commits[st.id].append((seq, committed))
                    heapq.heappush(due, (when + period, k))

            threads_n = 4
            producers = [
                threading.Thread(target=produce, args=(stations[k::threads_n],), daemon=True)
                for k in range(threads_n)
            ]
            meter = CpuMeter({
                "stations (bench process)": lambda: [os.getpid()],
                "hub": lambda: [hub.proc.pid],
                "postgres": postgres_pids,
                "mosquitto": lambda: [broker.pid],
            })
            meter.start()
            for thread in producers:
                thread.start()
            for thread in producers:
                thread.join()
            meter.stop()
            last = {st.id: st.last_seq() for st in stations}
            wait_for(lambda: all(st.agent.acked_upto()[0] >= last[st.id]  # type: ignore[union-attr]
                                 for st in stations), 60, "the last events acked")
            to_ack = []
            for st in stations:
                assert st.agent is not None
                acks = sorted((t, json.loads(p)["upto"]) for t, p in st.agent.acks)
                pos, top = 0, 0
                for seq, committed in commits[st.id]:
                    while top < seq:
                        t, upto = acks[pos]
                        pos += 1
                        top = max(top, upto)
                    to_ack.append(t - committed)
            hub_side = hub_stamps(engine, {st.id: commits[st.id] for st in stations})
            problems = exactly_once(engine, last)
        finally:
            for st in stations:
                st.close()
            hub.stop()
            engine.dispose()
    return {
        "stations": count, "rate": rate, "seconds": seconds, "events": len(to_ack),
        "to_ack": [s * 1000 for s in to_ack], "hub_side": hub_side,
        "lag_p99": pct(lags, 0.99) * 1000, "problems": problems,
        "cpu": meter.line(seconds + warmup),
    }


def hub_stamps(engine: Engine, commits: dict[str, list[tuple[int, float]]]) -> list[float]:
    """Event ``at`` → inbox ``received_at`` in ms, for the measured events."""
    out = []
    with db.read_only(engine) as conn:
        for station, done in commits.items():
            if not done:
                continue
            rows = conn.execute(
                select(inbox.c.at, inbox.c.received_at).where(
                    inbox.c.station == station, inbox.c.seq.between(done[0][0], done[-1][0])
                )
            ).all()
            out += [
                (datetime.fromisoformat(r.received_at) - datetime.fromisoformat(r.at))
                .total_seconds() * 1000
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
                    ingest[0].kill()
                    killed_at.append(time.time())

            meter = CpuMeter({
                "stations (bench process)": lambda: [os.getpid()],
                **{f"ingest {k}": (lambda p=p: [p.proc.pid]) for k, p in enumerate(ingest)},
                "web": lambda: [web.proc.pid],
                "postgres": postgres_pids,
                "mosquitto": lambda: [broker.pid],
            })
            meter.start()
            t0, t_end = drain_all(stations, timeout=600, on_progress=maybe_kill)
            wall = t_end - t0
            meter.stop()
            problems = exactly_once(engine, {st.id: st.last_seq() for st in stations})
        finally:
            for st in stations:
                st.close()
            for proc in [*ingest, web]:
                proc.stop()
            engine.dispose()
    return {
        "workers": workers, "n": each * spread, "wall": wall, "rate": each * spread / wall,
        "killed_after": killed_at[0] - t0 if killed_at else None, "problems": problems,
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
    parser.add_argument("--scale-stations", type=int, default=10,
                        help="stations sharing the backlog in the ingest-scaling part")
    parser.add_argument("--parts", default="raw,drain,live,scale",
                        help="comma-separated subset of raw,drain,live,scale")
    parser.add_argument("--pg", default=os.environ.get("PRINTSTATION_TEST_PG", DEFAULT_PG))
    parser.add_argument("--raw-subscriber", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_subscriber:
        port, count, topic = args.raw_subscriber
        return raw_subscriber(int(port), int(count), topic)
    n = args.events or (10_000 if args.quick else 50_000)
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    parts = set(args.parts.split(","))

    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker")
        broker.start()
        try:
            raw = raw_ceiling(broker, n) if "raw" in parts else None
            if raw:
                print(f"1. raw ceiling: paho QoS 1, one message per event "
                      f"({raw['bytes']:.0f} B JSON), publisher → subscriber process")
                print(f"  {raw['n']} messages in {raw['wall']:.2f} s = {raw['rate']:.0f} msg/s "
                      f"(last PUBACK at {raw['puback_wall']:.2f} s; in-flight window 20)")
            if "drain" in parts:
                d = drain(broker, args.pg, tmp, n)
                print(f"2. drain: one station, {d['n']} events backlog (filled in "
                      f"{d['fill']:.1f} s), agent start → last ack; hub --role all, PostgreSQL")
                print(f"  {d['wall']:.2f} s = {d['rate']:.0f} events/s, {d['acks']} acks")
                print(d["cpu"])
                if raw:
                    ratio = d["rate"] / raw["rate"]
                    print(f"  target ≥ 1.5× raw ceiling ({1.5 * raw['rate']:.0f}/s): "
                          f"{ratio:.2f}× {verdict(ratio >= 1.5)}")
                print(f"  target < 10 s: {verdict(d['wall'] < 10)}")
                print(f"  inbox exactly 1..{d['n'] + 1} once: "
                      + ("yes ✔" if not d["problems"] else "NO ✘ " + "; ".join(d["problems"])))
            if "live" in parts:
                lv = live(broker, args.pg, tmp, args.stations, args.rate, seconds)
                ms, hub_ms = lv["to_ack"], lv["hub_side"]
                print(f"3. live: {lv['stations']} stations × {lv['rate']:g} events/s for "
                      f"{lv['seconds']:.0f} s (after a 3 s warm-up), {lv['events']} events (ms)")
                print(f"  station commit → ack arrives   p50 {pct(ms, 0.5):6.1f}  p99 "
                      f"{pct(ms, 0.99):6.1f}  max {max(ms):6.1f}  (upper bound of hub commit)")
                print(f"  event at → hub received_at     p50 {pct(hub_ms, 0.5):6.1f}  p99 "
                      f"{pct(hub_ms, 0.99):6.1f}  max {max(hub_ms):6.1f}  (hub's stamps, 1 ms)")
                print(f"  producer lag p99 {lv['lag_p99']:.1f} ms (commit behind schedule)")
                print(lv["cpu"])
                print(f"  target p99 ≤ 50 ms (commit → ack): {verdict(pct(ms, 0.99) <= 50)}")
                print("  inbox exactly 1..n once per station: "
                      + ("yes ✔" if not lv["problems"] else "NO ✘ " + "; ".join(lv["problems"])))
            if "scale" in parts:
                print(f"4. ingest scaling: {n} events over {args.scale_stations} stations, "
                      "N × hub --role ingest + 1 × --role web, PostgreSQL")
                base = None
                for workers in (1, 2, 3):
                    r = scaling(broker, args.pg, tmp, workers, n, args.scale_stations,
                                kill=workers == 3)
                    base = base or r["rate"]
                    killed = (f", one worker SIGKILLed at {r['killed_after']:.1f} s"
                              if r["killed_after"] is not None else "")
                    print(f"  {workers} worker(s): {r['wall']:6.2f} s = {r['rate']:6.0f} events/s "
                          f"({r['rate'] / base:.2f}× one worker){killed}; exactly once: "
                          + ("yes ✔" if not r["problems"] else "NO ✘ " + "; ".join(r["problems"])))
                    print("  " + r["cpu"])
        finally:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
