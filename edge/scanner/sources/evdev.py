"""Keyboard-wedge (HID keyboard) scanners read through Linux evdev.

The scanner's input device is found by path, by name, or by USB vendor:product id, and is
grabbed exclusively so its keystrokes never reach the kiosk browser. Key events are turned
into codes by `KeyboardDecoder`. The `evdev` library is imported only when a device is opened.
"""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, Protocol

from pydantic import Field, model_validator

from edge.scanner.errors import DeviceUnavailable, require_module
from edge.scanner.keymap import KeyboardDecoder
from edge.scanner.sources.base import DeviceSource, RawScan, SourceConfig

EV_KEY = 1
LED_CAPSL = 1

_EVDEV_HINT = (
    "install the evdev extra: pip install 'printstation[evdev]' (Linux only), and check that "
    "the udev rule gives the printstation user access to /dev/input"
)


class EvdevScannerConfig(SourceConfig):
    """A USB/Bluetooth scanner in keyboard (HID) mode."""

    type: Literal["evdev"] = Field(description="Keyboard-wedge scanner read through evdev.")
    device: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description="Input device path (e.g. /dev/input/by-id/usb-…-event-kbd), or else a "
        "case-insensitive part of the device name as shown by `evtest`.",
    )
    vendor_id: str | None = Field(
        None, pattern=r"^[0-9a-fA-F]{4}$", description="USB vendor id, 4 hex digits (e.g. 05e0)."
    )
    product_id: str | None = Field(
        None, pattern=r"^[0-9a-fA-F]{4}$", description="USB product id, 4 hex digits (e.g. 1200)."
    )
    grab: bool = Field(
        True,
        description="Grab the device exclusively so its keystrokes never reach the kiosk browser.",
    )
    layout: Literal["us", "de", "fr"] = Field(
        "us",
        description="Keyboard layout the scanner is set to (us, de = QWERTZ, fr = AZERTY).",
    )
    terminator: Literal["enter", "tab"] = Field(
        "enter", description="The key the scanner sends after each code."
    )
    gs_substitute: str | None = Field(
        None,
        min_length=1,
        max_length=1,
        description="A character the scanner types instead of the GS1 group separator "
        '(e.g. "^"); it is turned back into GS. Ctrl+] and Alt+029 are always understood.',
    )

    @model_validator(mode="after")
    def _has_selector(self) -> EvdevScannerConfig:
        if self.device is None and self.vendor_id is None and self.product_id is None:
            raise ValueError("set `device` (path or name) or `vendor_id`/`product_id`")
        return self


class InputDeviceLike(Protocol):
    """The part of `evdev.InputDevice` this source uses."""

    def fileno(self) -> int: ...
    def read(self) -> Iterable[Any]: ...
    def grab(self) -> None: ...
    def ungrab(self) -> None: ...
    def close(self) -> None: ...
    def leds(self) -> list[int]: ...


DeviceOpener = Callable[[EvdevScannerConfig], InputDeviceLike]


def open_input_device(cfg: EvdevScannerConfig) -> InputDeviceLike:
    """Find and open the configured input device with python-evdev."""
    evdev = require_module("evdev", _EVDEV_HINT)
    if cfg.device is not None and cfg.device.startswith("/"):
        try:
            return evdev.InputDevice(cfg.device)
        except FileNotFoundError as err:
            raise DeviceUnavailable(f"{cfg.device} not found — check the scanner's cable") from err
        except PermissionError as err:
            raise DeviceUnavailable(f"no permission to open {cfg.device}; {_EVDEV_HINT}") from err
    for path in evdev.list_devices():
        try:
            device = evdev.InputDevice(path)
        except OSError:
            continue
        if _matches(cfg, device.name, device.info.vendor, device.info.product):
            return device
        device.close()
    selectors = (("name", cfg.device), ("vendor", cfg.vendor_id), ("product", cfg.product_id))
    wanted = ", ".join(f"{key} {value!r}" for key, value in selectors if value is not None)
    raise DeviceUnavailable(f"no input device with {wanted} — check the cable and the udev rule")


def _matches(cfg: EvdevScannerConfig, name: str, vendor: int, product: int) -> bool:
    if cfg.device is not None and cfg.device.casefold() not in name.casefold():
        return False
    if cfg.vendor_id is not None and int(cfg.vendor_id, 16) != vendor:
        return False
    return cfg.product_id is None or int(cfg.product_id, 16) == product


class EvdevSource(DeviceSource):
    """Reads codes from a keyboard-wedge scanner."""

    def __init__(
        self,
        name: str,
        cfg: EvdevScannerConfig,
        *,
        opener: DeviceOpener = open_input_device,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, clock=clock)
        self._cfg = cfg
        self._opener = opener
        self._device: InputDeviceLike | None = None
        self._decoder = KeyboardDecoder(
            cfg.layout, terminator=cfg.terminator, gs_substitute=cfg.gs_substitute
        )

    def describe(self) -> str:
        return self._cfg.device or f"usb {self._cfg.vendor_id}:{self._cfg.product_id}"

    def _open_device(self) -> None:
        device = self._opener(self._cfg)
        if self._cfg.grab:
            try:
                device.grab()
            except OSError as err:
                device.close()
                raise DeviceUnavailable(
                    f"cannot grab {self.describe()} exclusively ({err}); is another "
                    "program reading the scanner?"
                ) from err
        caps = LED_CAPSL in device.leds()
        self._decoder = KeyboardDecoder(
            self._cfg.layout,
            terminator=self._cfg.terminator,
            gs_substitute=self._cfg.gs_substitute,
            caps_lock=caps,
        )
        self._device = device

    def _read_device(self, timeout: float) -> list[RawScan]:
        device = self._device
        if device is None:
            raise DeviceUnavailable("device not open")
        ready, _, _ = select.select([device], [], [], timeout)
        if not ready:
            return []
        try:
            events = list(device.read())
        except BlockingIOError:
            return []
        codes = self._decoder.feed_all((e.code, e.value) for e in events if e.type == EV_KEY)
        return [RawScan(code) for code in codes]

    def _close_device(self) -> None:
        device, self._device = self._device, None
        self._decoder.reset()
        if device is None:
            return
        with contextlib.suppress(OSError):
            if self._cfg.grab:
                device.ungrab()
        with contextlib.suppress(OSError):
            device.close()
