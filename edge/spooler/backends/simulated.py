"""A simulated printer: keeps jobs in memory (and in ``out_dir``) and fails when told to.

Each ``write()`` is one job. Completed jobs are kept in :attr:`SimulatedBackend.jobs` and, when
``out_dir`` is set, written to ``out_dir/NNNNNN.bin`` (numbering continues after files already
there). Faults come from the config and can be changed at run time:

``fail = "paper_out"``
    no paper from the start: ``status()`` says paper ``out``, ``write()`` raises :class:`PaperOut`.
``fail = "offline"``
    unreachable from the start (as if unplugged): every call raises :class:`PrinterOffline`.
``fail = "slow"``
    each job takes ``delay_ms`` (1000 ms when not set); longer than ``write_timeout_s`` ends in
    :class:`JobTimedOut` after half the job.
``fail = "unplug_mid_job"``
    the first job breaks off after half its bytes with :class:`JobDisconnected`, and the printer
    stays unplugged until :meth:`~SimulatedBackend.plug` is called.
``paper_after_jobs = N``
    paper runs out after N completed jobs.
``delay_ms``
    time every job takes (with any ``fail``).

Run-time controls: :meth:`~SimulatedBackend.set_paper`, :meth:`~SimulatedBackend.set_online`
(the printer answers but reports offline, e.g. cover open), :meth:`~SimulatedBackend.unplug` and
:meth:`~SimulatedBackend.plug`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Literal

from pydantic import Field

from edge.spooler.backends.base import Paper, PrinterBackend, PrinterConfigBase, PrinterStatus
from edge.spooler.errors import (
    JobDisconnected,
    JobTimedOut,
    PaperOut,
    PrinterOffline,
)

log = logging.getLogger(__name__)

SLOW_DEFAULT_MS = 1000


class SimulatedPrinterConfig(PrinterConfigBase):
    """``[printers.NAME] type = "simulated"``: a printer simulator for demos and tests."""

    type: Literal["simulated"] = Field(description="A simulated printer (no hardware).")
    out_dir: str | None = Field(
        default=None,
        max_length=4096,
        description="Folder where each job's bytes are saved as NNNNNN.bin; none keeps them "
        "in memory only.",
    )
    fail: Literal["none", "paper_out", "offline", "slow", "unplug_mid_job"] = Field(
        default="none", description="Fault to simulate from the start."
    )
    delay_ms: int = Field(
        default=0, ge=0, le=600_000, description="Time each job takes to print, in ms."
    )
    paper_after_jobs: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="Jobs printed before the paper runs out; none: never.",
    )


class SimulatedBackend(PrinterBackend):
    config: SimulatedPrinterConfig

    def __init__(self, config: SimulatedPrinterConfig) -> None:
        super().__init__(config)
        self._cond = threading.Condition()
        self._jobs: list[bytes] = []
        self.interrupted: list[bytes] = []
        self._reachable = config.fail != "offline"
        self._online = True
        self._paper_left = config.paper_after_jobs
        self._paper: Paper = "out" if config.fail == "paper_out" or self._paper_left == 0 else "ok"
        self._unplug_pending = config.fail == "unplug_mid_job"
        self._out_dir = Path(config.out_dir) if config.out_dir else None
        self._number = _last_number(self._out_dir)

    @property
    def description(self) -> str:
        return "simulated printer" + (f" ({self._out_dir})" if self._out_dir else "")

    @property
    def jobs(self) -> list[bytes]:
        """Bytes of every completed job, oldest first."""
        with self._cond:
            return list(self._jobs)

    # Printer interface ------------------------------------------------------------------------

    def open(self) -> None:
        with self._cond:
            self._check_reachable()

    def close(self) -> None:
        """Nothing to release."""

    def status(self) -> PrinterStatus:
        with self._cond:
            self._check_reachable()
            detail = []
            if not self._online:
                detail.append("printer reports offline (cover open)")
            if self._paper == "out":
                detail.append("out of paper")
            elif self._paper == "low":
                detail.append("paper roll nearly empty")
            return PrinterStatus(online=self._online, paper=self._paper, detail="; ".join(detail))

    def write(self, data: bytes) -> None:
        half = len(data) // 2
        with self._cond:
            self._check_ready()
            if self._unplug_pending:
                self._unplug_pending = False
                self._reachable = False
                self.interrupted.append(data[:half])
                raise JobDisconnected(
                    f"{self.description} was unplugged after {half} of {len(data)} bytes; "
                    "the job may be partly printed",
                    half,
                )
        delay = self._delay_s()
        if delay > self.config.write_timeout_s:
            time.sleep(self.config.write_timeout_s)
            with self._cond:
                self.interrupted.append(data[:half])
            raise JobTimedOut(
                f"{self.description} stopped taking data after {half} of {len(data)} bytes "
                f"(waited {self.config.write_timeout_s:g} s); the job may be partly printed",
                half,
            )
        time.sleep(delay)
        with self._cond:
            if not self._reachable:
                self.interrupted.append(data[:half])
                raise JobDisconnected(
                    f"{self.description} was unplugged while printing; the job may be partly "
                    "printed",
                    half,
                )
            self._save(data)
            self._jobs.append(data)
            if self._paper_left is not None:
                self._paper_left -= 1
                if self._paper_left <= 0:
                    self._paper = "out"
            self._cond.notify_all()

    # Run-time controls ------------------------------------------------------------------------

    def set_paper(self, state: Paper) -> None:
        """Set the paper level; ``ok`` also refills for good (no more ``paper_after_jobs``)."""
        with self._cond:
            self._paper = state
            if state == "ok":
                self._paper_left = None

    def set_online(self, online: bool) -> None:
        """Make the printer report itself offline (reachable, but not printing) or online."""
        with self._cond:
            self._online = online

    def unplug(self) -> None:
        with self._cond:
            self._reachable = False

    def plug(self) -> None:
        with self._cond:
            self._reachable = True

    def wait_for_jobs(self, count: int, timeout: float) -> list[bytes]:
        """Wait until at least ``count`` jobs completed (or ``timeout`` s passed); return them."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._jobs) >= count, timeout)
            return list(self._jobs)

    # Internals --------------------------------------------------------------------------------

    def _check_reachable(self) -> None:
        if not self._reachable:
            raise PrinterOffline(f"{self.description} is unplugged — check cable and power")

    def _check_ready(self) -> None:
        self._check_reachable()
        if not self._online:
            raise PrinterOffline(f"{self.description} reports offline — check the cover")
        if self._paper == "out":
            raise PaperOut(f"{self.description} is out of paper — load a new roll")

    def _delay_s(self) -> float:
        delay_ms = self.config.delay_ms
        if self.config.fail == "slow" and not delay_ms:
            delay_ms = SLOW_DEFAULT_MS
        return delay_ms / 1000

    def _save(self, data: bytes) -> None:
        if self._out_dir is None:
            return
        self._number += 1
        target = self._out_dir / f"{self._number:06d}.bin"
        try:
            self._out_dir.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        except OSError as err:
            self._number -= 1
            raise PrinterOffline(
                f"{self.description} cannot save the job to {target}: {err.strerror or err}"
            ) from err


def _last_number(folder: Path | None) -> int:
    """Highest NNNNNN of the NNNNNN.bin files already in ``folder`` (0 when none)."""
    if folder is None or not folder.is_dir():
        return 0
    numbers = [int(path.stem) for path in folder.glob("*.bin") if path.stem.isdigit()]
    return max(numbers, default=0)
