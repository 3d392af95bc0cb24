"""Pieces of bench/sync.py: processes, stations, PostgreSQL schemas, CPU meters."""

from __future__ import annotations

import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
from cloud.mqtt import no_delay  # noqa: E402
from cloud.schema import inbox  # noqa: E402
from edge import protocol  # noqa: E402
from edge.config import StationConfig, load_config  # noqa: E402
from edge.store import Store, journal, outbox  # noqa: E402
from edge.sync.agent import SyncAgent  # noqa: E402
from tests.conftest import write_config  # noqa: E402

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


# ``printstation hub`` with its INFO log set up before anything is imported: the readiness
# markers below are INFO lines, and a library that configures the root logger on import
# (python-escpos does) would otherwise leave it at WARNING.
_HUB_MAIN = (
    "import logging, sys; "
    "logging.basicConfig(level=logging.INFO, "
    "format='%(asctime)s %(levelname)s %(name)s: %(message)s'); "
    "from edge.cli import main; sys.exit(main(sys.argv[1:]))"
)


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
                [sys.executable, "-c", _HUB_MAIN, "hub", "--config", str(config), "--role", role],
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
    #: ``[sync] window_events`` of the stations made in this process (None: the default).
    window_events: ClassVar[int | None] = None

    def __init__(self, root: Path, station_id: str, broker_url: str):
        extra = f"[sync]\nwindow_events = {self.window_events}\n" if self.window_events else ""
        path = write_config(root / station_id, extra, station_id=station_id, mqtt_url=broker_url)
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


def mqtt_client(*, nodelay: bool = False) -> mqtt.Client:
    """A plain paho client; ``nodelay`` sets ``TCP_NODELAY`` on its socket as the hub's and
    stations' clients do."""
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if nodelay:
        client.on_socket_open = no_delay
    return client


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


def resend_requests(agent: TimedAgent) -> int:
    """Acks that asked the station to send again (the hub saw a gap in the stream)."""
    return sum(json.loads(p).get("resend_from") is not None for _, p in agent.acks)


def longest_gap(t0: float, agent: TimedAgent) -> float:
    """The longest time the station went without an ack (a stall shows the ack timeout)."""
    times = [t0, *sorted(t for t, _ in agent.acks)]
    return max(b - a for a, b in itertools.pairwise(times))
