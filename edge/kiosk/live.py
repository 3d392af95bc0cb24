"""Live updates pushed to the staff screens as Server-Sent Events.

The kiosk publishes scan results the moment they are committed; a tail of the journal
(woken by :mod:`edge.store.notify` pokes from the other station processes) publishes print
job and order changes made elsewhere, such as a label the spooler just printed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from edge import protocol
from edge.store import Store, journal
from edge.store.notify import Listener

log = logging.getLogger(__name__)

KEEPALIVE_S = 15.0


class TooManyListeners(Exception):
    """Every live-update slot is taken; each one holds an HTTP worker thread."""


class LiveHub:
    """Fan-out of events to every open stream; slow listeners lose their oldest events."""

    def __init__(self, max_listeners: int = 8):
        self.max_listeners = max_listeners
        self._lock = threading.Lock()
        self._listeners: list[queue.Queue[tuple[str, dict[str, Any]] | None]] = []

    def publish(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for q in listeners:
            try:
                q.put_nowait((event, data))
            except queue.Full:
                log.warning("live listener too slow; an update was dropped")

    def subscribe(self) -> queue.Queue[tuple[str, dict[str, Any]] | None]:
        q: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue(maxsize=200)
        with self._lock:
            if len(self._listeners) >= self.max_listeners:
                raise TooManyListeners(f"at most {self.max_listeners} live screens")
            self._listeners.append(q)
        return q

    @property
    def listening(self) -> bool:
        with self._lock:
            return bool(self._listeners)

    def unsubscribe(self, q: queue.Queue[tuple[str, dict[str, Any]] | None]) -> None:
        with self._lock:
            if q in self._listeners:
                self._listeners.remove(q)

    def close(self) -> None:
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for q in listeners:
            with contextlib.suppress(queue.Full):
                q.put_nowait(None)

    def stream(self, q: queue.Queue[tuple[str, dict[str, Any]] | None]) -> Iterator[str]:
        """SSE frames for one listener until the hub closes."""
        try:
            yield "retry: 1000\n\n"
            while True:
                try:
                    item = q.get(timeout=KEEPALIVE_S)
                except queue.Empty:
                    yield ": keepalive\n\n"
                    continue
                if item is None:
                    return
                event, data = item
                yield f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        finally:
            self.unsubscribe(q)


class JournalTail(threading.Thread):
    """Publishes journal events written by any station process to the live hub."""

    KINDS: ClassVar[dict[str, str]] = {
        protocol.PRINT_JOB_QUEUED: "print_job",
        protocol.PRINT_JOB_STATE: "print_job",
        protocol.ORDER_CREATED: "orders",
        protocol.ORDER_STATUS: "orders",
        protocol.ORDER_EXCEPTION: "orders",
    }

    def __init__(self, store: Store, hub: LiveHub, runtime_dir: Path, poll_s: float = 1.0):
        super().__init__(name="journal-tail", daemon=True)
        self.store, self.hub, self.poll_s = store, hub, poll_s
        self.listener = Listener(runtime_dir, "kiosk")
        self._halt = threading.Event()
        self.seq = journal.last_seq(store.conn())
        self.runtime_dir = runtime_dir
        self._status_mtimes: dict[str, float] = {}

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.listener.wait(self.poll_s)
                self.drain()
            except Exception:
                log.exception("journal tail failed; continuing")
                self._halt.wait(self.poll_s)
        self.listener.close()

    def drain(self) -> None:
        conn = self.store.conn()
        if not self.hub.listening:  # nobody to tell: skip what happened meanwhile
            self.seq = journal.last_seq(conn)
            return
        while events := journal.since(conn, self.seq, 200):
            for event in events:
                channel = self.KINDS.get(event.kind)
                if channel:
                    self.hub.publish(channel, {"kind": event.kind, **event.data})
            self.seq = events[-1].seq
        self._devices()

    def _devices(self) -> None:
        """Printer and scanner status files written by the spooler and scanner service."""
        for path in self.runtime_dir.glob("*-status.json"):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if self._status_mtimes.get(path.name) != mtime:
                self._status_mtimes[path.name] = mtime
                self.hub.publish("devices", {"file": path.name})

    def stop(self) -> None:
        self._halt.set()
