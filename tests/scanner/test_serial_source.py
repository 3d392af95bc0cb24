"""The serial source over pyserial's loop:// port: framing, partial reads, garbage, hot-plug."""

from __future__ import annotations

from typing import Any

import pytest
import serial

from edge.scanner.codes import CodeRules
from edge.scanner.debounce import Debouncer
from edge.scanner.errors import CodeRejected
from edge.scanner.pipeline import ScanPipeline
from edge.scanner.sources import SerialScannerConfig
from edge.scanner.sources.serial import SerialSource
from tests.scanner.fakes import FakeClock


class LoopPorts:
    """Opens ``loop://`` ports (what is written comes back as if the scanner sent it)."""

    def __init__(self) -> None:
        self.ports: list[Any] = []
        self.fail = False

    def __call__(self, cfg: SerialScannerConfig) -> Any:
        if self.fail:
            raise serial.SerialException(f"could not open port {cfg.port}: No such file")
        port = serial.serial_for_url(cfg.port, baudrate=cfg.baudrate, timeout=0.05)
        self.ports.append(port)
        return port

    @property
    def current(self) -> Any:
        return self.ports[-1]


def make(terminator: str = "CR", clock: FakeClock | None = None) -> tuple[SerialSource, LoopPorts]:
    cfg = SerialScannerConfig(type="serial", port="loop://", terminator=terminator)  # type: ignore[arg-type]
    ports = LoopPorts()
    kwargs: dict[str, Any] = {"clock": clock} if clock else {}
    return SerialSource("counter", cfg, opener=ports, **kwargs), ports


def texts(source: SerialSource, attempts: int = 5) -> list[str]:
    out: list[str] = []
    for _ in range(attempts):
        out += [scan.text for scan in source.read(0.05)]
    return out


def test_partial_reads_are_assembled() -> None:
    source, ports = make()
    assert source.read(0.01) == []  # opens the port
    ports.current.write(b"40063813")
    assert source.read(0.05) == []
    ports.current.write(b"33931\rABC")
    ports.current.write(b"-42\r")
    assert texts(source) == ["4006381333931", "ABC-42"]
    source.close()


@pytest.mark.parametrize(("terminator", "wire"), [("LF", b"A1\nB2\n"), ("CRLF", b"A1\r\nB2\r\n")])
def test_terminators(terminator: str, wire: bytes) -> None:
    source, ports = make(terminator)
    source.read(0.01)
    ports.current.write(wire)
    assert texts(source) == ["A1", "B2"]
    source.close()


def test_stray_line_feeds_are_not_scans() -> None:
    source, ports = make("CR")
    source.read(0.01)
    ports.current.write(b"A1\r\nB2\r\n")
    pipeline = ScanPipeline("counter", CodeRules(), Debouncer(0))
    events = [pipeline.process(scan) for scan in source.read(0.05) + source.read(0.05)]
    assert [e.code for e in events if e] == ["A1", "B2"]
    source.close()


def test_garbage_bytes_are_rejected_by_hygiene() -> None:
    source, ports = make()
    source.read(0.01)
    ports.current.write(b"\xff\xfe\x80ab\r")
    scans = [scan for _ in range(3) for scan in source.read(0.05)]
    assert [scan.text for scan in scans] == ["\ufffd\ufffd\ufffdab"]
    pipeline = ScanPipeline("counter", CodeRules(), Debouncer(0))
    with pytest.raises(CodeRejected, match="undecodable bytes"):
        pipeline.process(scans[0])
    source.close()


def test_unterminated_fragment_is_discarded_after_timeout(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    source, ports = make(clock=clock)
    source.read(0.01)
    ports.current.write(b"1234")
    assert source.read(0.05) == []
    clock.advance(1.5)
    assert source.read(0.05) == []
    assert "discarding 4 bytes" in caplog.text
    ports.current.write(b"99\r")
    assert texts(source) == ["99"]
    source.close()


def test_lost_port_is_reopened() -> None:
    source, ports = make()
    source.backoff_initial = source.backoff_max = 0.01
    source.read(0.01)
    first = ports.current
    first.close()  # the USB virtual COM port went away
    ports.fail = True
    for _ in range(3):
        assert source.read(0.02) == []
    assert not source.connected
    ports.fail = False
    for _ in range(5):
        source.read(0.02)
        if source.connected:
            break
    assert source.connected and ports.current is not first
    ports.current.write(b"OK\r")
    assert texts(source) == ["OK"]
    source.close()
