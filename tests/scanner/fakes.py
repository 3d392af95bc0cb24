"""Stand-ins for the operating-system edges of the scanner service (evdev, camera, clock),
a recording delivery, and a tiny kiosk HTTP server. Everything else in the tests is real.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from edge.scanner.event import ScanEvent


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class KeyEvent:
    """Shaped like `evdev.InputEvent`: type, code, value."""

    type: int
    code: int
    value: int


class FakeInputDevice:
    """An `evdev.InputDevice` look-alike: a real pipe makes `select` see pending events."""

    def __init__(self, name: str = "Fake Barcode Scanner", *, leds: Iterable[int] = ()) -> None:
        self.name = name
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        self._events: deque[KeyEvent] = deque()
        self._leds = list(leds)
        self.unplugged = False
        self.grabbed = False
        self.grab_calls = 0
        self.closed = False

    def press(self, *keys: tuple[int, int]) -> None:
        """Queue key events ``(code, value)`` (EV_KEY) plus a SYN like a real keyboard."""
        for code, value in keys:
            self._events.append(KeyEvent(1, code, value))
        self._events.append(KeyEvent(0, 0, 0))
        os.write(self._write_fd, b"!")

    def unplug(self) -> None:
        self.unplugged = True
        os.write(self._write_fd, b"!")

    def fileno(self) -> int:
        return self._read_fd

    def read(self) -> Iterator[KeyEvent]:
        with contextlib.suppress(BlockingIOError):
            os.read(self._read_fd, 4096)
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        if not self._events:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        events = list(self._events)
        self._events.clear()
        return iter(events)

    def grab(self) -> None:
        self.grab_calls += 1
        self.grabbed = True

    def ungrab(self) -> None:
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        self.grabbed = False

    def leds(self) -> list[int]:
        return list(self._leds)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._read_fd)
            os.close(self._write_fd)


class FakeUdev:
    """The device node of one scanner: present (a `FakeInputDevice`) or not; an evdev opener."""

    def __init__(self) -> None:
        self.device: FakeInputDevice | None = None
        self.opened: list[FakeInputDevice] = []

    def plug(self, device: FakeInputDevice) -> FakeInputDevice:
        self.device = device
        return device

    def unplug(self) -> None:
        if self.device is not None:
            self.device.unplug()
        self.device = None

    def __call__(self, cfg: Any) -> FakeInputDevice:
        if self.device is None or self.device.unplugged:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", cfg.device)
        self.opened.append(self.device)
        return self.device


class FakeCapture:
    """A `cv2.VideoCapture` look-alike that plays a list of frames, then reports the end."""

    def __init__(self, frames: list[Any], *, repeat: int = 1) -> None:
        self._frames = deque(frame for frame in frames for _ in range(repeat))
        self.released = False
        self.reads = 0

    def isOpened(self) -> bool:
        return not self.released

    def read(self) -> tuple[bool, Any]:
        self.reads += 1
        if self.released or not self._frames:
            return False, None
        return True, self._frames.popleft()

    def set(self, prop: int, value: float) -> bool:
        return True

    def release(self) -> None:
        self.released = True


@dataclass
class Recorder:
    """A `deliver` callable that records events and when they arrived."""

    events: list[ScanEvent] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, event: ScanEvent) -> None:
        with self.arrived:
            self.events.append(event)
            self.times.append(time.perf_counter())
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ScanEvent]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.events) >= count, timeout):
                raise AssertionError(f"{len(self.events)} of {count} scans delivered")
            return list(self.events)


class KioskStub:
    """A tiny real HTTP/1.1 server with ``POST /api/v1/scans``, recording what it receives."""

    def __init__(self, port: int = 0, *, refuse: set[str] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.connections: set[tuple[str, int]] = set()
        self.received = threading.Condition()
        self.refuse = refuse or set()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.arrival: list[float] = []
        self.sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Buffered, so headers and body leave in one segment (as a production server
            # does); unbuffered writes meet Nagle + delayed ACK and stall for 40 ms.
            wbufsize = -1

            def setup(self) -> None:
                super().setup()
                stub.sockets.append(self.connection)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                refused = body["code"] in stub.refuse
                status = 409 if refused else 201
                answer: dict[str, Any] = (
                    {"error": {"code": "no_match", "message": "no open line matches"}}
                    if refused
                    else {"ok": True}
                )
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                with stub.received:
                    stub.arrival.append(time.perf_counter())
                    stub.connections.add(self.client_address)
                    stub.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    stub.received.notify_all()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        with self.received:
            if not self.received.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} of {count} requests arrived")
            return list(self.requests)

    def close(self) -> None:
        """Stop like a killed process: the listener and every open connection go away."""
        self.server.shutdown()
        self.server.server_close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
