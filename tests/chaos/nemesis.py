"""The nemesis: a seeded random schedule of faults, run against a :class:`Cluster`.

The schedule is made up front from the seed alone (:func:`schedule`), so a seed names the
same faults at the same offsets every time; two *lanes* run side by side, so faults
overlap. A fault holds its targets (a process, a station's link, the broker) for its
duration; a lane skips a fault whose targets another lane holds.

Faults and what they simulate:

``kill``        SIGKILL of one station service (kiosk, scanner, spooler, sync) or hub
                process (``ingest-1``, ``ingest-2``, ``web``), restarted after the fault —
                a crash and a supervisor restart.
``pause``       SIGSTOP, then SIGCONT — a process frozen (swapping, a stuck disk, a VM stall).
``broker``      mosquitto stopped, then started (no persistence: sessions are lost).
``partition``   the station's proxy refuses and cuts connections — the shop's uplink is down.
``delay``       the proxy holds each chunk 50–400 ms — a slow, congested uplink.
``duplicate``   the proxy sends some QoS 1 PUBLISH packets twice — a resend after a lost PUBACK.
``skew``        every service of the station restarted under libfaketime, hours or a day
                off, then restarted on the true time — a station whose clock is wrong, then
                stepped back by NTP.
``disk_full``   RLIMIT_FSIZE on the running kiosk (``prlimit``): a write that would grow a file
                past its current size fails with EFBIG — the disk filling up under the kiosk.
``power``       SIGKILL of every station process at once, started again at the end — power
                loss with an honest disk (``synchronous=FULL``: every acknowledged commit is
                on disk, so nothing acknowledged may be lost).
``lying_disk``  as ``power``, and then the station database's last commit is thrown away:
                the ``-wal`` file is cut back to the end of the commit before it (never below
                what a checkpoint already copied into the database) and the ``-shm`` index is
                removed. That commit *was* fsynced: this simulates a disk that acknowledged a
                flush it did not do. Not in the default mix (its losses are real violations
                the checker reports as such); ask for it with ``CHAOS_FAULTS``.

``CHAOS_FAULTS=kill,power,...`` limits the schedule to the kinds named.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.cluster import Cluster
from tests.chaos.history import History

KINDS = (
    "kill",
    "pause",
    "broker",
    "partition",
    "delay",
    "duplicate",
    "skew",
    "disk_full",
    "power",
    "lying_disk",
)
WEIGHTS = (5, 2, 1, 2, 2, 2, 1, 1, 1, 0)  # lying_disk only when CHAOS_FAULTS names it
STATION_KILLABLE = ("kiosk", "scanner", "spooler", "sync")
HUB_KILLABLE = ("ingest-1", "ingest-2", "ingest-1", "ingest-2", "web")
SKEWS = ("+2h", "-90m", "+1d", "-7h")
WAL_HEADER, FRAME_HEADER = 32, 24


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the campaign started
    lane: int
    kind: str
    target: str  # "st-01/kiosk", "hub/ingest-1", "st-02", "broker"
    duration: float
    arg: Any = None

    def holds(self) -> set[str]:
        """What no other fault may touch while this one runs."""
        if self.kind == "broker":
            return {"broker"}
        station = self.target.split("/")[0]
        if self.kind in ("power", "lying_disk", "skew", "disk_full"):
            return {station, f"{station}/link"} | {f"{station}/{s}" for s in STATION_KILLABLE}
        if self.kind in ("partition", "delay", "duplicate"):
            return {f"{station}/link"}
        return {self.target, station} if station.startswith("st-") else {self.target}


def schedule(
    seed: int,
    duration: float,
    stations: list[str],
    lanes: int = 2,
    kinds: tuple[str, ...] | None = None,
) -> list[Fault]:
    """Faults for ``duration`` seconds, from ``seed`` alone (and ``kinds``, when given)."""
    rng = random.Random(seed)
    if kinds:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {KINDS}")
        choices, weights = list(kinds), [max(WEIGHTS[KINDS.index(k)], 1) for k in kinds]
    else:
        choices, weights = list(KINDS), list(WEIGHTS)
    faults: list[Fault] = []
    for lane in range(lanes):
        t = rng.uniform(1.0, 4.0)
        while t < duration:
            kind = rng.choices(choices, weights)[0]
            station = rng.choice(stations)
            arg: Any = None
            if kind in ("kill", "pause"):
                if rng.random() < 0.3:
                    target = f"hub/{rng.choice(HUB_KILLABLE)}"
                else:
                    target = f"{station}/{rng.choice(STATION_KILLABLE)}"
            elif kind == "broker":
                target = "broker"
            else:
                target = station
            if kind == "delay":
                arg = rng.choice((50, 150, 400))
            elif kind == "duplicate":
                arg = rng.choice((0.2, 0.5, 1.0))
            elif kind == "skew":
                arg = rng.choice(SKEWS)
            length = rng.uniform(1.0, 3.0) if kind in ("kill", "pause") else rng.uniform(2.0, 7.0)
            faults.append(Fault(round(t, 2), lane, kind, target, round(length, 2), arg))
            t += length + rng.uniform(0.5, 3.0)
    return sorted(faults, key=lambda f: f.at)


@dataclass
class Nemesis:
    cluster: Cluster
    history: History
    faults: list[Fault]
    halt: threading.Event = field(default_factory=threading.Event)
    injected: list[Fault] = field(default_factory=list)
    skipped: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[str] = set()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        started = time.monotonic()
        for lane in sorted({f.lane for f in self.faults}):
            mine = [f for f in self.faults if f.lane == lane]
            thread = threading.Thread(
                target=self._lane, args=(mine, started), name=f"nemesis-{lane}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self.halt.set()
        for thread in self._threads:
            thread.join(120)

    def _lane(self, faults: list[Fault], started: float) -> None:
        for fault in faults:
            if self.halt.wait(max(0.0, started + fault.at - time.monotonic())):
                return
            with self._lock:
                if fault.holds() & self._held:
                    self.skipped.append(fault)
                    continue
                self._held |= fault.holds()
            try:
                self._run(fault)
            finally:
                with self._lock:
                    self._held -= fault.holds()

    def _run(self, fault: Fault) -> None:
        self.history.fault(
            fault.kind,
            fault.target,
            "start",
            arg=fault.arg,
            duration=fault.duration,
            lane=fault.lane,
        )
        self.injected.append(fault)
        try:
            undo = self._begin(fault)
        except Exception as err:
            self.history.note(f"starting {fault.kind} on {fault.target} failed", error=repr(err))
            self.history.fault(fault.kind, fault.target, "end")
            return
        self.halt.wait(fault.duration)
        try:
            undo()
        except Exception as err:
            self.history.note(f"undoing {fault.kind} on {fault.target} failed", error=repr(err))
        self.history.fault(fault.kind, fault.target, "end")

    def _begin(self, fault: Fault) -> Any:
        c = self.cluster
        kind, target = fault.kind, fault.target
        if kind in ("kill", "pause") and target.startswith("hub/"):
            name = target.split("/", 1)[1]
            if kind == "kill":
                c.hub.kill(name)
                return lambda: c.hub.launch(name)
            c.hub.send(name, signal.SIGSTOP)
            c.hub.paused.add(name)

            def hub_resume() -> None:
                c.hub.send(name, signal.SIGCONT)
                c.hub.paused.discard(name)

            return hub_resume
        sid, _, service = target.partition("/")
        if kind == "broker":
            c.broker.stop()
            return c.broker.start
        station = c.stations[sid]
        proxy = c.proxies.get(sid)
        if kind == "kill":
            skew = station.skew.get(service)
            station.kill(service)
            if service == "scanner":
                (station.config.runtime_dir / "scanner-bench.sock").unlink(missing_ok=True)
            return lambda: station.launch(service, skew)
        if kind == "pause":
            station.send(service, signal.SIGSTOP)
            station.paused.add(service)

            def resume() -> None:
                station.send(service, signal.SIGCONT)
                station.paused.discard(service)

            return resume
        assert proxy is not None
        if kind == "partition":
            proxy.partition()
            return proxy.heal
        if kind == "delay":
            proxy.set_delay(int(fault.arg))
            return lambda: proxy.set_delay(0)
        if kind == "duplicate":
            proxy.set_duplicate(float(fault.arg))
            return lambda: proxy.set_duplicate(0.0)
        if kind == "skew":
            for name in STATION_KILLABLE:
                station.restart(name, skew=str(fault.arg))

            def unskew() -> None:  # the clock steps back to the true time
                for name in STATION_KILLABLE:
                    station.restart(name)

            return unskew
        if kind == "disk_full":
            return self._disk_full(station)
        if kind in ("power", "lying_disk"):
            for name in reversed(list(station.procs)):  # the kiosk last: its order is lost
                station.kill(name)
            (station.config.runtime_dir / "scanner-bench.sock").unlink(missing_ok=True)
            if kind == "lying_disk":
                dropped = drop_last_commit(station.config.db_path)
                self.history.note("lying disk", station=sid, **dropped)
            return station.start
        raise ValueError(f"unknown fault {kind}")

    @staticmethod
    def _disk_full(station: Any) -> Any:
        pid = station.pid("kiosk")
        if pid is None:
            return lambda: None
        wal = station.config.db_path.with_name(station.config.db_path.name + "-wal")
        limit = (wal.stat().st_size if wal.exists() else 0) + 4096
        subprocess.run(["prlimit", f"--pid={pid}", f"--fsize={limit}"], check=True)

        def undo() -> None:
            if station.pid("kiosk") == pid:
                subprocess.run(["prlimit", f"--pid={pid}", "--fsize=unlimited"], check=False)

        return undo


def drop_last_commit(db: Path) -> dict[str, Any]:
    """Cut the WAL of a closed database back to the end of its second-to-last commit (or
    as far as a checkpoint allows) and remove the ``-shm`` index; says what it dropped."""
    wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
    data = wal.read_bytes() if wal.exists() else b""
    if len(data) < WAL_HEADER:
        return {"dropped_frames": 0, "why": "no WAL"}
    page_size = int.from_bytes(data[8:12], "big")
    salt, frame = data[16:24], FRAME_HEADER + page_size
    commits, offset = [], WAL_HEADER
    while offset + frame <= len(data) and data[offset + 8 : offset + 16] == salt:
        if int.from_bytes(data[offset + 4 : offset + 8], "big"):  # db size: a commit frame
            commits.append(offset + frame)
        offset += frame
    backfilled = 0
    if shm.exists() and shm.stat().st_size >= 100:  # WalCkptInfo.nBackfill, native order
        backfilled = int.from_bytes(shm.read_bytes()[96:100], sys.byteorder)
    floor = WAL_HEADER + backfilled * frame
    keep = max(commits[-2] if len(commits) > 1 else WAL_HEADER, floor)
    if not commits or keep >= commits[-1]:
        return {"dropped_frames": 0, "why": "the last commit is already checkpointed"}
    with wal.open("r+b") as out:
        out.truncate(keep)
    shm.unlink(missing_ok=True)
    return {"dropped_frames": (commits[-1] - keep) // frame, "commits_in_wal": len(commits)}
