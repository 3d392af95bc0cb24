"""Real-time status queries and how to read their answers (ESC/POS and TSPL).

ESC/POS (Epson): ``DLE EOT 1`` answers one printer-status byte, bit 0x08 set = offline;
``DLE EOT 4`` answers one roll-paper byte, bits 0x0C = paper near its end, bits 0x60 = paper
out. Both answers have the fixed bits 0x12 set and 0x81 clear.

TSPL: ``ESC ! ?`` answers one byte: 0x00 ready, 0x01 head open, 0x02 paper jam, 0x04 out of
paper, 0x08 out of ribbon, 0x10 paused, 0x20 printing, 0x80 other error.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.spooler.backends.base import Paper, PrinterStatus

DLE_EOT_PRINTER = b"\x10\x04\x01"
DLE_EOT_PAPER = b"\x10\x04\x04"
TSPL_STATUS = b"\x1b!?"

_OFFLINE = 0x08
_NEAR_END = 0x0C
_PAPER_END = 0x60
_TSPL_PROBLEMS = (
    (0x01, "print head open"),
    (0x02, "paper jam"),
    (0x04, "out of paper"),
    (0x08, "out of ribbon"),
    (0x10, "paused"),
    (0x80, "printer error"),
)

#: Sends a query and returns the printer's answer, or ``b""`` when it gave none in time.
Ask = Callable[[bytes], bytes]


def escpos_status(printer: int, paper: int | None) -> PrinterStatus:
    """Status from the ``DLE EOT 1`` byte and the ``DLE EOT 4`` byte (``None``: no answer)."""
    online = not printer & _OFFLINE
    level: Paper
    if paper is None:
        level = "unknown"
    elif paper & _PAPER_END:
        level = "out"
    elif paper & _NEAR_END:
        level = "low"
    else:
        level = "ok"
    details = []
    if not online:
        details.append("printer reports offline (cover open, feed button held or error)")
    if level == "out":
        details.append("out of paper")
    elif level == "low":
        details.append("paper roll nearly empty")
    return PrinterStatus(online=online, paper=level, detail="; ".join(details))


def tspl_status(code: int) -> PrinterStatus:
    """Status from the byte a TSPL printer answers to ``ESC ! ?``."""
    problems = [text for bit, text in _TSPL_PROBLEMS if code & bit]
    paper: Paper = "out" if code & 0x04 else ("unknown" if code & 0x02 else "ok")
    online = not code & (0x01 | 0x02 | 0x08 | 0x10 | 0x80)
    return PrinterStatus(online=online, paper=paper, detail="; ".join(problems))


def query_status(ask: Ask, language: str) -> PrinterStatus | None:
    """Ask the printer for its status in ``language``; ``None`` when it did not answer at all."""
    if language == "tspl":
        answer = ask(TSPL_STATUS)
        return tspl_status(answer[0]) if answer else None
    printer = ask(DLE_EOT_PRINTER)
    if not printer:
        return None
    paper = ask(DLE_EOT_PAPER)
    return escpos_status(printer[0], paper[0] if paper else None)


def no_answer(transport: str) -> PrinterStatus:
    """Status of a printer on a link that stays silent: assumed online, paper unknown."""
    return PrinterStatus(
        online=True,
        paper="unknown",
        detail=f"no status answer over {transport}; assuming online",
    )
