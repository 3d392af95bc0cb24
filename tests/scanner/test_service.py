"""The scanner service end to end with the simulated scanner over its real unix socket."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from edge.scanner.delivery import HttpDelivery
from edge.scanner.errors import ScannerError, SimulatorNotRunning
from edge.scanner.pipeline import RawScan
from edge.scanner.service import ScannerService
from edge.scanner.simulate import listening_scanners, set_plugged, simulate_scan
from edge.scanner.sources import (
    EvdevScannerConfig,
    ScannerConfig,
    ScanSource,
    SimulatedScannerConfig,
    SourceConfig,
    open_source,
)
from edge.scanner.sources.evdev import EvdevSource
from edge.scanner.status import STATUS_FILE
from tests.scanner.fakes import FakeInputDevice, FakeUdev, KioskStub, Recorder
from tests.scanner.test_keymap import ENTER, tap

SCANNERS = TypeAdapter(dict[str, ScannerConfig])


def configs(**tables: dict[str, Any]) -> dict[str, SourceConfig]:
    return SCANNERS.validate_python(tables)  # type: ignore[return-value]


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def status_file(runtime_dir: Path) -> dict[str, Any]:
    return json.loads((runtime_dir / STATUS_FILE).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_simulated_scan_reaches_delivery(runtime_dir: Path, recorder: Recorder) -> None:
    service = ScannerService(
        configs(sim={"type": "simulated"}), recorder, runtime_dir, status_interval=0.05
    )
    service.start()
    try:
        assert listening_scanners(runtime_dir) == ["sim"]
        samples = []
        for n, code in enumerate(["4006381333931", "]C10109504000059101\x1d10LOT\r", "PS-0042"]):
            sent = time.perf_counter()
            simulate_scan(code, runtime_dir)
            recorder.wait_for(n + 1)
            samples.append((recorder.times[n] - sent) * 1000)
        print(f"\nsimulate_scan() → deliver: {', '.join(f'{ms:.2f} ms' for ms in samples)}")
        events = recorder.events
        assert [e.code for e in events] == ["4006381333931", "0109504000059101\x1d10LOT", "PS-0042"]
        assert [e.symbology for e in events] == ["EAN13", "Code128", None]
        assert events[1].gs1 is not None and events[1].gs1["gtin"] == "09504000059101"
        assert all(e.source == "sim" for e in events)
        assert service.is_alive()

        simulate_scan("PS-0042", runtime_dir, "sim")  # a double read, debounced
        simulate_scan("4006381333932", runtime_dir)  # bad check digit, rejected
        wait_until(lambda: service.status()["sim"]["rejected"] == 1)
        status = service.status()["sim"]
        assert status["type"] == "simulated" and status["connected"] is True
        assert (status["scans"], status["debounced"], status["rejected"]) == (3, 1, 1)
        assert "check digit" in status["last_error"]
        assert status["last_scan_at"] == events[2].at.isoformat(timespec="milliseconds")
        wait_until(lambda: status_file(runtime_dir)["scanners"]["sim"]["rejected"] == 1)
        recorder.wait_for(4)  # the rejection is passed on, so the packer is told
        notice = recorder.events[3]
        assert notice.rejected is not None and "check digit" in notice.rejected
        assert notice.to_json()["rejected"] == notice.rejected
    finally:
        service.stop()
    assert not service.is_alive()
    assert listening_scanners(runtime_dir) == []
    assert status_file(runtime_dir)["scanners"]["sim"]["connected"] is False
    service.stop()  # idempotent


def test_end_to_end_latency_to_the_kiosk(runtime_dir: Path, kiosk: KioskStub) -> None:
    delivery = HttpDelivery(kiosk.url, "secret-token")
    service = ScannerService(configs(sim={"type": "simulated"}), delivery, runtime_dir)
    service.start()
    try:
        samples = []
        for n in range(5):
            sent = time.perf_counter()
            simulate_scan(f"PS-{n:04d}", runtime_dir)
            kiosk.wait_for(n + 1)
            samples.append((kiosk.arrival[n] - sent) * 1000)
        shown = ", ".join(f"{ms:.2f} ms" for ms in samples)
        print(f"\nsimulate_scan() → kiosk HTTP handler: {shown}")
        assert [r["body"]["code"] for r in kiosk.requests] == [f"PS-{n:04d}" for n in range(5)]
    finally:
        service.stop()
        delivery.close()


def test_hot_plug_of_the_simulated_scanner(
    runtime_dir: Path, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    service = ScannerService(
        configs(sim={"type": "simulated", "fail": "unplugged"}),
        recorder,
        runtime_dir,
        status_interval=0.05,
    )
    service.start()
    try:
        wait_until(lambda: "unplugged" in (service.status()["sim"]["last_error"] or ""))
        assert service.status()["sim"]["connected"] is False
        simulate_scan("LOST-1", runtime_dir)  # nobody can scan with the cable out
        set_plugged(runtime_dir, "sim", True)
        wait_until(lambda: service.status()["sim"]["connected"])
        simulate_scan("OK-1", runtime_dir)
        recorder.wait_for(1)

        set_plugged(runtime_dir, "sim", False)
        wait_until(lambda: not service.status()["sim"]["connected"])
        wait_until(lambda: status_file(runtime_dir)["scanners"]["sim"]["connected"] is False)
        set_plugged(runtime_dir, "sim", True)
        wait_until(lambda: service.status()["sim"]["connected"])
        simulate_scan("OK-2", runtime_dir)
        recorder.wait_for(2)
        assert [e.code for e in recorder.events] == ["OK-1", "OK-2"]
        assert service.is_alive()
    finally:
        service.stop()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("edge.scanner")]
    assert sum("unavailable" in m for m in messages) == 1, messages
    assert sum("lost" in m for m in messages) == 1, messages
    assert sum("reconnected" in m for m in messages) == 2, messages


def test_evdev_scanner_in_the_service(
    runtime_dir: Path, recorder: Recorder, udev: FakeUdev
) -> None:
    device = udev.plug(FakeInputDevice())

    def opener(name: str, cfg: SourceConfig, runtime: Path) -> ScanSource:
        if isinstance(cfg, EvdevScannerConfig):
            return EvdevSource(name, cfg, opener=udev)
        return open_source(name, cfg, runtime)

    service = ScannerService(
        configs(wedge={"type": "evdev", "device": "/dev/input/event7"}, sim={"type": "simulated"}),
        recorder,
        runtime_dir,
        opener=opener,
    )
    service.start()
    try:
        device.press(*tap(2, 3, 4, ENTER))
        simulate_scan("SIM", runtime_dir)
        events = recorder.wait_for(2)
        assert sorted((e.source, e.code) for e in events) == [("sim", "SIM"), ("wedge", "123")]
        assert device.grabbed
    finally:
        service.stop()
    assert device.closed


class Exploding(ScanSource):
    """A source whose read fails unexpectedly once, then works."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    @property
    def connected(self) -> bool:
        return True

    @property
    def last_error(self) -> str | None:
        return None

    def read(self, timeout: float) -> list[RawScan]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("driver bug")
        time.sleep(timeout)
        return [RawScan("AFTER")] if self.calls == 2 else []

    def close(self) -> None:
        pass


