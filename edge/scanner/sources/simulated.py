"""A simulated scanner: codes arrive as datagrams on a unix socket.

The source creates ``{runtime_dir}/scanner-{name}.sock`` when it is built and removes it on
close. Each datagram is one scan, exactly as a real scanner would send it (framing, AIM id
and all), so it goes through the same hygiene, GS1 parsing and debounce. It can be told to
fail: ``fail = "unplugged"`` starts it unplugged, and the control datagrams sent by
`edge.scanner.simulate` unplug and replug it at run time (hot-plug tests, demos).
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
import socket
import stat
from pathlib import Path
from typing import Literal

from pydantic import Field

from edge.scanner.errors import DeviceUnavailable, ScannerError
from edge.scanner.sources.base import DeviceSource, RawScan, SourceConfig

log = logging.getLogger(__name__)

CONTROL_PREFIX = b"\x00control:"
"""Datagrams starting with this are commands (a NUL byte is never part of a real scan)."""
UNPLUG, REPLUG = b"unplug", b"replug"
MAX_DATAGRAM = 65_536
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def socket_path(runtime_dir: Path, name: str) -> Path:
    """Where the simulated scanner `name` listens."""
    if not _NAME.match(name):
        raise ScannerError(
            f"scanner name {name!r} cannot name a socket; use letters, digits, '-' and '_'"
        )
    return Path(runtime_dir) / f"scanner-{name}.sock"


class SimulatedScannerConfig(SourceConfig):
    """A scanner simulated over a unix datagram socket (demo, tests)."""

    type: Literal["simulated"] = Field(description="Simulated scanner fed over a unix socket.")
    fail: Literal["unplugged"] | None = Field(
        None,
        description="Start in this failure state; `unplugged` behaves like a scanner whose "
        "cable is out until a replug command arrives.",
    )


class SimulatedSource(DeviceSource):
    """Reads datagrams from its unix socket as scans."""

    backoff_initial = 0.02
    backoff_max = 0.2

    def __init__(self, name: str, cfg: SimulatedScannerConfig, runtime_dir: Path) -> None:
        super().__init__(name)
        self.path = socket_path(runtime_dir, name)
        self._unplugged = cfg.fail == "unplugged"
        self._pending_loss = False
        self._waiting: list[RawScan] = []
        self._socket = self._bind()

    def describe(self) -> str:
        return f"simulated at {self.path}"

    def _bind(self) -> socket.socket:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(self.path.lstat().st_mode):
                self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(str(self.path))
        except OSError as err:
            sock.close()
            raise DeviceUnavailable(f"cannot listen on {self.path}: {err}") from err
        sock.setblocking(False)
        return sock

    def _open_device(self) -> None:
        # Scans sent before the first read (right after start) are kept for it.
        self._waiting = self._receive()
        if self._unplugged:
            raise DeviceUnavailable("simulated scanner is unplugged")
        self._pending_loss = False

    def _read_device(self, timeout: float) -> list[RawScan]:
        if self._pending_loss:
            raise DeviceUnavailable("simulated scanner was unplugged")
        if self._waiting:
            scans, self._waiting = self._waiting, []
            return scans
        ready, _, _ = select.select([self._socket], [], [], timeout)
        return self._receive() if ready else []

    def _receive(self) -> list[RawScan]:
        """Drain waiting datagrams: apply commands, return scans (dropped while unplugged)."""
        scans: list[RawScan] = []
        while True:
            try:
                data = self._socket.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return scans
            if data.startswith(CONTROL_PREFIX):
                self._command(data[len(CONTROL_PREFIX) :])
            elif self._unplugged:
                log.debug("Scanner %r is unplugged; dropping %r", self.name, data[:64])
            else:
                scans.append(RawScan(data.decode("utf-8", errors="replace")))

    def _command(self, command: bytes) -> None:
        if command == UNPLUG and not self._unplugged:
            self._unplugged = True
            self._pending_loss = True
        elif command == REPLUG:
            self._unplugged = False
        elif command not in (UNPLUG, REPLUG):
            log.warning("Scanner %r: unknown control command %r", self.name, command[:32])

    def _close_device(self) -> None:
        """Nothing to release: the socket stays bound to receive the replug command."""

    def close(self) -> None:
        super().close()
        self._socket.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
