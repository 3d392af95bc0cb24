"""The history of a campaign: every operation a client tried and how it ended, and every
fault the nemesis injected, one JSON object per line.

An operation ends ``ok`` (the client was told it succeeded: it must have happened exactly
once), ``failed`` (it was told it did not: it must not have happened), or ``unknown`` (no
answer: a timeout or a cut connection after the request was sent — it may have happened,
at most once).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

OUTCOMES = ("ok", "failed", "unknown")


class History:
    """Thread-safe: clients and the nemesis write to it at the same time."""

    def __init__(self, path: Path):
        self.path = path
        self.started = time.monotonic()
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def _write(self, entry: dict[str, Any]) -> dict[str, Any]:
        entry = {"t": round(time.monotonic() - self.started, 3), "wall": time.time(), **entry}
        with self._lock:
            self.entries.append(entry)
            self._file.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
            self._file.flush()
        return entry

    def op(self, process: str, kind: str, outcome: str, **detail: Any) -> dict[str, Any]:
        """One finished operation by ``process`` (a client name)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r} is not one of {OUTCOMES}")
        return self._write(
            {"type": "op", "process": process, "kind": kind, "outcome": outcome, **detail}
        )

    def fault(self, kind: str, target: str, phase: str, **detail: Any) -> dict[str, Any]:
        """A nemesis step: ``phase`` is ``start`` or ``end``."""
        return self._write(
            {"type": "fault", "kind": kind, "target": target, "phase": phase, **detail}
        )

    def note(self, text: str, **detail: Any) -> dict[str, Any]:
        return self._write({"type": "note", "text": text, **detail})

    def ops(self, kind: str | None = None, outcome: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                e
                for e in self.entries
                if e["type"] == "op"
                and (kind is None or e["kind"] == kind)
                and (outcome is None or e["outcome"] == outcome)
            ]

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.entries if e["type"] == "fault" and e["phase"] == "start"]

    def close(self) -> None:
        with self._lock:
            self._file.close()

    @staticmethod
    def load(path: Path) -> list[dict[str, Any]]:
        """The entries of a history file, for replay and inspection."""
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
