"""PNG previews of print jobs for the staff screens, made off the printing path.

A printed job's bytes are turned into a picture by the same renderer the printer emulator
uses; a job still waiting (its printer offline, say) is rendered from its payload, so staff
can see any job.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path
from typing import Any

from edge.emulator.render import render_job_png
from edge.spooler.backends import PrinterConfig, render_options
from edge.spooler.errors import RenderError
from edge.spooler.render import render
from edge.store import Store, print_jobs

log = logging.getLogger(__name__)


class PreviewWriter(threading.Thread):
    def __init__(self, store: Store, out_dir: Path, printers: dict[str, PrinterConfig]):
        super().__init__(name="previews", daemon=True)
        self.store, self.out_dir, self.printers = store, out_dir, printers
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.wake = threading.Event()
        self._queue: queue.Queue[tuple[int, bytes]] = queue.Queue(maxsize=500)
        self._halt = threading.Event()

    def path(self, job_id: int) -> Path:
        return self.out_dir / f"{job_id}.png"

    def submit(self, job_id: int, data: bytes) -> None:
        """Queue the bytes a printer just received; dropped (and rendered later) when full."""
        try:
            self._queue.put_nowait((job_id, data))
        except queue.Full:
            self.wake.set()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                job_id, data = self._queue.get(timeout=1.0)
            except queue.Empty:
                if self.wake.is_set():
                    self.wake.clear()
                    self._missing()
                continue
            try:
                self._write(job_id, data)
            except Exception:
                log.exception("preview of job %d failed", job_id)

    def _width(self, printer: str) -> int:
        config = self.printers.get(printer)
        return render_options(config).width_dots if config else 576

    def _write(self, job_id: int, data: bytes, width: int | None = None) -> None:
        target = self.path(job_id)
        if target.exists():
            return
        if width is None:
            job = print_jobs.get(self.store.conn(), job_id)
            width = self._width(job["printer"])
        png = render_job_png(data, width_dots=width)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(png)
        os.replace(tmp, target)

    def _missing(self) -> None:
        """Render recent jobs that have no preview yet, from their payload."""
        for job in print_jobs.find(self.store.conn(), limit=50):
            if self.path(job["id"]).exists() or self._halt.is_set():
                continue
            config = self.printers.get(job["printer"])
            if config is None:
                continue
            self._render_payload(job, config)

    def _render_payload(self, job: dict[str, Any], config: PrinterConfig) -> None:
        options = render_options(config)
        try:
            data = render(job["kind"], job["payload"], options)
            self._write(job["id"], data, options.width_dots)
        except RenderError as err:
            log.warning("no preview for job %d: %s", job["id"], err)
        except Exception:
            log.exception("preview of job %d failed", job["id"])

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
