"""The scan source interface, the settings every source shares, and hot-plug handling.

A source is polled by its service thread with `read(timeout)`, which returns the scans that
arrived (possibly none) within about `timeout` seconds. `DeviceSource` opens its device on
first use and, when the device is missing or lost, reports itself disconnected, logs once on
the way down and once on recovery, and keeps reopening it with exponential backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.scanner.codes import DEFAULT_MAX_LENGTH, CodeRules
from edge.scanner.errors import ScannerError
from edge.scanner.pipeline import RawScan

__all__ = ["DeviceSource", "RawScan", "ScanSource", "SourceConfig"]

log = logging.getLogger(__name__)


class SourceConfig(BaseModel):
    """Settings shared by every scanner type."""

    model_config = ConfigDict(extra="forbid")

    debounce_ms: int = Field(
        300,
        ge=0,
        le=60_000,
        description="The same code from this scanner again within this many milliseconds "
        "is dropped as a double read (0 = off).",
    )
    max_length: int = Field(
        DEFAULT_MAX_LENGTH,
        ge=1,
        le=8192,
        description="Longest code accepted, in characters; longer input is rejected.",
    )
    purpose: Literal["packing", "kiosk"] = Field(
        "packing",
        description="packing: scans drive the packing screen; kiosk: scans go to the customer "
        "screen (a product scan adds it to the cart, a ticket QR shows the order's status).",
    )
    gtin_check: bool = Field(
        True,
        description="Treat 8/12/13-digit codes without a symbology identifier as EAN/UPC and "
        "reject them when the check digit is wrong.",
    )

    def rules(self) -> CodeRules:
        return CodeRules(max_length=self.max_length, gtin_check=self.gtin_check)


class ScanSource(ABC):
    """One scanner: `read` what it sent, `close` it. Used by one thread at a time."""

    name: str

    @property
    @abstractmethod
    def connected(self) -> bool:
        """True while the device is open and delivering."""

    @property
    @abstractmethod
    def last_error(self) -> str | None:
        """Why the device was last unavailable, or None."""

    @abstractmethod
    def read(self, timeout: float) -> list[RawScan]:
        """Scans that arrived within about `timeout` seconds (returns early when one did)."""

    @abstractmethod
    def close(self) -> None:
        """Release the device; idempotent. A closed source reads nothing."""


class DeviceSource(ScanSource):
    """A source over a device that may be absent or come and go (hot-plug)."""

    backoff_initial = 0.25
    backoff_max = 5.0

    def __init__(self, name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._closed = threading.Event()
        self._open = False
        self._down = False
        self._ever_open = False
        self._error: str | None = None
        self._delay = self.backoff_initial
        self._next_attempt = 0.0

    @abstractmethod
    def _open_device(self) -> None:
        """Open the device; raise `DeviceUnavailable` (or OSError) when it is not there.

        Any `ScannerError` (e.g. `DependencyMissing`) counts as unavailable: it is logged once,
        shown in the status, and the open is retried with backoff.
        """

    @abstractmethod
    def _read_device(self, timeout: float) -> list[RawScan]:
        """Read from the open device; raise `DeviceUnavailable` (or OSError) when it is lost."""

    @abstractmethod
    def _close_device(self) -> None:
        """Release the open device; must not raise."""

    def describe(self) -> str:
        """How the device is named in log lines."""
        return self.name

    @property
    def connected(self) -> bool:
        return self._open

    @property
    def last_error(self) -> str | None:
        return self._error

    def read(self, timeout: float) -> list[RawScan]:
        if self._closed.is_set():
            return []
        if not self._open and not self._try_open():
            wait = max(0.0, min(timeout, self._next_attempt - self._clock()))
            self._closed.wait(wait)
            return []
        try:
            return self._read_device(timeout)
        except (ScannerError, OSError) as err:
            self._lost(err)
            return []

    def close(self) -> None:
        self._closed.set()
        if self._open:
            self._open = False
            self._close_device()

    def _try_open(self) -> bool:
        if self._clock() < self._next_attempt:
            return False
        try:
            self._open_device()
        except (ScannerError, OSError) as err:
            self._error = str(err)
            self._next_attempt = self._clock() + self._delay
            self._delay = min(self._delay * 2, self.backoff_max)
            if not self._down:
                self._down = True
                log.warning(
                    "Scanner %r unavailable: %s (retrying in the background)", self.name, err
                )
            return False
        self._open = True
        self._delay = self.backoff_initial
        if self._down:
            log.info("Scanner %r reconnected (%s)", self.name, self.describe())
        elif not self._ever_open:
            log.info("Scanner %r connected (%s)", self.name, self.describe())
        self._down = False
        self._ever_open = True
        return True

    def _lost(self, err: Exception) -> None:
        self._open = False
        self._close_device()
        self._error = str(err)
        self._next_attempt = self._clock()
        if not self._down:
            self._down = True
            log.warning("Scanner %r lost: %s (reopening in the background)", self.name, err)
