"""The printer spooler service: recovers what a crash left, then runs one worker per printer.

Wake-ups come from the kiosk through :mod:`edge.store.notify`; every printer is also polled
for status, so jobs resume by themselves when a printer comes back.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from edge.config import StationConfig
from edge.spooler.preview import PreviewWriter
from edge.spooler.worker import PrinterWorker
from edge.store import Store, print_jobs
from edge.store.notify import Listener, poke

log = logging.getLogger(__name__)


class SpoolerService:
    def __init__(self, config: StationConfig, backends: dict[str, Any] | None = None):
        self.config = config
        self.store = Store(config.db_path)
        self.runtime_dir = config.runtime_dir
        self.previews = PreviewWriter(
            self.store,
            config.station.data_dir / "previews",
            {n: p for n, p in config.printers.items()},
        )
        self._status_lock = threading.Lock()
        self._status_dirty = threading.Event()
        self.workers = {
            name: PrinterWorker(
                name,
                printer,
                self.store,
                config.spooler,
                on_change=self._changed,
                on_done=self.previews.submit,
                backend=(backends or {}).get(name),
            )
            for name, printer in config.printers.items()
        }
        self.listener = Listener(self.runtime_dir, "spooler")
        self._stop = threading.Event()
        self._dispatch = threading.Thread(target=self._wakeups, name="wakeups", daemon=True)

    def start(self) -> None:
        with self.store.write() as conn:
            stuck = print_jobs.recover(conn)
        for job_id in stuck:
            log.warning(
                "job %d was being sent when the spooler stopped; it is now uncertain "
                "and waits for an operator",
                job_id,
            )
        self.previews.start()
        for worker in self.workers.values():
            worker.start()
        self._dispatch.start()
        self._write_status()

    def _wakeups(self) -> None:
        last_status = 0.0
        while not self._stop.is_set():
            if self.listener.wait(1.0):
                for worker in self.workers.values():
                    worker.wake.set()
                self.previews.wake.set()
            if self._status_dirty.is_set() or time.monotonic() - last_status > 30:
                self._status_dirty.clear()
                self._write_status()
                last_status = time.monotonic()

    def _changed(self) -> None:
        """A job or printer changed: tell the kiosk now, rewrite the status file soon."""
        poke(self.runtime_dir, "kiosk")
        poke(self.runtime_dir, "sync")
        self._status_dirty.set()
        poke(self.runtime_dir, "spooler")

    def status(self) -> dict[str, Any]:
        depth = print_jobs.depth(self.store.conn())
        return {
            "updated_at": time.time(),
            "printers": {
                name: {**w.state.to_json(), "queue": depth.get(name, 0)}
                for name, w in self.workers.items()
            },
        }

    def _write_status(self) -> None:
        with self._status_lock:
            path = self.runtime_dir / "spooler-status.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.status(), ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        poke(self.runtime_dir, "kiosk")

    def is_alive(self) -> bool:
        return self._dispatch.is_alive() and all(w.is_alive() for w in self.workers.values())

    def stop(self) -> None:
        self._stop.set()
        for worker in self.workers.values():
            worker.stop()
        for worker in self.workers.values():
            worker.join(timeout=10)
        self._dispatch.join(timeout=5)
        self.previews.stop()
        self.listener.close()
        self.store.close()


def build(config: StationConfig) -> SpoolerService:
    return SpoolerService(config)


def preview_dir(config: StationConfig) -> Path:
    return config.station.data_dir / "previews"


__all__ = ["SpoolerService", "build", "preview_dir"]
