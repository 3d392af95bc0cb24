"""Delivery of scan events to the kiosk over HTTP.

`HttpDelivery` is the ``deliver`` callable of the scanner service. Calling it only queues the
event and wakes a sender thread, so a scanner thread never waits on the network. The sender
POSTs each event to ``{base_url}/api/v1/scans`` over one keep-alive connection (reopened when
it breaks). While the kiosk is down it keeps the latest `backlog` scans, dropping the oldest
with a warning, and retries with backoff; it never raises into the caller.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections import deque
from urllib.parse import urlsplit

from edge.scanner.errors import ScannerError
from edge.scanner.event import ScanEvent

log = logging.getLogger(__name__)

SCANS_PATH = "/api/v1/scans"
RETRY_INITIAL = 0.05
RETRY_MAX = 2.0


class _Retry(Exception):
    """The kiosk did not take the scan this time (down, restarting, 5xx)."""


class HttpDelivery:
    """POSTs scan events to the kiosk; a small bounded backlog rides out kiosk restarts."""

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 1.0, backlog: int = 50
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ScannerError(f"kiosk URL {base_url!r} must look like http://127.0.0.1:8080")
        self._url = base_url
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._path = url.path.rstrip("/") + SCANS_PATH
        self._token = token
        self._timeout = timeout
        self._queue: deque[ScanEvent] = deque()
        self._backlog = backlog
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._down = False
        self.delivered = 0
        self.dropped = 0

    def __call__(self, event: ScanEvent) -> None:
        """Queue `event` for delivery; returns at once."""
        with self._cond:
            if self._closed:
                log.warning("Scan %r arrived after delivery was closed; dropped", event.code)
                return
            self._queue.append(event)
            while len(self._queue) > self._backlog:
                old = self._queue.popleft()
                self.dropped += 1
                log.warning(
                    "Kiosk backlog full (%d scans); dropped the oldest scan %r from %r",
                    self._backlog,
                    old.code,
                    old.source,
                )
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="scanner-delivery", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    @property
    def pending(self) -> int:
        """Scans waiting to be delivered."""
        with self._cond:
            return len(self._queue)

    def close(self, timeout: float = 2.0) -> None:
        """Stop the sender; scans still waiting are logged and dropped. Idempotent."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            if self._queue:
                log.warning("Delivery closed with %d scans undelivered", len(self._queue))
                self._queue.clear()
        self._disconnect()

    def _run(self) -> None:
        delay = RETRY_INITIAL
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                event = self._queue[0]
            try:
                self._send(event)
            except _Retry as err:
                if not self._down:
                    self._down = True
                    log.warning(
                        "Kiosk at %s not taking scans (%s); keeping up to %d and retrying",
                        self._url,
                        err,
                        self._backlog,
                    )
                with self._cond:
                    self._cond.wait(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            except Exception:
                log.exception("Delivering scan %r failed; dropped", event.code)
            if self._down:
                self._down = False
                log.info("Kiosk at %s takes scans again", self._url)
            delay = RETRY_INITIAL
            with self._cond:
                if self._queue and self._queue[0] is event:
                    self._queue.popleft()

    def _send(self, event: ScanEvent) -> None:
        body = json.dumps(event.to_json(), ensure_ascii=False).encode("utf-8")
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "Idempotency-Key": event.id,
        }
        status, payload = self._post(body, headers)
        if 200 <= status < 300:
            self.delivered += 1
            return
        if status >= 500 or status in (408, 429):
            raise _Retry(f"HTTP {status}")
        level = logging.WARNING if status in (401, 403, 404) else logging.INFO
        log.log(level, "Kiosk refused scan %r: HTTP %d %s", event.code, status, _message(payload))

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """One POST; a kept-alive connection the kiosk closed meanwhile is retried once."""
        for attempt in (1, 2):
            fresh = self._conn is None
            conn = self._connection()
            try:
                conn.request("POST", self._path, body, headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as err:
                self._disconnect()
                if fresh or attempt == 2:
                    raise _Retry(str(err) or type(err).__name__) from err
                continue
            if response.will_close:
                self._disconnect()
            return response.status, payload
        raise _Retry("no connection")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _message(payload: bytes) -> str:
    """The message of the shared JSON error shape, or the start of the body."""
    try:
        return str(json.loads(payload)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return payload[:200].decode("utf-8", errors="replace")
