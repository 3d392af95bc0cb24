"""Group commit: many small write transactions of one process share one COMMIT (one fsync).

Callers hand a function to :meth:`GroupCommitter.run` and block until it is durable. A
writer thread takes what has queued up, runs each function in its own SAVEPOINT inside one
``BEGIN IMMEDIATE`` transaction, and commits once: a function that raises is rolled back to
its savepoint alone and its caller gets the exception. Nobody hears "done" before the
COMMIT, so durability is exactly that of one transaction per call — only cheaper.

Each call also runs in a :func:`journal.batch`: its events are written with one statement at
its end, and the chain's head is carried from call to call (the batch holds the write lock
throughout, so nobody else can append in between); a call that fails leaves it where it was.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from edge.store import journal
from edge.store.db import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class GroupCommitter:
    def __init__(self, store: Store, max_batch: int = 64):
        self.store, self.max_batch = store, max_batch
        self._queue: queue.Queue[tuple[Callable[[sqlite3.Connection], Any], Future[Any]] | None] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in a write transaction; returns its result once committed."""
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future.result()

    def _take(self) -> list[tuple[Callable[[sqlite3.Connection], Any], Future[Any]]] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)
                break
            batch.append(item)
        return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            outcomes: list[tuple[Future[Any], bool, Any]] = []
            try:
                with self.store.write() as conn:
                    head: journal.Head | None = None
                    for n, (fn, future) in enumerate(batch):
                        conn.execute(f"SAVEPOINT call{n}")
                        try:
                            with journal.batch(conn, head) as events:
                                result = fn(conn)
                        except Exception as err:  # the caller's error, handed back to it
                            conn.execute(f"ROLLBACK TO call{n}")
                            conn.execute(f"RELEASE call{n}")
                            outcomes.append((future, False, err))
                            continue
                        conn.execute(f"RELEASE call{n}")
                        head = events.head
                        outcomes.append((future, True, result))
            except Exception as err:  # the COMMIT itself failed: nothing of the batch holds
                log.exception("group commit of %d calls failed", len(batch))
                for _, future in batch:
                    future.set_exception(err)
                continue
            for future, ok, value in outcomes:
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
