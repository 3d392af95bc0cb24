"""The evdev (keyboard-wedge) source against a fake input device: decoding, grab, hot-plug."""

from __future__ import annotations

import logging
import re

import pytest
from pydantic import TypeAdapter, ValidationError

from edge.scanner.errors import DependencyMissing, require_module
from edge.scanner.sources import EvdevScannerConfig, ScannerConfig
from edge.scanner.sources.evdev import EvdevSource, _matches
from tests.scanner.fakes import FakeInputDevice, FakeUdev
from tests.scanner.test_keymap import CAPS, CTRL, ENTER, RIGHTBRACE, SHIFT, held, tap

ZERO, ONE, TWO, A, B = 11, 2, 3, 30, 48


def make_config(**fields: object) -> EvdevScannerConfig:
    return EvdevScannerConfig.model_validate(
        {"type": "evdev", "device": "/dev/input/by-id/usb-fake-event-kbd", **fields}
    )


def read_until(source: EvdevSource, count: int, attempts: int = 50) -> list[str]:
    codes: list[str] = []
    for _ in range(attempts):
        codes += [scan.text for scan in source.read(0.05)]
        if len(codes) >= count:
            break
    return codes


def test_reads_codes_from_key_events_and_grabs(udev: FakeUdev) -> None:
    device = udev.plug(FakeInputDevice())
    source = EvdevSource("front", make_config(), opener=udev)
    device.press(*held(SHIFT, A), *tap(B, ONE), *held(CTRL, RIGHTBRACE), *tap(TWO, ENTER))
    device.press(*tap(CAPS, A, ENTER))
    assert read_until(source, 2) == ["Ab1\x1d2", "A"]
    assert device.grabbed and device.grab_calls == 1
    assert source.connected
    source.close()
    assert device.closed and not device.grabbed
    assert source.read(0.01) == []


def test_no_grab_when_configured(udev: FakeUdev) -> None:
    device = udev.plug(FakeInputDevice())
    source = EvdevSource("front", make_config(grab=False), opener=udev)
    device.press(*tap(ONE, ENTER))
    assert read_until(source, 1) == ["1"]
    assert device.grab_calls == 0
    source.close()


def test_caps_lock_state_is_taken_from_the_led(udev: FakeUdev) -> None:
    device = udev.plug(FakeInputDevice(leds=[1]))
    source = EvdevSource("front", make_config(), opener=udev)
    device.press(*tap(A, ENTER))
    assert read_until(source, 1) == ["A"]
    source.close()


def test_unplug_mid_code_then_replug(udev: FakeUdev, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="edge.scanner")
    first = udev.plug(FakeInputDevice())
    source = EvdevSource("front", make_config(), opener=udev)
    source.backoff_initial = source.backoff_max = 0.01
    first.press(*tap(ONE, ENTER))
    assert read_until(source, 1) == ["1"]

    first.press(*tap(ZERO, ZERO))  # a code cut short by the unplug
    assert source.read(0.05) == []
    udev.unplug()
    for _ in range(5):  # lost, then several failed reopen attempts
        assert source.read(0.02) == []
    assert not source.connected
    assert "No such" in (source.last_error or "")
    assert first.closed

    second = udev.plug(FakeInputDevice())
    second.press(*tap(TWO, ENTER))
    assert read_until(source, 1) == ["2"], "the partial code before the unplug is dropped"
    assert source.connected and second.grabbed
    source.close()

    messages = [r.getMessage() for r in caplog.records if r.name.startswith("edge.scanner")]
    assert sum("lost" in m for m in messages) == 1, messages
    assert sum("unavailable" in m for m in messages) == 0, messages
    assert sum("reconnected" in m for m in messages) == 1, messages


def test_missing_device_is_reported_once(udev: FakeUdev, caplog: pytest.LogCaptureFixture) -> None:
    source = EvdevSource("front", make_config(), opener=udev)
    source.backoff_initial = source.backoff_max = 0.01
    for _ in range(5):
        assert source.read(0.02) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()
    source.close()


def test_config_needs_a_device_selector() -> None:
    adapter: TypeAdapter[object] = TypeAdapter(ScannerConfig)
    with pytest.raises(ValidationError, match="set `device`"):
        adapter.validate_python({"type": "evdev"})
    with pytest.raises(ValidationError, match="extra"):
        adapter.validate_python({"type": "evdev", "device": "/dev/x", "colour": "red"})
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "evdev", "vendor_id": "xyz"})
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "evdev", "device": "x", "layout": "jp"})
    cfg = adapter.validate_python({"type": "evdev", "vendor_id": "05e0", "product_id": "1200"})
    assert isinstance(cfg, EvdevScannerConfig) and cfg.grab and cfg.layout == "us"


def test_device_matching_by_name_and_usb_ids() -> None:
    by_ids = make_config(device=None, vendor_id="05E0", product_id="1200")
    assert _matches(by_ids, "Symbol Bar Code Scanner", 0x05E0, 0x1200)
    assert not _matches(by_ids, "Symbol Bar Code Scanner", 0x05E0, 0x1300)
    by_name = make_config(device="bar code")
    assert _matches(by_name, "Symbol Bar Code Scanner", 1, 2)
    assert not _matches(by_name, "AT Translated Set 2 keyboard", 1, 2)


def test_missing_library_says_what_to_install() -> None:
    hint = "install the evdev extra: pip install 'printstation[evdev]'"
    with pytest.raises(DependencyMissing, match=re.escape(hint)) as raised:
        require_module("no_such_module_xyz", hint)
    assert "'no_such_module_xyz' is not available" in str(raised.value)
