"""Serial back end with pyserial: loop:// and a pseudo-terminal standing in for the printer."""

from __future__ import annotations

import os
import threading
import time

import pytest

from edge.spooler.backends import SerialBackend, SerialPrinterConfig
from edge.spooler.errors import JobTimedOut, PrinterOffline


def serial_backend(port: str, **fields) -> SerialBackend:
    fields.setdefault("status_timeout_s", 0.2)
    return SerialBackend(SerialPrinterConfig(type="serial", role="receipt", port=port, **fields))


class PtyPrinter:
    """The far end of a pseudo-terminal: collects job bytes, answers status queries."""

    def __init__(self, answers: dict[bytes, bytes]) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self._slave = slave
        self.answers = answers
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        os.set_blocking(self.master, False)
        while not self._stop.is_set():
            try:
                chunk = os.read(self.master, 4096)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            except OSError:
                return
            self.received += chunk
            for query, answer in self.answers.items():
                if bytes(self.received).endswith(query):
                    os.write(self.master, answer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def pty_printer():
    printer = PtyPrinter({b"\x10\x04\x01": b"\x12", b"\x10\x04\x04": b"\x1e"})
    yield printer
    printer.close()


def wait_for(condition, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_job_reaches_the_printer_byte_for_byte(pty_printer):
    backend = serial_backend(pty_printer.path, baudrate=115200)
    job = bytes(range(256)) * 20
    backend.write(job)
    wait_for(lambda: len(pty_printer.received) >= len(job))
    assert bytes(pty_printer.received) == job
    backend.close()


def test_status_answered_over_the_serial_line(pty_printer):
    backend = serial_backend(pty_printer.path)
    status = backend.status()
    assert (status.online, status.paper) == (True, "low")
    backend.close()


def test_silent_serial_printer_is_online_with_unknown_paper(pty_printer):
    pty_printer.answers.clear()
    backend = serial_backend(pty_printer.path)
    status = backend.status()
    assert (status.online, status.paper) == (True, "unknown")
    assert "no status answer over the serial line" in status.detail
    backend.close()


def test_loop_url_write_and_reopen():
    backend = serial_backend("loop://", baudrate=115200)
    backend.open()
    backend.write(b"\x1b@hello\n")
    backend.close()
    backend.write(b"again")
    backend.close()


def test_slow_line_times_out_within_the_write_timeout():
    backend = serial_backend("loop://", baudrate=1200, write_timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(JobTimedOut, match="stopped taking data after 0 of 5000 bytes"):
        backend.write(b"z" * 5000)
    assert time.monotonic() - started < 2


def test_missing_port_is_offline():
    backend = serial_backend("/dev/ttyDOES-NOT-EXIST")
    with pytest.raises(PrinterOffline, match=r"cannot be opened .* check the cable"):
        backend.write(b"job")
    with pytest.raises(PrinterOffline):
        backend.status()
