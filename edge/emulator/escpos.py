"""ESC/POS byte stream → tokens, incrementally.

The parser knows the length of every command a receipt printer driver commonly sends, so that
bit image and barcode payloads are never mistaken for commands or text. Bytes arrive in any
chunking; a command split across chunks is held until it is complete. Unknown commands are
skipped by their introducer; a command still incomplete when the stream ends is dropped with a
warning. Nothing here raises on bad input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
# A payload longer than this is taken for garbage: the header is skipped instead of awaited.
MAX_PAYLOAD = 16 * 1024 * 1024
MAX_TEXT_RUN = 4096
TEXT_RUN = re.compile(rb"[\x20-\xff]{1,%d}" % MAX_TEXT_RUN)

# Fixed parameter counts after the two-byte introducer.
ESC_FIXED = {
    "@": 0,
    "!": 1,
    "E": 1,
    "G": 1,
    "-": 1,
    "a": 1,
    "d": 1,
    "J": 1,
    "K": 1,
    "e": 1,
    "2": 0,
    "3": 1,
    "t": 1,
    "M": 1,
    "{": 1,
    "V": 1,
    "R": 1,
    " ": 1,
    "$": 2,
    "\\": 2,
    "p": 3,
    "=": 1,
    "B": 2,
    "%": 1,
    "?": 1,
    "i": 0,
    "m": 0,
    "L": 0,
    "S": 0,
    "\x0c": 0,
    "W": 8,
    "T": 1,
    "U": 1,
    "r": 1,
    "u": 1,
    "v": 0,
    "A": 1,
    "+": 1,
    "C": 1,
    "c": 2,
    "<": 0,
    "O": 0,
    "P": 0,
}
GS_FIXED = {
    "!": 1,
    "B": 1,
    "b": 1,
    "f": 1,
    "H": 1,
    "h": 1,
    "w": 1,
    "L": 2,
    "W": 2,
    "r": 1,
    "a": 1,
    "I": 1,
    "P": 2,
    "T": 1,
    "/": 1,
    "$": 2,
    "\\": 2,
    "^": 3,
    ":": 0,
    "E": 1,
    "j": 1,
    "g": 4,
    "z": 3,
    "J": 1,
    "y": 1,
}
FS_FIXED = {
    "&": 0,
    ".": 0,
    "!": 1,
    "-": 1,
    "C": 1,
    "S": 2,
    "W": 1,
    "p": 2,
    "2": 74,
    "?": 2,
    "g": 1,
    "c": 1,
    "r": 0,
    "s": 0,
}


@dataclass(frozen=True, slots=True)
class Token:
    """One ESC/POS command or run of text.

    ``op`` is ``"text"``, a control name (``"LF"``) or the command's printable name
    (``"ESC !"``, ``"GS v 0"``, ``"DLE EOT"``); ``args`` are its fixed parameter bytes,
    ``data`` its variable payload (the text bytes for ``"text"``); ``end`` is the stream
    offset just past the token.
    """

    op: str
    args: bytes = b""
    data: bytes = b""
    end: int = 0


# A rule returns (token, length), None when more bytes are needed, or (None, length) to skip.
Buffer = bytes | bytearray
Rule = Callable[[Buffer, int], "tuple[Token | None, int] | None"]
CONTROLS = {0x0A: "LF", 0x0D: "CR", 0x09: "HT", 0x0C: "FF"}


def _fixed(name: str, count: int) -> Rule:
    def rule(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
        if len(buf) < i + 2 + count:
            return None
        return Token(name, bytes(buf[i + 2 : i + 2 + count])), 2 + count

    return rule


def _sized(name: str, header: int, size: Callable[[bytes], int]) -> Rule:
    """A command with ``header`` parameter bytes from which ``size`` computes the payload."""

    def rule(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
        start = i + 2 + header
        if len(buf) < start:
            return None
        args = bytes(buf[i + 2 : start])
        length = size(args)
        if length > MAX_PAYLOAD:
            log.warning("%s declares a %d-byte payload; skipping its header", name, length)
            return None, 2 + header
        if len(buf) < start + length:
            return None
        return Token(name, args, bytes(buf[start : start + length])), 2 + header + length

    return rule


def _terminated(name: str, header: int, limit: int) -> Rule:
    """A command whose payload ends at a NUL byte (or after ``limit`` bytes)."""

    def rule(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
        start = i + 2 + header
        end = buf.find(b"\x00", start, start + limit + 1)
        if end < 0:
            if len(buf) < start + limit + 1:
                return None
            end = start + limit
            return Token(name, bytes(buf[i + 2 : start]), bytes(buf[start:end])), end - i
        return Token(name, bytes(buf[i + 2 : start]), bytes(buf[start:end])), end + 1 - i

    return rule


def _esc_star(args: bytes) -> int:
    width = args[1] | args[2] << 8
    return width * 3 if args[0] in (32, 33) else width


def _gs_k(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
    if len(buf) < i + 3:
        return None
    if buf[i + 2] <= 6:
        return _terminated("GS k", 1, 255)(buf, i)
    return _sized("GS k", 2, lambda args: args[1])(buf, i)


def _gs_v(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
    if len(buf) < i + 3:
        return None
    if buf[i + 2] != 0x30:
        return None, 2
    rule = _sized("GS v 0", 6, lambda a: (a[2] | a[3] << 8) * (a[4] | a[5] << 8))
    return rule(buf, i)


def _gs_cut(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
    if len(buf) < i + 3:
        return None
    count = 2 if buf[i + 2] in (65, 66, 97, 98, 103, 104) else 1
    return _fixed("GS V", count)(buf, i)


def _esc_d_tabs(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
    return _terminated("ESC D", 0, 32)(buf, i)


def _esc_user_chars(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
    """ESC & y c1 c2 [x d1...d(y*x)]... — user-defined characters, skipped."""
    if len(buf) < i + 5:
        return None
    height, first, last = buf[i + 2], buf[i + 3], buf[i + 4]
    pos = i + 5
    for _ in range(max(last - first + 1, 0)):
        if len(buf) <= pos:
            return None
        pos += 1 + height * buf[pos]
    if len(buf) < pos:
        return None
    return Token("ESC &"), pos - i


def _dle(buf: Buffer, i: int) -> tuple[Token | None, int] | None:
    if len(buf) < i + 3:
        return None
    kind, value = buf[i + 1], buf[i + 2]
    if kind == 0x04:
        count = 2 if value in (7, 8) else 1
        return _fixed("DLE EOT", count)(buf, i)
    if kind == 0x05:
        return _fixed("DLE ENQ", 1)(buf, i)
    if kind == 0x14:
        count = {1: 3, 2: 3, 3: 3, 7: 2, 8: 8}.get(value, 1)
        return _fixed("DLE DC4", count)(buf, i)
    return None, 1


def _length_prefixed(name: str) -> Rule:
    """``X ( fn pL pH data`` — the generic extended command form."""
    return _sized(name, 3, lambda args: args[1] | args[2] << 8)


def _table(prefix: str, fixed: dict[str, int], special: dict[str, Rule]) -> dict[int, Rule]:
    rules = {
        ord(ch): _fixed(f"{prefix} {'SP' if ch == ' ' else ch}", count)
        for ch, count in fixed.items()
    }
    rules.update({ord(ch): rule for ch, rule in special.items()})
    return rules


ESC_RULES = _table(
    "ESC",
    ESC_FIXED,
    {
        "*": _sized("ESC *", 3, _esc_star),
        "(": _length_prefixed("ESC ("),
        "D": _esc_d_tabs,
        "&": _esc_user_chars,
    },
)
GS_RULES = _table(
    "GS",
    GS_FIXED,
    {
        "k": _gs_k,
        "v": _gs_v,
        "V": _gs_cut,
        "(": _length_prefixed("GS ("),
        "8": _sized("GS 8", 5, lambda a: a[1] | a[2] << 8 | a[3] << 16 | a[4] << 24),
        "*": _sized("GS *", 2, lambda a: a[0] * a[1] * 8),
    },
)
FS_RULES = _table("FS", FS_FIXED, {"(": _length_prefixed("FS (")})
PREFIX_RULES = {ESC: ESC_RULES, GS: GS_RULES, FS: FS_RULES}
PREFIX_NAMES = {ESC: "ESC", GS: "GS", FS: "FS"}


class EscPosParser:
    """Incremental ESC/POS tokenizer: ``feed`` bytes, get the tokens completed so far."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0
        self._unknown: set[bytes] = set()

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete token."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Token]:
        self._buf += data
        return self._drain(final=False)

    def close(self) -> list[Token]:
        """Tokens left at the end of the stream; an incomplete command is dropped."""
        tokens = self._drain(final=True)
        if self._buf:
            log.warning(
                "ESC/POS stream ends inside a command (%r…); %d bytes dropped",
                bytes(self._buf[:8]),
                len(self._buf),
            )
            self._offset += len(self._buf)
            self._buf.clear()
        return tokens

    def _drain(self, final: bool) -> list[Token]:
        buf = self._buf
        tokens: list[Token] = []
        i = 0
        while i < len(buf):
            parsed = self._parse_at(buf, i, final)
            if parsed is None:
                break
            token, length = parsed
            i += length
            if token is not None:
                tokens.append(Token(token.op, token.args, token.data, self._offset + i))
        del buf[:i]
        self._offset += i
        return tokens

    def _log_unknown(self, command: bytes) -> None:
        """Warn once per stream and command; repeats (as in garbage) go to debug."""
        level = logging.DEBUG if command in self._unknown else logging.WARNING
        self._unknown.add(command)
        log.log(level, "unknown command %s 0x%02x skipped", PREFIX_NAMES[command[0]], command[1])

    def _parse_at(self, buf: bytearray, i: int, final: bool) -> tuple[Token | None, int] | None:
        byte = buf[i]
        if byte >= 0x20:
            match = TEXT_RUN.match(buf, i)
            end = match.end() if match else i + 1
            if end == len(buf) and not final and end - i < MAX_TEXT_RUN:
                return None
            return Token("text", data=bytes(buf[i:end])), end - i
        if byte in CONTROLS:
            return Token(CONTROLS[byte]), 1
        if byte == DLE:
            return _dle(bytes(buf[i : i + 12]), 0)
        rules = PREFIX_RULES.get(byte)
        if rules is None:
            if byte:
                log.debug("control byte 0x%02x ignored", byte)
            return None, 1
        if len(buf) < i + 2:
            return None
        rule = rules.get(buf[i + 1])
        if rule is None:
            self._log_unknown(bytes(buf[i : i + 2]))
            return None, 2
        return rule(buf, i)
