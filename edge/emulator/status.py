"""Printer state (paper, online) shared by all connections, and the status bytes it answers.

ESC/POS status bytes follow Epson's real-time status transmission (``DLE EOT n``) and
paper sensor status (``GS r 1``); TSPL's ``ESC ! ?`` answers one byte of error bits.
"""

from __future__ import annotations

import logging
import threading
from typing import Literal

from edge.emulator.errors import StateError

log = logging.getLogger(__name__)

DOTS_PER_MM = 8
PaperState = Literal["ok", "low", "out"]
PAPER_STATES: tuple[PaperState, ...] = ("ok", "low", "out")
# With a paper length set, paper is reported near its end when this share of it is left.
LOW_PAPER_SHARE = 0.15

# DLE EOT n: bits 1 and 4 are always set (0x12).
ESCPOS_BASE = 0x12
ONLINE_DRAWER_HIGH = 0x04  # DLE EOT 1, bit 2: drawer kick-out connector pin 3 high
OFFLINE = 0x08  # DLE EOT 1, bit 3
COVER_OPEN = 0x04  # DLE EOT 2, bit 2
PAPER_END_STOP = 0x20  # DLE EOT 2, bit 5: printing stopped because paper ran out
PAPER_NEAR_END = 0x0C  # DLE EOT 4, bits 2 and 3
PAPER_END = 0x60  # DLE EOT 4, bits 5 and 6
GS_R_NEAR_END = 0x03  # GS r 1, bits 0 and 1
GS_R_PAPER_END = 0x0C  # GS r 1, bits 2 and 3
TSPL_HEAD_OPEN, TSPL_PAPER_OUT, TSPL_PAUSE, TSPL_PRINTING = 0x01, 0x04, 0x10, 0x20


def escpos_status(request: bytes, paper: PaperState, online: bool) -> bytes | None:
    """The reply to ``DLE EOT n`` or ``GS r n`` (the full command bytes), or None if none."""
    near_end, end = paper in ("low", "out"), paper == "out"
    if request[:2] == b"\x10\x04" and len(request) >= 3:
        n = request[2]
        if n == 1:
            return bytes([ESCPOS_BASE | ONLINE_DRAWER_HIGH | (0 if online else OFFLINE)])
        if n == 2:
            cause = (0 if online else COVER_OPEN) | (PAPER_END_STOP if end else 0)
            return bytes([ESCPOS_BASE | cause])
        if n == 3:
            return bytes([ESCPOS_BASE])
        if n == 4:
            paper_bits = (PAPER_NEAR_END if near_end else 0) | (PAPER_END if end else 0)
            return bytes([ESCPOS_BASE | paper_bits])
        return None
    if request[:2] == b"\x1dr" and len(request) >= 3:
        if request[2] in (1, 49):
            bits = (GS_R_NEAR_END if near_end else 0) | (GS_R_PAPER_END if end else 0)
            return bytes([bits])
        if request[2] in (2, 50):
            return b"\x00"
    return None


def tspl_status(paper: PaperState, online: bool, printing: bool = False) -> bytes:
    """The one-byte reply to TSPL ``ESC ! ?``."""
    bits = (0 if online else TSPL_HEAD_OPEN) | (TSPL_PAPER_OUT if paper == "out" else 0)
    return bytes([bits | (TSPL_PRINTING if printing else 0)])


class PrinterState:
    """Paper and online state, and paper used against an optional roll length. Thread-safe."""

    def __init__(
        self, paper: PaperState = "ok", online: bool = True, paper_length_mm: float | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._paper: PaperState = check_paper(paper)
        self.online = online
        self._length = round(paper_length_mm * DOTS_PER_MM) if paper_length_mm else None
        self._used = 0

    @property
    def paper(self) -> PaperState:
        with self._lock:
            return self._paper

    def set_paper(self, state: str) -> None:
        """Set the paper state; loading paper (``ok``/``low``) restarts the roll length."""
        paper = check_paper(state)
        with self._lock:
            self._paper = paper
            if paper != "out":
                self._used = 0
        log.info("paper %s", paper)

    def set_online(self, online: bool) -> None:
        self.online = online
        log.info("printer %s", "online" if online else "offline")

    def remaining(self) -> int | None:
        """Dots of paper left on the roll, or None when the roll is endless."""
        with self._lock:
            if self._paper == "out":
                return 0
            return None if self._length is None else max(self._length - self._used, 0)

    def consume(self, dots: int) -> None:
        """Account for ``dots`` of printed paper; runs out or gets low at the roll's end."""
        with self._lock:
            self._used += dots
            if self._length is None or self._paper == "out":
                return
            left = self._length - self._used
            if left <= 0:
                self._paper = "out"
                log.warning("paper out after %d mm", self._used // DOTS_PER_MM)
            elif left <= self._length * LOW_PAPER_SHARE and self._paper == "ok":
                self._paper = "low"
                log.info("paper low: %d mm left", left // DOTS_PER_MM)

    def run_out(self) -> None:
        """The roll ends now (mid-page): the rest of the roll counts as used."""
        with self._lock:
            self._paper = "out"
            if self._length is not None:
                self._used = max(self._used, self._length)
        log.warning("paper out")

    def as_dict(self) -> dict[str, object]:
        with self._lock:
            used_mm = round(self._used / DOTS_PER_MM, 1)
            length_mm = None if self._length is None else round(self._length / DOTS_PER_MM, 1)
            return {
                "paper": self._paper,
                "online": self.online,
                "paper_used_mm": used_mm,
                "paper_length_mm": length_mm,
            }


def check_paper(state: str) -> PaperState:
    for known in PAPER_STATES:
        if state == known:
            return known
    raise StateError(f"paper state must be one of {', '.join(PAPER_STATES)}, got {state!r}")
