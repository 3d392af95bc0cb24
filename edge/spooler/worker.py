"""One thread per printer: take the printer's next job, render it, send it, record the outcome.

Before a job is taken the printer is asked for its status; while it is offline or out of
paper the printer is *paused* and its jobs wait in the queue (they do not use up attempts).
A failure before any byte reached the printer re-queues the job with exponential backoff; a
failure after some bytes were sent, or paper running out during a job, makes the job
``uncertain`` for an operator to decide.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge.config import SpoolerSection
from edge.spooler.backends import PrinterConfig, open_backend, render_options
from edge.spooler.backends.base import PrinterBackend, PrinterStatus
from edge.spooler.errors import JobInterrupted, PaperOut, PrinterError, RenderError
from edge.spooler.render import render
from edge.store import Store, print_jobs

log = logging.getLogger(__name__)


@dataclass
class PrinterState:
    """What the admin screen and telemetry show about one printer."""

    type: str
    role: str
    online: bool | None = None
    paper: str = "unknown"
    paused: bool = False
    reason: str = ""
    last_error: str = ""
    printed: int = 0
    last_job_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "extra"} | self.extra


def backoff(attempts: int, base_s: float, max_s: float) -> float:
    return float(min(max_s, base_s * (2 ** max(attempts - 1, 0))))


class PrinterWorker(threading.Thread):
    def __init__(
        self,
        name: str,
        config: PrinterConfig,
        store: Store,
        settings: SpoolerSection,
        on_change: Callable[[], None],
        on_done: Callable[[int, bytes], None],
        backend: PrinterBackend | None = None,
    ):
        super().__init__(name=f"printer-{name}", daemon=True)
        self.printer = name
        self.config = config
        self.store = store
        self.settings = settings
        self.options = render_options(config)
        self.backend = backend or open_backend(config)
        self.state = PrinterState(type=config.type, role=config.role)
        self.wake = threading.Event()
        self._halt = threading.Event()
        self._on_change = on_change
        self._on_done = on_done
        self._opened = False

    # -- loop -------------------------------------------------------------------------
    def run(self) -> None:
        while not self._halt.is_set():
            try:
                waited = self.step()
            except Exception:
                log.exception("printer %s: unexpected error; continuing", self.printer)
                waited = self.settings.status_interval_s
            if waited > 0:
                self.wake.wait(waited)
                self.wake.clear()
        self._close()

    def step(self) -> float:
        """Do one unit of work; returns how long to wait before the next step (0: at once)."""
        if not self._ready():
            return self.settings.status_interval_s
        with self.store.write() as conn:
            job = print_jobs.claim_next(conn, self.printer)
            due = None if job else print_jobs.next_due(conn, self.printer)
        if job is None:
            return self._until(due)
        self._print(job)
        return 0

    def _until(self, due: str | None) -> float:
        if due is None:
            return self.settings.status_interval_s
        moment = datetime.fromisoformat(due.replace("Z", "+00:00"))
        seconds = (moment - datetime.now(UTC)).total_seconds()
        return min(max(seconds, 0.01), self.settings.status_interval_s)

    # -- printer state ----------------------------------------------------------------
    def _ready(self) -> bool:
        if self.printer in print_jobs.paused_printers(self.store.conn()):
            self._pause("paused by an operator", online=bool(self.state.online))
            return False
        try:
            if not self._opened:
                self.backend.open()
                self._opened = True
            status = self.backend.status()
        except PrinterError as err:
            self._opened = False
            self._close()
            self._pause(str(err), online=False)
            return False
        return self._apply_status(status)

    def _apply_status(self, status: PrinterStatus) -> bool:
        if not status.online:
            self._pause(status.detail or "printer offline", online=False, paper=status.paper)
            return False
        if status.paper == "out":
            self._pause(status.detail or "out of paper", online=True, paper="out")
            return False
        self._resume(status.paper)
        return True

    def _pause(self, reason: str, *, online: bool, paper: str | None = None) -> None:
        changed = not self.state.paused or self.state.reason != reason
        self.state.paused, self.state.reason, self.state.online = True, reason, online
        if paper:
            self.state.paper = paper
        if changed:
            log.warning("printer %s paused: %s", self.printer, reason)
            self._on_change()

    def _resume(self, paper: str) -> None:
        changed = self.state.paused or self.state.paper != paper or self.state.online is not True
        was_paused = self.state.paused
        self.state.paused, self.state.reason, self.state.online = False, "", True
        self.state.paper = paper
        if was_paused:
            log.info("printer %s is back (paper %s); resuming", self.printer, paper)
        if changed:
            self._on_change()

    # -- one job ----------------------------------------------------------------------
    def _print(self, job: dict[str, Any]) -> None:
        job_id = job["id"]
        try:
            data = render(job["kind"], job["payload"], self.options)
        except RenderError as err:
            self._finish(job_id, print_jobs.mark_failed, f"cannot render: {err}")
            return
        started = time.perf_counter()
        try:
            self.backend.write(data)
        except JobInterrupted as err:
            self._opened = False
            self._finish(job_id, print_jobs.mark_uncertain, f"interrupted: {err}")
            self._pause(str(err), online=False)
            return
        except PrinterError as err:
            self._opened = False
            self._retry(job, str(err))
            if isinstance(err, PaperOut):
                self._pause(str(err), online=True, paper="out")
            else:
                self._pause(str(err), online=False)
            return
        after = self._status_after()
        if after is not None and after.paper == "out":
            self._finish(
                job_id,
                print_jobs.mark_uncertain,
                "paper ran out during or right after this job; check the printout",
            )
            self._apply_status(after)
            return
        # The state first: _finish announces the change, and the status file is written from it.
        self.state.printed += 1
        self.state.last_job_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._finish(job_id, print_jobs.mark_done, None)
        log.info(
            "printer %s: job %d (%s) printed, %d bytes in %.1f ms",
            self.printer,
            job_id,
            job["kind"],
            len(data),
            (time.perf_counter() - started) * 1000,
        )
        self._on_done(job_id, data)

    def _status_after(self) -> PrinterStatus | None:
        try:
            return self.backend.status()
        except PrinterError as err:
            log.warning("printer %s: no status after job: %s", self.printer, err)
            return None

    def _retry(self, job: dict[str, Any], error: str) -> None:
        if job["attempts"] >= self.settings.max_attempts:
            self._finish(
                job["id"],
                print_jobs.mark_failed,
                f"gave up after {job['attempts']} attempts: {error}",
            )
            return
        delay = backoff(job["attempts"], self.settings.retry_base_s, self.settings.retry_max_s)
        with self.store.write() as conn:
            print_jobs.retry_later(conn, job["id"], error, delay)
        self.state.last_error = error
        log.warning(
            "printer %s: job %d not sent (%s); retry in %.1f s",
            self.printer,
            job["id"],
            error,
            delay,
        )
        self._on_change()

    def _finish(self, job_id: int, action: Callable[..., Any], error: str | None) -> None:
        with self.store.write() as conn:
            if error is None:
                action(conn, job_id)
            else:
                action(conn, job_id, error)
        if error:
            self.state.last_error = error
            log.warning("printer %s: job %d: %s", self.printer, job_id, error)
        self._on_change()

    def _close(self) -> None:
        try:
            self.backend.close()
        except PrinterError as err:
            log.debug("printer %s: close: %s", self.printer, err)

    def stop(self) -> None:
        self._halt.set()
        self.wake.set()
