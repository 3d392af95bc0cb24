"""Scanners on a serial line (RS-232, USB CDC-ACM virtual COM port) through pyserial.

Bytes are collected until the configured terminator; each frame is decoded as UTF-8 with
undecodable bytes replaced (so hygiene rejects garbage from a wrong baud rate). A fragment
left without terminator for longer than `timeout` is discarded. `port` may also be a pyserial
URL (``loop://``, ``socket://host:port``, ``rfc2217://…``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field

from edge.scanner.codes import FRAMING
from edge.scanner.errors import DeviceUnavailable, require_module
from edge.scanner.sources.base import DeviceSource, RawScan, SourceConfig

log = logging.getLogger(__name__)

TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}
FRAME_LIMIT = 16_384
"""Bytes buffered without a terminator before they are handed on (and rejected as too long)."""

_SERIAL_HINT = "check the cable and that the printstation user may open the port (group dialout)"


class SerialScannerConfig(SourceConfig):
    """A scanner that sends each code over a serial line."""

    type: Literal["serial"] = Field(description="Scanner on a serial line (pyserial).")
    port: str = Field(
        min_length=1,
        max_length=255,
        description="Serial device (e.g. /dev/ttyACM0, /dev/serial/by-id/…) or a pyserial URL "
        "(loop://, socket://host:port).",
    )
    baudrate: int = Field(9600, ge=300, le=4_000_000, description="Line speed in baud.")
    terminator: Literal["CR", "LF", "CRLF"] = Field(
        "CR", description="The suffix the scanner sends after each code."
    )
    timeout: float = Field(
        1.0,
        gt=0,
        le=30,
        description="Seconds of silence after which an unterminated partial code is discarded.",
    )


PortOpener = Callable[[SerialScannerConfig], Any]


def open_serial_port(cfg: SerialScannerConfig) -> Any:
    """Open the configured port (device path or pyserial URL)."""
    serial = require_module("serial", "install pyserial: pip install pyserial")
    try:
        return serial.serial_for_url(cfg.port, baudrate=cfg.baudrate, timeout=0.1)
    except (OSError, ValueError) as err:
        raise DeviceUnavailable(
            f"serial port {cfg.port} cannot be opened: {err}; {_SERIAL_HINT}"
        ) from err


class SerialSource(DeviceSource):
    """Reads terminated codes from a serial port."""

    def __init__(
        self,
        name: str,
        cfg: SerialScannerConfig,
        *,
        opener: PortOpener = open_serial_port,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, clock=clock)
        self._cfg = cfg
        self._opener = opener
        self._terminator = TERMINATORS[cfg.terminator]
        self._port: Any = None
        self._buffer = bytearray()
        self._last_byte = 0.0

    def describe(self) -> str:
        return f"{self._cfg.port} at {self._cfg.baudrate} baud"

    def _open_device(self) -> None:
        self._port = self._opener(self._cfg)
        self._buffer.clear()

    def _read_device(self, timeout: float) -> list[RawScan]:
        port = self._port
        if port is None:
            raise DeviceUnavailable("port not open")
        if port.timeout != timeout:
            port.timeout = timeout
        data = port.read(1)
        if data:
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
            self._buffer += data
            self._last_byte = self._clock()
        scans = self._frames()
        if self._buffer and self._clock() - self._last_byte > self._cfg.timeout:
            log.warning(
                "Scanner %r: discarding %d bytes without %s terminator: %r",
                self.name,
                len(self._buffer),
                self._cfg.terminator,
                bytes(self._buffer[:64]),
            )
            self._buffer.clear()
        return scans

    def _frames(self) -> list[RawScan]:
        scans: list[RawScan] = []
        while True:
            end = self._buffer.find(self._terminator)
            if end < 0:
                break
            frame = bytes(self._buffer[:end])
            del self._buffer[: end + len(self._terminator)]
            self._add(scans, frame)
        if len(self._buffer) > FRAME_LIMIT:
            self._add(scans, bytes(self._buffer))
            self._buffer.clear()
        return scans

    @staticmethod
    def _add(scans: list[RawScan], frame: bytes) -> None:
        text = frame.decode("utf-8", errors="replace")
        if text.strip(FRAMING):
            scans.append(RawScan(text))

    def _close_device(self) -> None:
        port, self._port = self._port, None
        self._buffer.clear()
        if port is not None:
            with contextlib.suppress(OSError):
                port.close()
