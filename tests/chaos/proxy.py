"""A TCP proxy between one station's sync agent and the broker, controlled at run time.

Modes: *pass* forwards bytes as they come; *partition* refuses new connections (accepted
and closed at once) and cuts the open ones; ``delay_ms`` holds every chunk that long in both
directions; ``duplicate`` (a probability) sends some QoS 1/2 ``PUBLISH`` packets of the
station → broker direction twice, with the DUP flag on the second copy, as a client that
resends after a lost PUBACK would — a duplicate the hub must absorb.

The station → broker direction is parsed into MQTT packets (fixed header: type and flags,
then the remaining length as a variable-length integer) so a duplicate is always a whole
packet; the broker → station direction is forwarded as raw chunks.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time

PUBLISH = 3
CHUNK = 65536


def packet_length(buf: bytes | bytearray) -> int | None:
    """Total length of the MQTT packet at the start of ``buf``; None while incomplete."""
    multiplier, remaining = 1, 0
    for i in range(1, 5):
        if i >= len(buf):
            return None
        byte = buf[i]
        remaining += (byte & 0x7F) * multiplier
        if not byte & 0x80:
            total = 1 + i + remaining
            return total if len(buf) >= total else None
        multiplier *= 128
    raise ValueError("malformed MQTT remaining length")


class Proxy:
    """``listen_port`` on 127.0.0.1 forwards to ``(host, port)``. Thread-safe controls."""

    def __init__(self, host: str, port: int, *, seed: int = 0, name: str = "proxy"):
        self.target = (host, port)
        self.name = name
        self.rng = random.Random(seed)
        self.mode = "pass"
        self.delay_ms = 0
        self.duplicate = 0.0
        self.duplicated = 0
        self.cut = 0
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._halt = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, name=f"{name}-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(5)
        self._server.close()
        self._cut_all()

    # -- controls -------------------------------------------------------------------------
    def partition(self) -> None:
        """Refuse new connections and cut every open one."""
        with self._lock:
            self.mode = "partition"
        self._cut_all()

    def heal(self) -> None:
        """Back to a clean pass-through: no partition, no delay, no duplicates."""
        with self._lock:
            self.mode, self.delay_ms, self.duplicate = "pass", 0, 0.0

    def set_delay(self, ms: int) -> None:
        with self._lock:
            self.delay_ms = ms

    def set_duplicate(self, probability: float) -> None:
        with self._lock:
            self.duplicate = probability

    # -- internals ------------------------------------------------------------------------
    def _cut_all(self) -> None:
        with self._lock:
            conns, self._conns = list(self._conns), set()
            self.cut += len(conns)
        for sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while not self._halt.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "partition":
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()  # broker down: the station sees a dropped connection
                continue
            upstream.settimeout(None)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns |= {client, upstream}
            for src, dst, parse in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump,
                    args=(src, dst, parse),
                    name=f"{self.name}-pump",
                    daemon=True,
                ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, parse: bool) -> None:
        buf = bytearray()
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                if self.delay_ms:
                    time.sleep(self.delay_ms / 1000)
                if not parse:
                    dst.sendall(data)
                    continue
                buf += data
                while (size := packet_length(buf)) is not None:
                    packet = bytes(buf[:size])
                    del buf[:size]
                    dst.sendall(packet)
                    if self._should_duplicate(packet):
                        dst.sendall(bytes([packet[0] | 0x08]) + packet[1:])
        except (OSError, ValueError):
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            with self._lock:
                self._conns -= {src, dst}

    def _should_duplicate(self, packet: bytes) -> bool:
        qos = (packet[0] >> 1) & 0x03
        if packet[0] >> 4 != PUBLISH or qos == 0 or not self.duplicate:
            return False
        with self._lock:
            hit = self.rng.random() < self.duplicate
            self.duplicated += hit
        return hit
