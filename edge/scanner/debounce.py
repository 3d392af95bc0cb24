"""Debounce: drop the same code from the same scanner seen again within a short window."""

from __future__ import annotations

import time
from collections.abc import Callable


class Debouncer:
    """Remembers when each (source, code) was last seen.

    A code is a duplicate when it was seen less than `window_ms` ago; every sighting,
    duplicate or not, restarts the window, so a code held in front of a camera or re-read by a
    scanner in continuous mode yields one scan. `clock` returns monotonic seconds.
    """

    def __init__(
        self, window_ms: int, *, clock: Callable[[], float] = time.monotonic, capacity: int = 256
    ) -> None:
        if window_ms < 0:
            raise ValueError("window_ms must not be negative")
        self._window = window_ms / 1000.0
        self._clock = clock
        self._capacity = capacity
        self._seen: dict[tuple[str, str], float] = {}

    def is_duplicate(self, source: str, code: str) -> bool:
        """Record a sighting of `code` from `source`; True when it is to be dropped."""
        now = self._clock()
        key = (source, code)
        last = self._seen.pop(key, None)
        self._seen[key] = now
        if len(self._seen) > self._capacity:
            self._forget_older_than(now - self._window)
        return last is not None and now - last < self._window

    def _forget_older_than(self, cutoff: float) -> None:
        stale = [key for key, seen in self._seen.items() if seen < cutoff]
        for key in stale:
            del self._seen[key]
        while len(self._seen) > self._capacity:
            del self._seen[next(iter(self._seen))]
