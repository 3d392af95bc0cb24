"""TSPL (TSC label printer language) byte stream → commands, incrementally.

TSPL is line based (``KEYWORD arg,arg,...`` ended by CR LF), except ``BITMAP`` and
``DOWNLOAD``, whose binary payload follows the header's last comma, and the real-time
``ESC ! c`` queries, which may arrive anywhere between commands. Arguments are split at commas
outside double quotes; quoted arguments keep their quotes and raw bytes so the renderer can
decode them with the font's encoding. Nothing here raises on bad input.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

ESC = 0x1B
MAX_LINE = 64 * 1024
MAX_PAYLOAD = 16 * 1024 * 1024
WHITESPACE = re.compile(rb"[\s\x00]+")
BITMAP_HEAD = re.compile(
    rb"BITMAP\s+(-?\d+)\s*,\s*(-?\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,", re.IGNORECASE
)
DOWNLOAD_HEAD = re.compile(
    rb'DOWNLOAD\s+(?:[FE]\s*,\s*)?"[^"\r\n]*"\s*,\s*(\d+)\s*,', re.IGNORECASE
)
QUOTE_ESCAPE = b'\\["]'


@dataclass(frozen=True, slots=True)
class TsplCommand:
    """One TSPL command: upper-case ``name``, raw comma-separated ``args``, binary ``data``.

    Real-time queries are named ``"ESC !"`` with the query character as their only argument.
    ``end`` is the stream offset just past the command.
    """

    name: str
    args: tuple[bytes, ...] = ()
    data: bytes = b""
    end: int = 0


def split_args(raw: bytes) -> tuple[bytes, ...]:
    """Split at commas outside quotes; each argument is stripped, quotes are kept."""
    args: list[bytes] = []
    current = bytearray()
    quoted = False
    i = 0
    while i < len(raw):
        if quoted and raw.startswith(QUOTE_ESCAPE, i):
            current += QUOTE_ESCAPE
            i += len(QUOTE_ESCAPE)
            continue
        byte = raw[i]
        if byte == 0x22:
            quoted = not quoted
        if byte == 0x2C and not quoted:
            args.append(bytes(current).strip())
            current.clear()
        else:
            current.append(byte)
        i += 1
    if current.strip() or args:
        args.append(bytes(current).strip())
    return tuple(args)


def parse_line(line: bytes) -> TsplCommand | None:
    """A command from one line (without its line end), or None for a blank line."""
    line = line.strip()
    if not line:
        return None
    name, _, rest = line.partition(b" ")
    if b"," in name or b'"' in name:
        name, rest = line, b""
    return TsplCommand(name.decode("latin-1").upper(), split_args(rest.strip()))


class TsplParser:
    """Incremental TSPL tokenizer: ``feed`` bytes, get the commands completed so far."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete command."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[TsplCommand]:
        self._buf += data
        return self._drain(final=False)

    def close(self) -> list[TsplCommand]:
        """Commands left at the end of the stream; an incomplete payload is dropped."""
        commands = self._drain(final=True)
        if self._buf:
            log.warning("TSPL stream ends inside a command; %d bytes dropped", len(self._buf))
            self._offset += len(self._buf)
            self._buf.clear()
        return commands

    def _drain(self, final: bool) -> list[TsplCommand]:
        buf = self._buf
        commands: list[TsplCommand] = []
        i = 0
        while i < len(buf):
            parsed = self._parse_at(buf, i, final)
            if parsed is None:
                break
            command, length = parsed
            i += length
            if command is not None:
                commands.append(
                    TsplCommand(command.name, command.args, command.data, self._offset + i)
                )
        del buf[:i]
        self._offset += i
        return commands

    def _parse_at(
        self, buf: bytearray, i: int, final: bool
    ) -> tuple[TsplCommand | None, int] | None:
        blank = WHITESPACE.match(buf, i)
        if blank:
            return None, blank.end() - i
        if buf[i] == ESC:
            if len(buf) < i + 3:
                return None
            if buf[i + 1] == 0x21:
                return TsplCommand("ESC !", (bytes(buf[i + 2 : i + 3]),)), 3
            log.debug("ESC 0x%02x ignored", buf[i + 1])
            return None, 1
        keyword = bytes(buf[i : i + 8]).upper()
        if keyword.startswith((b"BITMAP", b"DOWNLOAD")):
            pattern = BITMAP_HEAD if keyword.startswith(b"BITMAP") else DOWNLOAD_HEAD
            match = pattern.match(buf, i)
            if match is not None:
                return self._with_payload(buf, i, match)
            if buf.find(b"\n", i, i + 256) < 0 and not final and len(buf) - i < 256:
                return None
        end = buf.find(b"\n", i)
        if end < 0:
            if final or len(buf) - i > MAX_LINE:
                if not final:
                    log.warning("TSPL line longer than %d bytes skipped", MAX_LINE)
                return parse_line(bytes(buf[i:])), len(buf) - i
            return None
        return parse_line(bytes(buf[i:end])), end + 1 - i

    @staticmethod
    def _with_payload(
        buf: bytearray, i: int, match: re.Match[bytes]
    ) -> tuple[TsplCommand | None, int] | None:
        """BITMAP or DOWNLOAD: the header up to its last comma, then a binary payload."""
        size = int(match[3]) * int(match[4]) if match.re is BITMAP_HEAD else int(match[1])
        head_length = match.end() - i
        if size > MAX_PAYLOAD:
            log.warning("TSPL payload of %d bytes skipped", size)
            return None, head_length
        if len(buf) < match.end() + size:
            return None
        command = parse_line(bytes(buf[i : match.end() - 1]))
        if command is None:
            return None, head_length
        data = bytes(buf[match.end() : match.end() + size])
        return TsplCommand(command.name, command.args, data), head_length + size
