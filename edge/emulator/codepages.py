"""Character code tables: ESC/POS ``ESC t`` pages, TSPL ``CODEPAGE`` names, GB18030 text.

python-escpos sends text containing Chinese as raw GB18030 without selecting a code page, so
text is decoded as GB18030 when Chinese mode (``FS &``) is on, when a whole run of text is valid
GB18030 with at least one ideograph, and otherwise character by character where a byte sequence
is a GB2312 double byte or a GB18030 four-byte sequence (how ``¥`` arrives).
"""

from __future__ import annotations

import codecs
import logging
from functools import lru_cache

log = logging.getLogger(__name__)

DEFAULT_CODEPAGE = 0

# ESC t n → Python codec, after the Epson table that python-escpos' default profile uses.
ESCPOS_CODEPAGES: dict[int, str] = {
    0: "cp437",
    1: "shift_jis",
    2: "cp850",
    3: "cp860",
    4: "cp863",
    5: "cp865",
    13: "cp857",
    14: "cp737",
    15: "iso8859_7",
    16: "cp1252",
    17: "cp866",
    18: "cp852",
    19: "cp858",
    21: "cp874",
    32: "cp720",
    33: "cp775",
    34: "cp855",
    35: "cp861",
    36: "cp862",
    37: "cp864",
    38: "cp869",
    39: "iso8859_2",
    40: "iso8859_15",
    44: "cp1125",
    45: "cp1250",
    46: "cp1251",
    47: "cp1253",
    48: "cp1254",
    49: "cp1255",
    50: "cp1256",
    51: "cp1257",
    52: "cp1258",
}

# TSPL CODEPAGE values that are not plain "cpNNN" or "8859-N".
TSPL_CODEPAGES: dict[str, str] = {
    "UTF-8": "utf-8",
    "936": "gb18030",
    "950": "big5",
    "949": "cp949",
    "932": "cp932",
}


def escpos_codec(table: int) -> str:
    """The codec for ESC/POS code table ``table`` (CP437 for tables not known here)."""
    codec = ESCPOS_CODEPAGES.get(table)
    if codec is None:
        log.debug("code table %d not known; using CP437", table)
        return "cp437"
    return codec


def tspl_codec(name: str) -> str:
    """The codec for a TSPL ``CODEPAGE`` value such as ``437``, ``1252``, ``8859-1``, ``UTF-8``."""
    name = name.strip().strip('"').upper()
    if name in TSPL_CODEPAGES:
        return TSPL_CODEPAGES[name]
    candidate = f"iso{name.replace('-', '_')}" if name.startswith("8859") else f"cp{name}"
    try:
        return codecs.lookup(candidate).name
    except LookupError:
        log.warning("TSPL code page %r not known; using CP437", name)
        return "cp437"


@lru_cache(maxsize=64)
def _byte_table(codec: str) -> tuple[str, ...]:
    table = []
    for value in range(256):
        try:
            table.append(bytes((value,)).decode(codec))
        except UnicodeDecodeError:
            table.append("\ufffd")
    return tuple(table)


def _is_hanzi(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3134F


def _gb18030_at(data: bytes, i: int) -> tuple[str, int] | None:
    """A GB18030 character at ``data[i]`` that cannot be mistaken for code-page text."""
    lead = data[i]
    if i + 3 < len(data) and 0x30 <= data[i + 1] <= 0x39 and 0x30 <= data[i + 3] <= 0x39:
        size = 4
    elif 0xA1 <= lead <= 0xF7 and i + 1 < len(data) and 0xA1 <= data[i + 1] <= 0xFE:
        size = 2
    else:
        return None
    try:
        return data[i : i + size].decode("gb18030"), size
    except UnicodeDecodeError:
        return None


def decode_text(data: bytes, codec: str = "cp437", chinese: bool = False) -> str:
    """Decode printer text bytes with ``codec``, recognising GB18030 as described above."""
    if chinese or codec == "gb18030":
        return data.decode("gb18030", errors="replace")
    if data.isascii():
        return data.decode("ascii")
    if codec in ("utf-8", "big5", "cp949", "cp932"):
        return data.decode(codec, errors="replace")
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        pass
    else:
        if any(_is_hanzi(char) for char in text):
            return text
    table = _byte_table(codec)
    out: list[str] = []
    i = 0
    while i < len(data):
        if data[i] >= 0x80:
            found = _gb18030_at(data, i)
            if found is not None:
                out.append(found[0])
                i += found[1]
                continue
        out.append(table[data[i]])
        i += 1
    return "".join(out)
