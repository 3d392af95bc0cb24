"""USB printers through python-escpos's ``Usb`` printer and pyusb (libusb).

The printer is found by vendor and product id, configured and claimed by python-escpos; job
bytes go out in chunks on the bulk OUT endpoint. pyusb is imported only when a USB printer is
opened. Tests pass a pyusb back end (``usb_backend``) that stands in for libusb, so the real
python-escpos and pyusb code runs against a simulated device.

Failures: no such device → :class:`PrinterOffline` ("check cable and udev rule"). During a job,
an unplugged device is :class:`PrinterOffline` when the first chunk fails (nothing printed) and
:class:`JobDisconnected` after that; a transfer timeout is always :class:`JobTimedOut`, because
the printer may have taken part of the chunk that timed out.

Status: ``DLE EOT``/``ESC ! ?`` on the OUT endpoint, answer read from the IN endpoint within
``status_timeout_s``. A printer without an answer (no IN endpoint, or silent) is reported online
with paper ``unknown``.
"""

from __future__ import annotations

import functools
import logging
import time
from types import ModuleType
from typing import Annotated, Any, Literal

from escpos.exceptions import DeviceNotFoundError
from pydantic import BeforeValidator, Field

from edge.spooler.backends.base import PrinterBackend, PrinterConfigBase, PrinterStatus
from edge.spooler.backends.status import no_answer, query_status
from edge.spooler.errors import JobDisconnected, JobTimedOut, PrinterOffline

log = logging.getLogger(__name__)

CHUNK = 4096


def _hex(value: Any) -> Any:
    """USB ids and endpoints: a string is hexadecimal ("04b8", "0x82"), an int is taken as is."""
    if isinstance(value, str):
        try:
            return int(value.strip().lower().removeprefix("0x"), 16)
        except ValueError:
            raise ValueError(f"{value!r} is not a hexadecimal number") from None
    return value


UsbId = Annotated[int, BeforeValidator(_hex), Field(ge=0, le=0xFFFF)]


class UsbPrinterConfig(PrinterConfigBase):
    """``[printers.NAME] type = "usb"``: a USB printer addressed by vendor and product id."""

    type: Literal["usb"] = Field(description="A USB printer driven through libusb.")
    vendor_id: UsbId = Field(description='USB vendor id, hex string ("04b8") or integer.')
    product_id: UsbId = Field(description='USB product id, hex string ("0e15") or integer.')
    in_ep: Annotated[int, BeforeValidator(_hex)] = Field(
        default=0x82, ge=0x81, le=0x8F, description="Bulk IN endpoint address for status answers."
    )
    out_ep: Annotated[int, BeforeValidator(_hex)] = Field(
        default=0x01, ge=0x01, le=0x0F, description="Bulk OUT endpoint address for print data."
    )
    interface: int = Field(
        default=0, ge=0, le=31, description="USB interface number of the printer."
    )


def _pyusb() -> ModuleType:
    """pyusb, imported when a USB printer is first used."""
    try:
        import usb.core
        import usb.util
    except ImportError as err:
        raise PrinterOffline(
            "USB printers need pyusb — install printstation[usb] and libusb-1.0-0"
        ) from err
    return usb


