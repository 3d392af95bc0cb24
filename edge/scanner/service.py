"""The scanner service: one thread per configured scanner, from device to `deliver`.

Each thread reads its source, passes what arrives through hygiene, GS1 parsing and debounce
(`ScanPipeline`), and hands accepted events to `deliver` at once. A thread's unexpected error
is logged with its traceback at the loop boundary and the loop goes on. Status (connected,
counters, last error) is kept per scanner and mirrored to ``scanner-status.json``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from edge.scanner.debounce import Debouncer
from edge.scanner.errors import CodeRejected, ScannerError
from edge.scanner.event import ScanEvent, rejection
from edge.scanner.pipeline import RawScan, ScanPipeline
from edge.scanner.sources import ScanSource, SourceConfig, open_source
from edge.scanner.status import STATUS_FILE, StatusBoard

log = logging.getLogger(__name__)

READ_TIMEOUT = 0.2
"""Longest a scanner thread waits in one read; bounds how long `stop()` takes."""
ERROR_PAUSE = 1.0
"""Pause after an unexpected error, so a persistent fault does not spin."""

SourceOpener = Callable[[str, SourceConfig, Path], ScanSource]


class ScannerService:
    """Runs every configured scanner until stopped."""

    def __init__(
        self,
        sources: Mapping[str, SourceConfig],
        deliver: Callable[[ScanEvent], None],
        runtime_dir: Path,
        clock: Callable[[], float] = time.monotonic,
        *,
        opener: SourceOpener = open_source,
        status_interval: float = 2.0,
    ) -> None:
        self._configs = dict(sources)
        self._deliver = deliver
        self._runtime_dir = Path(runtime_dir)
        self._clock = clock
        self._opener = opener
        self._board = StatusBoard(
            self._runtime_dir / STATUS_FILE, min_interval=status_interval, clock=clock
        )
        self._stopping = threading.Event()
        self._sources: dict[str, ScanSource] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._started = False
        self._stopped = False

    def start(self) -> None:
        """Open every source and start its thread; returns at once."""
        if self._started:
            raise ScannerError("scanner service already started")
        self._started = True
        self._runtime_dir.mkdir(parents=True, exist_ok=True)
        for name, cfg in self._configs.items():
            self._board.add(name, getattr(cfg, "type", type(cfg).__name__))
        self._board.start()
        try:
            for name, cfg in self._configs.items():
                self._start_one(name, cfg)
        except ScannerError:
            self.stop()
            raise
        names = ", ".join(self._threads) or "none"
        log.info("Scanner service started with %d scanner(s): %s", len(self._threads), names)

    def stop(self) -> None:
        """Stop the threads and close the sources, in reverse order. Idempotent."""
        if self._stopped or not self._started:
            self._stopped = True
            return
        self._stopped = True
        self._stopping.set()
        for name in reversed(list(self._sources)):
            thread = self._threads.get(name)
            if thread is not None:
                thread.join(READ_TIMEOUT * 10 + ERROR_PAUSE)
                if thread.is_alive():
                    log.warning("Scanner %r thread did not stop in time", name)
            self._sources[name].close()
            self._board.update(name, connected=False)
        self._board.stop()
        log.info("Scanner service stopped")

    def is_alive(self) -> bool:
        """True while started, not stopped, and every scanner thread runs (watchdog)."""
        return (
            self._started
            and not self._stopped
            and all(thread.is_alive() for thread in self._threads.values())
        )

    def status(self) -> dict[str, dict[str, Any]]:
        """Per scanner: type, connected, last_scan_at, scans, rejected, debounced, last_error."""
        return self._board.snapshot()

    def _start_one(self, name: str, cfg: SourceConfig) -> None:
        source = self._opener(name, cfg, self._runtime_dir)
        self._sources[name] = source
        pipeline = ScanPipeline(name, cfg.rules(), Debouncer(cfg.debounce_ms, clock=self._clock))
        thread = threading.Thread(
            target=self._run, args=(source, pipeline), name=f"scanner-{name}", daemon=True
        )
        self._threads[name] = thread
        thread.start()

    def _run(self, source: ScanSource, pipeline: ScanPipeline) -> None:
        name = source.name
        state: tuple[bool, str | None] | None = None
        while not self._stopping.is_set():
            try:
                scans = source.read(READ_TIMEOUT)
                if (source.connected, source.last_error) != state:
                    state = (source.connected, source.last_error)
                    self._source_changed(name, *state)
                for raw in scans:
                    self._handle(pipeline, raw)
            except Exception as err:
                log.exception("Scanner %r: unexpected error; continuing", name)
                self._board.update(name, last_error=f"{type(err).__name__}: {err}")
                self._stopping.wait(ERROR_PAUSE)

    def _source_changed(self, name: str, connected: bool, error: str | None) -> None:
        if error is None:
            self._board.update(name, connected=connected)
        else:
            self._board.update(name, connected=connected, last_error=error)

    def _handle(self, pipeline: ScanPipeline, raw: RawScan) -> None:
        name = pipeline.source
        try:
            event = pipeline.process(raw)
        except CodeRejected as err:
            log.warning("Scanner %r: rejected %r: %s", name, raw.text[:80], err)
            self._board.count(name, "rejected", last_error=f"rejected: {err}")
            self._deliver(rejection(name, raw.text, str(err), raw.at))
            return
        if event is None:
            log.debug("Scanner %r: dropped repeated %r", name, raw.text[:80])
            self._board.count(name, "debounced")
            return
        self._deliver(event)
        log.debug("Scanner %r: delivered %r", name, event.code)
        self._board.scanned(name, event.at)
