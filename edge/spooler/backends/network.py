"""Network printers on a raw TCP port (9100, "AppSocket"/"JetDirect").

The connection stays open across jobs. Before a job, a connection the printer has closed in the
meantime (idle timeout, restart) is replaced; if sending then fails before the printer accepted
any byte of the job, the back end reconnects once and sends the job again. Once some bytes were
accepted, a failure raises :class:`JobDisconnected` or :class:`JobTimedOut` (the job may be
partly printed) and the connection is reset, so bytes still queued on the station are dropped
rather than printed later.

A printer that stops reading (paper out, cover open, jammed) makes the write give up after
``write_timeout_s`` instead of hanging.

Status: ``DLE EOT 1``/``DLE EOT 4`` (or ``ESC ! ?`` for TSPL) on the same connection. A printer
that cannot be reached raises :class:`PrinterOffline`; one that accepts the connection but does
not answer within ``status_timeout_s`` raises :class:`PrinterTimeout` (some print servers do not
pass real-time status through).
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from typing import Literal

from pydantic import Field

from edge.spooler.backends.base import PrinterBackend, PrinterConfigBase, PrinterStatus
from edge.spooler.backends.status import query_status
from edge.spooler.errors import (
    JobDisconnected,
    JobTimedOut,
    PrinterOffline,
    PrinterTimeout,
)

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class NetworkPrinterConfig(PrinterConfigBase):
    """``[printers.NAME] type = "network"``: a printer on a raw TCP port."""

    type: Literal["network"] = Field(description="A printer reached over TCP (raw port 9100).")
    host: str = Field(
        min_length=1, max_length=253, description="IP address or host name of the printer."
    )
    port: int = Field(default=9100, ge=1, le=65535, description="Raw printing TCP port.")
    connect_timeout_s: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="How long to wait for the TCP connection to be accepted.",
    )


class _Closed(Exception):
    """The printer closed the connection."""


class NetworkBackend(PrinterBackend):
    config: NetworkPrinterConfig

    def __init__(self, config: NetworkPrinterConfig) -> None:
        super().__init__(config)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"network printer {self.config.host}:{self.config.port}"

    # Connection -------------------------------------------------------------------------------

    def open(self) -> None:
        with self._lock:
            self._connection()

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def _connect(self) -> socket.socket:
        cfg = self.config
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.connect_timeout_s)
        except ConnectionRefusedError as err:
            raise PrinterOffline(
                f"{self.description} refused the connection — check that it is switched on "
                f"and that {cfg.port} is its raw printing port"
            ) from err
        except TimeoutError as err:
            raise PrinterOffline(
                f"{self.description} did not answer within {cfg.connect_timeout_s:g} s — "
                "check its power, network cable and IP address"
            ) from err
        except socket.gaierror as err:
            raise PrinterOffline(
                f"{self.description}: host name cannot be resolved ({err.strerror}) — "
                "check the configured host"
            ) from err
        except OSError as err:
            raise PrinterOffline(
                f"{self.description} is unreachable ({err.strerror or err}) — "
                "check the network and the configured host"
            ) from err
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        self._sock = sock
        log.debug("connected to %s", self.description)
        return sock

    def _connection(self) -> socket.socket:
        """The open connection, replaced by a new one if the printer has closed it."""
        if self._sock is not None and not _drain(self._sock):
            log.info("%s closed the connection; reconnecting", self.description)
            self._drop()
        return self._sock or self._connect()

    def _drop(self, abort: bool = False) -> None:
        """Close the connection; ``abort`` resets it so unsent bytes are discarded."""
        if self._sock is None:
            return
        if abort:
            try:
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                log.debug("cannot reset connection to %s", self.description)
        self._sock.close()
        self._sock = None

    # Jobs -------------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        with self._lock:
            sock = self._connection()
            view = memoryview(data)
            deadline = time.monotonic() + self.config.write_timeout_s
            sent, retried = 0, False
            while sent < len(view):
                remaining = deadline - time.monotonic()
                try:
                    if remaining <= 0:
                        raise TimeoutError
                    sock.settimeout(remaining)
                    sent += sock.send(view[sent : sent + CHUNK])
                except TimeoutError:
                    self._drop(abort=True)
                    raise self._timeout(sent, len(view)) from None
                except OSError as err:
                    self._drop(abort=True)
                    if sent == 0 and not retried:
                        log.info("%s: connection lost (%s); reconnecting", self.description, err)
                        retried = True
                        sock = self._connect()
                        continue
                    if sent == 0:
                        raise PrinterOffline(
                            f"{self.description}: connection lost ({err.strerror or err}) "
                            "— check the printer and the network"
                        ) from err
                    raise JobDisconnected(
                        f"{self.description}: connection lost after {sent} of {len(view)} "
                        f"bytes ({err.strerror or err}); the job may be partly printed",
                        sent,
                    ) from err

    def _timeout(self, sent: int, total: int) -> PrinterTimeout:
        wait = f"{self.config.write_timeout_s:g} s"
        if sent == 0:
            return PrinterTimeout(
                f"{self.description} accepted no data for {wait} — "
                "check paper, cover and error lights on the printer"
            )
        return JobTimedOut(
            f"{self.description} stopped accepting data after {sent} of {total} bytes "
            f"(waited {wait}); the job may be partly printed — check paper and cover",
            sent,
        )

    # Status -----------------------------------------------------------------------------------

    def status(self) -> PrinterStatus:
        with self._lock:
            try:
                answer = self._query()
            except _Closed:
                self._drop()
                try:
                    answer = self._query()
                except _Closed as err:
                    self._drop()
                    raise PrinterOffline(
                        f"{self.description} closed the connection during a status query"
                    ) from err
            if answer is None:
                raise PrinterTimeout(
                    f"{self.description} accepted the connection but did not answer the status "
                    f"query within {self.config.status_timeout_s:g} s — check that it supports "
                    "real-time status (DLE EOT, or ESC ! ? for TSPL)"
                )
            return answer

    def _query(self) -> PrinterStatus | None:
        sock = self._connection()
        return query_status(lambda query: self._ask(sock, query), self.config.language)

    def _ask(self, sock: socket.socket, query: bytes) -> bytes:
        """Send ``query``; return the one-byte answer or ``b""`` after ``status_timeout_s``."""
        sock.settimeout(self.config.status_timeout_s)
        try:
            sock.sendall(query)
            answer = sock.recv(1)
        except TimeoutError:
            return b""
        except OSError as err:
            raise _Closed from err
        if not answer:
            raise _Closed
        return answer


def _drain(sock: socket.socket) -> bool:
    """Discard bytes the printer sent unasked; ``False`` when it has closed the connection."""
    sock.setblocking(False)
    try:
        while True:
            if not sock.recv(4096):
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False
