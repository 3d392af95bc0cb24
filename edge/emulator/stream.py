"""One connection's byte stream → status queries and finished jobs, incrementally.

A connection speaks one language, detected from its first bytes. An ESC/POS job ends at a cut,
a TSPL job at ``PRINT``; whatever is left when the stream closes is a last, incomplete job.
Status queries are reported the moment their bytes are complete, so the server can answer
them while a job is still arriving. Pure: no sockets, threads or files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PIL import Image

from edge.emulator.escpos import EscPosParser, Token
from edge.emulator.label import Label
from edge.emulator.receipt import Receipt
from edge.emulator.render import Language, detect_language
from edge.emulator.tspl import TsplCommand, TsplParser

log = logging.getLogger(__name__)

CUT_OPS = frozenset({"GS V", "ESC i", "ESC m"})
STATUS_PREFIXES = {"DLE EOT": b"\x10\x04", "GS r": b"\x1dr"}


@dataclass(frozen=True)
class StatusQuery:
    """A status request; ``command`` holds its complete bytes (e.g. ``b"\\x10\\x04\\x04"``)."""

    language: Language
    command: bytes


@dataclass
class Job:
    """A finished job: its pages, the paper each page takes (dots) and its raw bytes."""

    language: Language
    pages: list[Image.Image]
    page_lengths: list[int]
    raw: bytes
    complete: bool = True
    note: str = field(default="")


class JobStream:
    """Splits one connection's bytes into jobs; ``language`` None detects it."""

    def __init__(self, width_dots: int = 576, language: Language | None = None) -> None:
        self.width_dots = width_dots
        self.language = language
        self._pending = bytearray()
        self._raw = bytearray()
        self._raw_start = 0
        self._has_content = False
        self._escpos = EscPosParser()
        self._receipt = Receipt(width_dots)
        self._tspl = TsplParser()
        self._label = Label()

    @property
    def job_open(self) -> bool:
        """Whether bytes of an unfinished job have arrived."""
        return self._has_content or bool(self._pending.strip(b"\x00 \r\n"))

    @property
    def printing_dots(self) -> int:
        """Paper the job in progress has printed so far (ESC/POS; TSPL prints at PRINT)."""
        return self._receipt.y if self.language == "escpos" and self._has_content else 0

    def partial_page(self, height: int) -> Image.Image | None:
        """The page in progress, cut to ``height`` dots (ESC/POS only)."""
        if self.language != "escpos" or height <= 0:
            return None
        return self._receipt.snapshot(height)

    def feed(self, data: bytes) -> list[StatusQuery | Job]:
        self._raw += data
        if self.language is None:
            self._pending += data
            language = detect_language(bytes(self._pending))
            if language is None:
                return []
            return self._start(language, final=False)
        return self._process(data, final=False)

    def close(self) -> list[StatusQuery | Job]:
        """End of the stream: pending commands, then the unfinished job if any."""
        events: list[StatusQuery | Job] = []
        if self.language is None:
            if not self._pending.strip(b"\x00 \r\n"):
                return []
            language = detect_language(bytes(self._pending), final=True) or "escpos"
            events = self._start(language, final=False)
        events += self._process(b"", final=True)
        if self.language == "escpos":
            self._receipt.finish()
            pages = self._receipt.take_pages()
            if pages:
                events.append(self._job(pages, [p.height for p in pages], len(self._raw), False))
        elif self._has_content:
            log.info("TSPL job ends without PRINT; nothing printed")
            events.append(self._job([], [], len(self._raw), False, "no PRINT command"))
        return events

    # Internals --------------------------------------------------------------------------

    def _start(self, language: Language, final: bool) -> list[StatusQuery | Job]:
        self.language = language
        log.debug("connection speaks %s", language)
        data = bytes(self._pending)
        self._pending.clear()
        return self._process(data, final)

    def _process(self, data: bytes, final: bool) -> list[StatusQuery | Job]:
        if self.language == "tspl":
            commands = self._tspl.close() if final else self._tspl.feed(data)
            return [event for c in commands if (event := self._tspl_command(c)) is not None]
        tokens = self._escpos.close() if final else self._escpos.feed(data)
        return [event for t in tokens if (event := self._escpos_token(t)) is not None]

    def _job(
        self, pages: list[Image.Image], lengths: list[int], end: int, complete: bool, note: str = ""
    ) -> Job:
        """Close the current job at raw offset ``end`` (relative to the job's first byte)."""
        raw = bytes(self._raw[:end])
        del self._raw[:end]
        self._raw_start += end
        self._has_content = False
        return Job(self.language or "escpos", pages, lengths, raw, complete, note)

    def _skip_idle(self, end: int) -> None:
        """Bytes up to stream offset ``end`` belong to no job (status queries between jobs)."""
        if not self._has_content:
            size = end - self._raw_start
            del self._raw[:size]
            self._raw_start = end

    def _escpos_token(self, token: Token) -> StatusQuery | Job | None:
        prefix = STATUS_PREFIXES.get(token.op)
        if prefix is not None:
            self._skip_idle(token.end)
            return StatusQuery("escpos", prefix + token.args)
        if token.op in ("DLE ENQ", "DLE DC4", "GS a") and not self._has_content:
            self._skip_idle(token.end)
            return None
        receipt = self._receipt
        self._has_content = True
        receipt.apply(token)
        pages = receipt.take_pages()
        if pages or token.op in CUT_OPS:
            end = token.end - self._raw_start
            if not pages:
                log.debug("cut without anything printed; %d bytes dropped", end)
                self._job([], [], end, True)
                return None
            return self._job(pages, [page.height for page in pages], end, True)
        return None

    def _tspl_command(self, command: TsplCommand) -> StatusQuery | Job | None:
        if command.name == "ESC !":
            self._skip_idle(command.end)
            if command.args == (b"?",):
                return StatusQuery("tspl", b"\x1b!?")
            log.debug("TSPL real-time command ESC ! %r ignored", command.args)
            return None
        label = self._label
        self._has_content = True
        label.apply(command)
        if command.name != "PRINT":
            return None
        pages = label.take_pages()
        return self._job(pages, [label.length] * len(pages), command.end - self._raw_start, True)
