"""Serial (RS-232, USB-serial) printers through pyserial.

``port`` is a device (``/dev/ttyUSB0``) or any pyserial URL (``loop://``, ``socket://…``,
``rfc2217://…``). Jobs are written in chunks under ``write_timeout_s``; with hardware flow
control (``rtscts``) a printer that drops CTS (busy, paper out) makes the write time out.

Status: ``DLE EOT``/``ESC ! ?`` with ``status_timeout_s`` to answer. Many serial printers are
wired or configured without a return line, so no answer means online with paper ``unknown``;
:class:`PrinterOffline` only when the port itself cannot be opened.
"""

from __future__ import annotations

import logging
import time
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from edge.spooler.backends.base import PrinterBackend, PrinterConfigBase, PrinterStatus
from edge.spooler.backends.status import no_answer, query_status
from edge.spooler.errors import JobDisconnected, JobTimedOut, PrinterOffline, PrinterTimeout

if TYPE_CHECKING:
    import serial as pyserial

log = logging.getLogger(__name__)

CHUNK = 1024


def _pyserial() -> ModuleType:
    """pyserial, imported when a serial printer is first used."""
    try:
        import serial
    except ImportError as err:
        raise PrinterOffline("serial printers need pyserial — install pyserial") from err
    return serial


class SerialPrinterConfig(PrinterConfigBase):
    """``[printers.NAME] type = "serial"``: a printer on a serial port."""

    type: Literal["serial"] = Field(description="A printer on a serial port (pyserial).")
    port: str = Field(
        min_length=1,
        max_length=4096,
        description="Serial device or pyserial URL, e.g. /dev/ttyUSB0 or loop://.",
    )
    baudrate: int = Field(
        default=9600,
        ge=1200,
        le=921600,
        description="Line speed; must match the printer's setting.",
    )
    rtscts: bool = Field(default=False, description="Use RTS/CTS hardware flow control.")
    dsrdtr: bool = Field(
        default=False, description="Use DSR/DTR hardware flow control (Epson default)."
    )


class SerialBackend(PrinterBackend):
    config: SerialPrinterConfig

    def __init__(self, config: SerialPrinterConfig) -> None:
        super().__init__(config)
        self._port: pyserial.SerialBase | None = None

    @property
    def description(self) -> str:
        return f"serial printer {self.config.port}"

    def open(self) -> None:
        if self._port is not None:
            return
        pyserial = _pyserial()
        cfg = self.config
        try:
            self._port = pyserial.serial_for_url(
                cfg.port,
                baudrate=cfg.baudrate,
                rtscts=cfg.rtscts,
                dsrdtr=cfg.dsrdtr,
                timeout=cfg.status_timeout_s,
                write_timeout=cfg.write_timeout_s,
            )
        except (pyserial.SerialException, OSError, ValueError) as err:
            raise PrinterOffline(
                f"{self.description} cannot be opened ({err}) — check the cable and that the "
                "printstation user is in group dialout"
            ) from err

    def close(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            try:
                port.close()
            except OSError as err:
                log.debug("closing %s: %s", self.description, err)

    def _opened(self) -> pyserial.SerialBase:
        self.open()
        if self._port is None:
            raise PrinterOffline(f"{self.description} is not open")
        return self._port

    def write(self, data: bytes) -> None:
        pyserial = _pyserial()
        port = self._opened()
        deadline = time.monotonic() + self.config.write_timeout_s
        written = 0
        while written < len(data):
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise pyserial.SerialTimeoutException("write timeout")
                port.write_timeout = remaining
                port.write(data[written : written + CHUNK])
            except pyserial.SerialTimeoutException:
                self._discard_output(port)
                self.close()
                raise self._timeout(written, len(data)) from None
            except (pyserial.SerialException, OSError) as err:
                self.close()
                if written == 0:
                    raise PrinterOffline(
                        f"{self.description}: write failed ({err}) — check the cable"
                    ) from err
                raise JobDisconnected(
                    f"{self.description}: write failed after {written} of {len(data)} bytes "
                    f"({err}); the job may be partly printed",
                    written,
                ) from err
            written += min(CHUNK, len(data) - written)

    def _discard_output(self, port: pyserial.SerialBase) -> None:
        """Drop what is still queued for the printer, so it is not printed later."""
        try:
            port.reset_output_buffer()
        except (OSError, ValueError) as err:
            log.debug("%s: cannot discard queued output: %s", self.description, err)

    def _timeout(self, written: int, total: int) -> PrinterTimeout:
        wait = f"{self.config.write_timeout_s:g} s"
        return JobTimedOut(
            f"{self.description} stopped taking data after {written} of {total} bytes (waited "
            f"{wait}); the job may be partly printed — check paper, cover and flow control",
            written,
        )

    def status(self) -> PrinterStatus:
        pyserial = _pyserial()
        port = self._opened()

        def ask(query: bytes) -> bytes:
            port.reset_input_buffer()
            port.write(query)
            return bytes(port.read(1))

        try:
            answer = query_status(ask, self.config.language)
        except (pyserial.SerialException, OSError) as err:
            self.close()
            raise PrinterOffline(f"{self.description}: status query failed ({err})") from err
        return answer or no_answer("the serial line")
