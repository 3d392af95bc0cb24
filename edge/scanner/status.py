"""Per-scanner status, shared with other processes through an atomically written JSON file.

The file ``{runtime_dir}/scanner-status.json`` holds::

    {"updated_at": "<ISO UTC>", "pid": 1234,
     "scanners": {"NAME": {"type", "connected", "last_scan_at", "scans", "rejected",
                           "debounced", "last_error"}}}

It is rewritten (temp file + rename, so readers never see half a file) soon after a change,
at most once per `min_interval` seconds, and every `heartbeat` seconds regardless, so a stale
``updated_at`` tells the admin screen that the scanner service is not running.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.scanner.event import utc_now

log = logging.getLogger(__name__)

STATUS_FILE = "scanner-status.json"


class StatusBoard:
    """Thread-safe counters and states of all scanners, plus the status file writer."""

    def __init__(
        self,
        path: Path,
        *,
        min_interval: float = 2.0,
        heartbeat: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._min_interval = min_interval
        self._heartbeat = heartbeat
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stopped = threading.Event()
        self._scanners: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self._last_write = float("-inf")
        self._thread: threading.Thread | None = None

    def add(self, name: str, kind: str) -> None:
        with self._lock:
            self._scanners[name] = {
                "type": kind,
                "connected": False,
                "last_scan_at": None,
                "scans": 0,
                "rejected": 0,
                "debounced": 0,
                "last_error": None,
            }
        self._mark()

    def update(self, name: str, **fields: Any) -> None:
        """Set fields of one scanner; the file is rewritten only when something changed."""
        with self._lock:
            entry = self._scanners[name]
            changed = {key: value for key, value in fields.items() if entry.get(key) != value}
            entry.update(changed)
        if changed:
            self._mark()

    def count(self, name: str, counter: str, **fields: Any) -> None:
        """Add one to `counter` ("scans", "rejected", "debounced") and set `fields`."""
        with self._lock:
            entry = self._scanners[name]
            entry[counter] += 1
            entry.update(fields)
        self._mark()

    def scanned(self, name: str, at: datetime) -> None:
        self.count(name, "scans", last_scan_at=at.isoformat(timespec="milliseconds"))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: dict(entry) for name, entry in self._scanners.items()}

    def start(self) -> None:
        """Start the writer thread (writes the file once at once)."""
        self._stopped.clear()
        self._thread = threading.Thread(target=self._run, name="scanner-status", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the writer after a last write. Idempotent."""
        self._stopped.set()
        self._changed.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self.write()

    def write(self) -> None:
        """Write the status file now (temp file + rename)."""
        with self._lock:
            self._dirty = False
            document = {
                "updated_at": utc_now().isoformat(timespec="milliseconds"),
                "pid": os.getpid(),
                "scanners": {name: dict(entry) for name, entry in self._scanners.items()},
            }
        self._last_write = self._clock()
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            os.replace(temp, self.path)
        except OSError as err:
            log.warning("Cannot write scanner status to %s: %s", self.path, err)

    def _mark(self) -> None:
        with self._lock:
            self._dirty = True
        self._changed.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._tick()
            except Exception:
                log.exception("Scanner status writer failed; continuing")
                self._stopped.wait(1.0)

    def _tick(self) -> None:
        since = self._clock() - self._last_write
        if (self._dirty and since >= self._min_interval) or since >= self._heartbeat:
            self.write()
            since = 0.0
        self._changed.clear()
        if self._dirty:
            self._stopped.wait(max(0.0, self._min_interval - since))
        else:
            self._changed.wait(max(0.0, self._heartbeat - since))
