"""Runs station services as child processes when systemd is not there to do it.

Each service is its own OS process (``printstation SERVICE --config FILE``); a child that
fails is restarted with backoff, except on exit 78 (bad config), which would fail again.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from edge.config import EX_CONFIG
from edge.service import setup_logging

log = logging.getLogger(__name__)


def command(service: str, config: Path | str) -> list[str]:
    return [sys.executable, "-m", "edge.cli", service, "--config", str(config)]


class Child:
    """One supervised child process."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ):
        self.name, self.argv, self.env, self.log_path = name, list(argv), env, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.gave_up = False

    def start(self) -> None:
        out = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - owned by the child
        try:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=out)
        finally:
            if out:
                out.close()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def poll(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def terminate(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
            self.proc.kill()
            self.proc.wait()


class Supervisor:
    def __init__(self, children: list[Child]):
        self.children = children
        self.stop_event = threading.Event()

    def start(self) -> None:
        for child in self.children:
            child.start()
            log.info("started %s (pid %s)", child.name, child.pid)

    def watch(self, tick: float = 0.5) -> None:
        """Restart failed children until :attr:`stop_event` is set."""
        while not self.stop_event.wait(tick):
            for child in self.children:
                code = child.poll()
                if code is None or child.gave_up:
                    continue
                if code == EX_CONFIG:
                    log.error("%s exited: configuration error; not restarting", child.name)
                    child.gave_up = True
                    continue
                child.restarts += 1
                delay = min(30.0, 0.5 * 2 ** min(child.restarts, 6))
                log.warning("%s exited with %s; restarting in %.1f s", child.name, code, delay)
                if self.stop_event.wait(delay):
                    return
                child.start()

    def stop(self) -> None:
        self.stop_event.set()
        for child in reversed(self.children):
            child.terminate()


def run_station(config: str, services: Sequence[str]) -> int:
    setup_logging()
    sup = Supervisor([Child(s, command(s, config), env=dict(os.environ)) for s in services])

    def _on_signal(_signum: int, _frame: object) -> None:
        sup.stop_event.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sup.start()
    try:
        sup.watch()
    finally:
        sup.stop()
    failed = [c.name for c in sup.children if c.gave_up]
    return EX_CONFIG if failed else 0


def wait_for(predicate: object, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(interval)
    return False