@functools.cache
def _printer_class() -> type[Any]:
    """python-escpos's ``Usb`` printer with a status-read timeout and a chosen interface."""
    usb = _pyusb()
    from escpos.printer import Usb

    class EscposUsb(Usb):
        """Adds a status-read timeout, an explicit interface claim and timed writes."""

        def __init__(self, *, interface: int, read_timeout_ms: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.interface = interface
            self.read_timeout_ms = read_timeout_ms

        def open(self, raise_not_found: bool = True) -> None:
            super().open(raise_not_found)
            if not self.device:
                return
            try:
                if self.device.is_kernel_driver_active(self.interface):
                    self.device.detach_kernel_driver(self.interface)
            except (NotImplementedError, usb.core.USBError):
                log.debug("kernel driver state of interface %d unknown", self.interface)
            usb.util.claim_interface(self.device, self.interface)

        def _read(self) -> bytes:
            return bytes(self.device.read(self.in_ep, 16, self.read_timeout_ms))

        def send(self, data: bytes, timeout_ms: int) -> None:
            self.timeout = max(timeout_ms, 1)
            self._raw(data)

        def ask(self, query: bytes, timeout_ms: int) -> bytes:
            self.timeout = max(timeout_ms, 1)
            return bytes(self.query_status(query))

    return EscposUsb


class UsbBackend(PrinterBackend):
    config: UsbPrinterConfig

    def __init__(self, config: UsbPrinterConfig, usb_backend: object | None = None) -> None:
        super().__init__(config)
        self._usb_backend = usb_backend
        self._printer: Any = None

    @property
    def description(self) -> str:
        return f"USB printer {self.config.vendor_id:04x}:{self.config.product_id:04x}"

    def open(self) -> None:
        if self._printer is not None:
            return
        usb = _pyusb()
        cfg = self.config
        printer = _printer_class()(
            idVendor=cfg.vendor_id,
            idProduct=cfg.product_id,
            usb_args={"backend": self._usb_backend} if self._usb_backend is not None else {},
            in_ep=cfg.in_ep,
            out_ep=cfg.out_ep,
            profile=cfg.profile,
            interface=cfg.interface,
            read_timeout_ms=max(int(cfg.status_timeout_s * 1000), 1),
        )
        try:
            printer.open()
        except DeviceNotFoundError as err:
            raise PrinterOffline(
                f"{self.description} not found — check cable and udev rule"
            ) from err
        except usb.core.NoBackendError as err:
            raise PrinterOffline(
                f"{self.description}: libusb is missing — install libusb-1.0-0"
            ) from err
        except (usb.core.USBError, ValueError) as err:
            printer.close()
            raise PrinterOffline(
                f"{self.description} cannot be claimed ({err}) — check the udev rule and that "
                "no other program or kernel driver holds it"
            ) from err
        self._printer = printer

    def close(self) -> None:
        if self._printer is not None:
            printer, self._printer = self._printer, None
            try:
                printer.close()
            except Exception as err:  # a device that is already gone may fail in any way
                log.debug("closing %s: %s", self.description, err)

    def write(self, data: bytes) -> None:
        usb = _pyusb()
        self.open()
        deadline = time.monotonic() + self.config.write_timeout_s
        sent = 0
        while sent < len(data):
            chunk = data[sent : sent + CHUNK]
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            try:
                if remaining_ms <= 0:
                    raise usb.core.USBTimeoutError("write timeout")
                self._printer.send(chunk, remaining_ms)
            except usb.core.USBTimeoutError as err:
                self.close()
                raise JobTimedOut(
                    f"{self.description} stopped taking data after {sent} of {len(data)} bytes "
                    f"(waited {self.config.write_timeout_s:g} s); the job may be partly printed "
                    "— check paper and cover",
                    sent,
                ) from err
            except (usb.core.USBError, ValueError) as err:
                self.close()
                if sent == 0:
                    raise PrinterOffline(
                        f"{self.description} is gone ({err}) — check cable and udev rule"
                    ) from err
                raise JobDisconnected(
                    f"{self.description} was lost after {sent} of {len(data)} bytes ({err}); "
                    "the job may be partly printed — check the cable",
                    sent,
                ) from err
            sent += len(chunk)

    def status(self) -> PrinterStatus:
        usb = _pyusb()
        self.open()
        timeout_ms = max(int(self.config.status_timeout_s * 1000), 1)

        def ask(query: bytes) -> bytes:
            try:
                return bytes(self._printer.ask(query, timeout_ms)[-1:])
            except (usb.core.USBTimeoutError, ValueError):
                return b""

        try:
            answer = query_status(ask, self.config.language)
        except usb.core.USBError as err:
            self.close()
            raise PrinterOffline(
                f"{self.description} is gone ({err}) — check cable and udev rule"
            ) from err
        return answer or no_answer("USB")
