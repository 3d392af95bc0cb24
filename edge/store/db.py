"""SQLite connections with the station's durability settings, and transactions.

Every connection runs in WAL mode with ``synchronous=FULL`` (NORMAL can lose the last
commits on power loss) and foreign keys on. Writes go through :func:`transaction`, which
takes the write lock up front (``BEGIN IMMEDIATE``) so a read-then-write never deadlocks.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


class StoreError(Exception):
    """Base of every store error."""


class NotFound(StoreError):
    """The row asked for does not exist."""


class Conflict(StoreError):
    """The change is not allowed in the row's current state."""


def connect(path: Path | str) -> sqlite3.Connection:
    """Open a connection with WAL, ``synchronous=FULL``, foreign keys and a busy timeout."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write: ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Store:
    """A station database: one connection per thread, migrated on open."""

    def __init__(self, path: Path | str):
        from edge.store.migrations import migrate

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Writers of this process queue here instead of in SQLite's busy handler, whose
        # back-off sleeps make some writers wait seconds while others pass.
        self._write_lock = threading.Lock()
        migrate(self.conn())

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection (one writer of this process at
        a time; other processes wait in SQLite's busy handler)."""
        with self._write_lock, transaction(self.conn()) as conn:
            yield conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