@pytest.mark.allow_errors
def test_thread_error_is_logged_and_the_loop_continues(
    runtime_dir: Path, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    service = ScannerService(
        configs(x={"type": "simulated"}),
        recorder,
        runtime_dir,
        opener=lambda name, cfg, runtime: Exploding(name),
    )
    service.start()
    try:
        assert recorder.wait_for(1)[0].code == "AFTER"
        assert service.is_alive()
        assert "RuntimeError: driver bug" in service.status()["x"]["last_error"]
    finally:
        service.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None


def test_simulate_scan_without_a_listener(runtime_dir: Path) -> None:
    with pytest.raises(SimulatorNotRunning, match="no any simulated scanner is listening"):
        simulate_scan("X", runtime_dir)
    with pytest.raises(SimulatorNotRunning, match=r"scanner-front\.sock"):
        simulate_scan("X", runtime_dir, "front")
    with pytest.raises(ScannerError, match="cannot name a socket"):
        simulate_scan("X", runtime_dir, "../etc")


def test_stale_socket_file_is_replaced(runtime_dir: Path, recorder: Recorder) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(runtime_dir / "scanner-sim.sock"))
    stale.close()  # a crashed service left its socket file behind
    with pytest.raises(SimulatorNotRunning):
        simulate_scan("X", runtime_dir)
    service = ScannerService(configs(sim={"type": "simulated"}), recorder, runtime_dir)
    service.start()
    try:
        simulate_scan("X", runtime_dir)
        assert recorder.wait_for(1)[0].code == "X"
    finally:
        service.stop()


def test_config_union_selects_by_type() -> None:
    parsed = configs(
        a={"type": "simulated"},
        b={"type": "serial", "port": "/dev/ttyACM0", "baudrate": 115200, "terminator": "CRLF"},
        c={"type": "camera", "device": 0},
        d={"type": "evdev", "device": "/dev/input/event3", "layout": "de", "gs_substitute": "^"},
    )
    assert [type(cfg).__name__ for cfg in parsed.values()] == [
        "SimulatedScannerConfig",
        "SerialScannerConfig",
        "CameraScannerConfig",
        "EvdevScannerConfig",
    ]
    assert isinstance(parsed["a"], SimulatedScannerConfig) and parsed["a"].debounce_ms == 300
    assert parsed["c"].debounce_ms == 1500
    with pytest.raises(ValueError, match="does not match any of the expected tags"):
        configs(x={"type": "laser"})
    with pytest.raises(ValueError, match="less than or equal"):
        configs(x={"type": "camera", "width": 100_000})
