"""Printers reached through a device node or file, e.g. ``/dev/usb/lp0`` (kernel usblp driver).

The path must already exist; it is never created, so a missing ``/dev/usb/lp0`` (printer
unplugged) is reported as :class:`PrinterOffline` rather than turned into a regular file. The
node stays open across jobs; a stale handle (the printer was unplugged and plugged back in) is
reopened once if the job fails before any of its bytes were written.

Writes are non-blocking and bounded by ``write_timeout_s``, so a printer that stops taking data
raises :class:`PrinterTimeout` (or :class:`JobTimedOut` part-way through a job).

Status: this transport only writes, so :meth:`FileBackend.status` reports a printer whose path
exists as online with paper ``unknown``, and raises :class:`PrinterOffline` when it is missing.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import time
from typing import Literal

from pydantic import Field

from edge.spooler.backends.base import PrinterBackend, PrinterConfigBase, PrinterStatus
from edge.spooler.backends.status import no_answer
from edge.spooler.errors import JobDisconnected, JobTimedOut, PrinterOffline, PrinterTimeout

log = logging.getLogger(__name__)

CHUNK = 16 * 1024


class FilePrinterConfig(PrinterConfigBase):
    """``[printers.NAME] type = "file"``: a printer device node such as ``/dev/usb/lp0``."""

    type: Literal["file"] = Field(description="A printer written through a device node or file.")
    path: str = Field(
        min_length=1,
        max_length=4096,
        description="Path of the printer device, e.g. /dev/usb/lp0; must already exist.",
    )


class FileBackend(PrinterBackend):
    config: FilePrinterConfig

    def __init__(self, config: FilePrinterConfig) -> None:
        super().__init__(config)
        self._fd: int | None = None

    @property
    def description(self) -> str:
        return f"file printer {self.config.path}"

    def open(self) -> None:
        if self._fd is not None:
            return
        flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            self._fd = os.open(self.config.path, flags)
        except FileNotFoundError as err:
            raise PrinterOffline(
                f"{self.description} not found — check the cable, that the usblp kernel "
                "module is loaded and the udev rule"
            ) from err
        except PermissionError as err:
            raise PrinterOffline(
                f"{self.description}: permission denied — check the udev rule gives the "
                "printstation user (group lp) write access"
            ) from err
        except OSError as err:
            raise PrinterOffline(
                f"{self.description} cannot be opened ({err.strerror or err}) — "
                "check that the printer is connected and switched on"
            ) from err

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError as err:
                log.debug("closing %s: %s", self.description, err)

    def write(self, data: bytes) -> None:
        self.open()
        view = memoryview(data)
        deadline = time.monotonic() + self.config.write_timeout_s
        written, retried = 0, False
        while written < len(view):
            fd = self._fd
            if fd is None:
                raise PrinterOffline(f"{self.description} is not open")
            try:
                written += os.write(fd, view[written : written + CHUNK])
            except BlockingIOError:
                if not _writable(fd, deadline):
                    self.close()
                    raise self._timeout(written, len(view)) from None
            except OSError as err:
                self.close()
                if written == 0 and not retried and err.errno in (errno.ENODEV, errno.EIO):
                    log.info("%s: stale handle (%s); reopening", self.description, err.strerror)
                    retried = True
                    self.open()
                    continue
                if written == 0:
                    raise PrinterOffline(
                        f"{self.description}: write failed ({err.strerror or err}) — "
                        "check the cable and that the printer is switched on"
                    ) from err
                raise JobDisconnected(
                    f"{self.description}: write failed after {written} of {len(view)} bytes "
                    f"({err.strerror or err}); the job may be partly printed",
                    written,
                ) from err

    def _timeout(self, written: int, total: int) -> PrinterTimeout:
        wait = f"{self.config.write_timeout_s:g} s"
        if written == 0:
            return PrinterTimeout(
                f"{self.description} accepted no data for {wait} — check paper, cover and "
                "error lights on the printer"
            )
        return JobTimedOut(
            f"{self.description} stopped accepting data after {written} of {total} bytes "
            f"(waited {wait}); the job may be partly printed",
            written,
        )

    def status(self) -> PrinterStatus:
        if not os.path.exists(self.config.path):
            self.close()
            raise PrinterOffline(
                f"{self.description} not found — check the cable, that the usblp kernel "
                "module is loaded and the udev rule"
            )
        return no_answer("a device file")


def _writable(fd: int, deadline: float) -> bool:
    """Wait until ``fd`` takes more data; ``False`` when ``deadline`` passed first."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    return bool(poller.poll(max(int(remaining * 1000), 1)))
