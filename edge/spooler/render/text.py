"""Text handling for fixed-pitch printer fonts with Chinese (CJK) characters.

Printer fonts are monospaced in cells: Latin characters take one cell (12 dots in the standard
font) and CJK characters and full-width punctuation take two. Widths here are counted in cells.

Order data is untrusted: :func:`clean` removes every control character, so a product name can
never inject a printer command, and turns line breaks and tabs into spaces.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation

#: Characters outside the printable range that are turned into a space rather than dropped.
_SPACES = {"\t", "\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"}
#: Unicode categories never sent to a printer: controls, format characters, surrogates, unassigned.
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}


def clean(text: str) -> str:
    """Return ``text`` as one printable line: no control characters, line breaks become spaces."""
    out = []
    for char in text:
        if char in _SPACES:
            out.append(" ")
        elif unicodedata.category(char) not in _DROPPED_CATEGORIES:
            out.append(char)
    return "".join(out)


def is_ascii(text: str) -> bool:
    """True when every character is printable ASCII (the printer's built-in font covers it)."""
    return all(" " <= char <= "~" for char in text)


def char_width(char: str) -> int:
    """Cells taken by one character: 2 for wide/full-width (CJK) characters, else 1."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def width(text: str) -> int:
    """Cells taken by ``text``."""
    return sum(char_width(char) for char in text)


def truncate(text: str, cells: int) -> str:
    """Cut ``text`` to at most ``cells`` cells, ending with "…" when something was cut."""
    if width(text) <= cells:
        return text
    out, used = [], 0
    for char in text:
        w = char_width(char)
        if used + w > cells - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def wrap(text: str, cells: int) -> list[str]:
    """Break ``text`` into lines of at most ``cells`` cells.

    Latin words are kept whole where they fit; CJK text breaks between any two characters.
    """
    text = clean(text).strip()
    if not text:
        return []
    lines: list[str] = []
    line = ""
    for token in _tokens(text):
        if width(line + token) <= cells:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = token.lstrip()
        while width(line) > cells:
            head = _head(line, cells)
            lines.append(head)
            line = line[len(head) :]
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> Iterator[str]:
    """Split into Latin words (with their leading space) and single wide characters."""
    word = ""
    for char in text:
        if char_width(char) == 2:
            if word:
                yield word
                word = ""
            yield char
        elif char == " " and word.strip():
            yield word
            word = char
        else:
            word += char
    if word:
        yield word


def _head(text: str, cells: int) -> str:
    used = 0
    for index, char in enumerate(text):
        used += char_width(char)
        if used > cells:
            return text[: max(index, 1)]
    return text


def pad(text: str, cells: int, align: str = "left") -> str:
    """Pad ``text`` with spaces to ``cells`` cells (truncating it if longer)."""
    text = truncate(text, cells)
    gap = cells - width(text)
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def columns(left: str, right: str, cells: int) -> str:
    """``left`` and ``right`` on one line of ``cells`` cells, ``right`` flush right."""
    right = truncate(right, cells)
    room = cells - width(right) - 1
    if room <= 0:
        return right
    return pad(truncate(left, room), room) + " " + right


def gb18030(text: str) -> bytes:
    """Encode ``text`` for a printer's GB18030 Chinese font (every Unicode character maps)."""
    return text.encode("gb18030", errors="replace")


def money(currency: str, amount: str, negative: bool = False) -> str:
    """Format a decimal-string amount with its currency sign, e.g. ``¥12.50`` or ``-¥1.00``."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return f"{currency}{amount}"
    if negative and value:
        value = -abs(value)
    sign = "-" if value < 0 else ""
    return f"{sign}{currency}{abs(value):.2f}"


def timestamp(iso: str) -> str:
    """Show an ISO 8601 time as ``YYYY-MM-DD HH:MM`` (as given, no zone conversion)."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return clean(iso)
