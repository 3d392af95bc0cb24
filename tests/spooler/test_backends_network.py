"""Network back end against real TCP peers on loopback: printing, status, and every failure."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from edge.spooler.backends import NetworkBackend, NetworkPrinterConfig
from edge.spooler.errors import (
    JobDisconnected,
    JobInterrupted,
    JobTimedOut,
    PrinterOffline,
    PrinterTimeout,
)


class FakePrinter:
    """A TCP printer: stores what it receives, answers DLE EOT n and ESC ! ?."""

    def __init__(self, answers: dict[bytes, bytes] | None = None) -> None:
        self.answers = (
            answers
            if answers is not None
            else {
                b"\x10\x04\x01": b"\x12",
                b"\x10\x04\x04": b"\x12",
                b"\x1b!?": b"\x00",
            }
        )
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        self.clients: list[socket.socket] = []
        self.got_data = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.05)
        while not self._stop:
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self.clients.append(client)
            threading.Thread(target=self._client, args=(client,), daemon=True).start()

    def _client(self, client: socket.socket) -> None:
        client.settimeout(0.05)
        tail = b""
        while not self._stop:
            try:
                chunk = client.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            self.received += chunk
            self.got_data.set()
            window = tail + chunk
            tail = window[-2:]
            for query, answer in self.answers.items():
                if window.endswith(query):
                    client.sendall(answer)

    def drop_clients(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()

    def close(self) -> None:
        self._stop = True
        self.server.close()
        self.drop_clients()
        self._thread.join(timeout=2)


@pytest.fixture
def printer():
    fake = FakePrinter()
    yield fake
    fake.close()


def backend_for(port: int, **fields) -> NetworkBackend:
    fields.setdefault("status_timeout_s", 0.3)
    fields.setdefault("write_timeout_s", 2)
    fields.setdefault("connect_timeout_s", 1)
    fields.setdefault("role", "receipt")
    return NetworkBackend(
        NetworkPrinterConfig(type="network", host="127.0.0.1", port=port, **fields)
    )


def wait_for(condition, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_jobs_arrive_whole_over_one_kept_connection(printer):
    backend = backend_for(printer.port)
    job = bytes(range(256)) * 1000
    backend.write(job)
    backend.write(b"second job")
    wait_for(lambda: len(printer.received) == len(job) + 10)
    assert bytes(printer.received) == job + b"second job"
    assert printer.connections == 1
    backend.close()


@pytest.mark.parametrize(
    ("printer_byte", "paper_byte", "online", "paper"),
    [
        (b"\x12", b"\x12", True, "ok"),
        (b"\x1a", b"\x12", False, "ok"),
        (b"\x12", b"\x1e", True, "low"),
        (b"\x12", b"\x72", True, "out"),
    ],
)
def test_escpos_status_bits(printer_byte, paper_byte, online, paper):
    fake = FakePrinter({b"\x10\x04\x01": printer_byte, b"\x10\x04\x04": paper_byte})
    try:
        with backend_for(fake.port) as backend:
            status = backend.status()
    finally:
        fake.close()
    assert (status.online, status.paper) == (online, paper)
    assert ("out of paper" in status.detail) == (paper == "out")


@pytest.mark.parametrize(
    ("answer", "online", "paper", "detail"),
    [
        (b"\x00", True, "ok", ""),
        (b"\x04", True, "out", "out of paper"),
        (b"\x01", False, "ok", "print head open"),
        (b"\x10", False, "ok", "paused"),
    ],
)
def test_tspl_status_byte(answer, online, paper, detail):
    fake = FakePrinter({b"\x1b!?": answer})
    try:
        with backend_for(fake.port, language="tspl", role="label") as backend:
            status = backend.status()
    finally:
        fake.close()
    assert (status.online, status.paper, status.detail) == (online, paper, detail)


def test_refused_connection_is_offline():
    backend = backend_for(free_port())
    with pytest.raises(PrinterOffline, match=r"refused the connection — check that it is"):
        backend.write(b"job")
    with pytest.raises(PrinterOffline):
        backend.status()


def test_silent_printer_status_times_out(printer):
    printer.answers.clear()
    backend = backend_for(printer.port, status_timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(PrinterTimeout, match=r"did not answer the status query within 0\.2 s"):
        backend.status()
    assert time.monotonic() - started < 1.5
    backend.close()


def test_printer_closing_an_idle_connection_is_reconnected_transparently(printer):
    backend = backend_for(printer.port)
    backend.write(b"first")
    wait_for(lambda: printer.received == b"first")
    printer.drop_clients()
    time.sleep(0.1)
    backend.write(b"second")
    wait_for(lambda: printer.received == b"firstsecond")
    assert printer.connections == 2
    assert backend.status().online
    backend.close()


def test_printer_that_never_drains_times_out_mid_job():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    backend = backend_for(port, write_timeout_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(PrinterTimeout, match="stopped accepting data") as caught:
            backend.write(b"\x00" * (32 * 1024 * 1024))
    finally:
        server.close()
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 3
    assert isinstance(caught.value, JobTimedOut)
    assert isinstance(caught.value, JobInterrupted)
    assert 0 < caught.value.bytes_sent < 32 * 1024 * 1024


def test_connection_reset_mid_job_reports_partial_job():
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    got_some = threading.Event()

    def read_a_little_then_reset() -> None:
        client, _ = server.accept()
        client.recv(4096)
        got_some.set()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()

    thread = threading.Thread(target=read_a_little_then_reset, daemon=True)
    thread.start()
    backend = backend_for(port, write_timeout_s=5)
    try:
        with pytest.raises(JobDisconnected, match="may be partly printed") as caught:
            backend.write(b"\x00" * (64 * 1024 * 1024))
    finally:
        server.close()
        thread.join(timeout=2)
    assert got_some.is_set()
    assert caught.value.bytes_sent > 0
    assert isinstance(caught.value, PrinterOffline)


def test_unresolvable_host_is_offline():
    backend = NetworkBackend(
        NetworkPrinterConfig(
            type="network", role="receipt", host="printer.invalid", connect_timeout_s=1
        )
    )
    with pytest.raises(PrinterOffline, match=r"printer\.invalid"):
        backend.open()
