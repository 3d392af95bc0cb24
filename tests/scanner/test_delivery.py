"""HTTP delivery to a real (tiny) kiosk server: keep-alive, auth, kiosk down and back, backlog."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from edge.scanner.delivery import HttpDelivery
from edge.scanner.errors import ScannerError
from edge.scanner.event import ScanEvent
from tests.scanner.fakes import KioskStub


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_posts_scans_over_one_keep_alive_connection(kiosk: KioskStub) -> None:
    delivery = HttpDelivery(kiosk.url + "/", "tok-123")
    try:
        for n in range(5):
            delivery(ScanEvent(code=f"C{n}", source="front", symbology="Code128"))
        requests = kiosk.wait_for(5)
    finally:
        delivery.close()
    assert [r["body"]["code"] for r in requests] == [f"C{n}" for n in range(5)]
    first = requests[0]
    assert first["path"] == "/api/v1/scans"
    assert first["headers"]["Authorization"] == "Bearer tok-123"
    assert first["headers"]["Content-Type"] == "application/json"
    assert len(first["headers"]["Idempotency-Key"]) == 32
    assert set(first["body"]) == {"code", "source", "symbology", "gs1", "scanned_at"}
    assert len(kiosk.connections) == 1, "one persistent connection"
    assert delivery.delivered == 5 and delivery.pending == 0


def test_kiosk_down_then_up(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    delivery = HttpDelivery(f"http://127.0.0.1:{port}", "tok")
    kiosk = None
    try:
        for code in ("A", "B", "C"):
            delivery(ScanEvent(code=code, source="front"))
        time.sleep(0.3)
        assert delivery.pending == 3
        kiosk = KioskStub(port)
        requests = kiosk.wait_for(3)
        assert [r["body"]["code"] for r in requests] == ["A", "B", "C"]
        wait_until(lambda: delivery.pending == 0)
    finally:
        delivery.close()
        if kiosk:
            kiosk.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "edge.scanner.delivery"]
    assert sum("not taking scans" in m for m in messages) == 1, messages
    assert sum("takes scans again" in m for m in messages) == 1, messages


def test_kiosk_restart_breaks_the_kept_alive_connection() -> None:
    port = free_port()
    kiosk = KioskStub(port)
    delivery = HttpDelivery(f"http://127.0.0.1:{port}", "tok")
    try:
        delivery(ScanEvent(code="before", source="s"))
        kiosk.wait_for(1)
        kiosk.close()
        kiosk = KioskStub(port)
        delivery(ScanEvent(code="after", source="s"))
        assert [r["body"]["code"] for r in kiosk.wait_for(1)] == ["after"]
    finally:
        delivery.close()
        kiosk.close()


def test_backlog_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    delivery = HttpDelivery(f"http://127.0.0.1:{free_port()}", "tok", backlog=5)
    try:
        for n in range(8):
            delivery(ScanEvent(code=f"C{n}", source="s"))
        assert delivery.pending == 5
        assert delivery.dropped == 3
    finally:
        delivery.close()
    assert "dropped the oldest scan 'C0'" in caplog.text
    assert delivery.pending == 0


def test_refused_scan_is_not_retried(kiosk: KioskStub, caplog: pytest.LogCaptureFixture) -> None:
    kiosk.refuse.add("NOPE")
    delivery = HttpDelivery(kiosk.url, "tok")
    try:
        delivery(ScanEvent(code="NOPE", source="s"))
        delivery(ScanEvent(code="YES", source="s"))
        assert [r["body"]["code"] for r in kiosk.wait_for(2)] == ["NOPE", "YES"]
        wait_until(lambda: delivery.pending == 0)
    finally:
        delivery.close()
    assert len(kiosk.requests) == 2
    assert "HTTP 409 no open line matches" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_bad_url() -> None:
    with pytest.raises(ScannerError, match="must look like"):
        HttpDelivery("127.0.0.1:8080", "tok")


def test_calls_never_block(kiosk: KioskStub) -> None:
    delivery = HttpDelivery(kiosk.url, "tok")
    try:
        started = time.perf_counter()
        for n in range(20):
            delivery(ScanEvent(code=f"C{n}", source="s"))
        assert time.perf_counter() - started < 0.05
        kiosk.wait_for(20)
    finally:
        delivery.close()
