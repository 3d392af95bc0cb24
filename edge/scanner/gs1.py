"""GS1 element strings and GTIN/UPC check digits, on top of biip.

Everything here is pure: text in, data or `CodeRejected` out. biip is imported on first use
(it loads its GS1 tables: about 20 MB), so a service that never reads a code does not pay.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from edge.scanner.errors import CodeRejected

GS = "\x1d"
"""The ASCII group separator that stands for FNC1 inside a GS1 element string."""

_HRI = re.compile(r"^\(\d{2,4}\)")

# Where an unmarked numeric code is most likely a GS1-128 element string: AI (01) with a full
# GTIN-14, or AI (00) with a full SSCC.
_NUMERIC_GS1_PREFIXES = (("01", 16), ("00", 20))


def gtin_check_ok(digits: str) -> bool:
    """True when `digits` (8, 12, 13 or 14 ASCII digits) ends in a valid GS1 check digit."""
    if len(digits) not in (8, 12, 13, 14) or not _is_digits(digits):
        return False
    from biip.checksums import gs1_standard_check_digit

    return gs1_standard_check_digit(digits[:-1]) == int(digits[-1])


def upce_check_ok(digits: str) -> bool:
    """True for a valid UPC-E: 6 digits, or 7/8 with number system 0 or 1 (8: check digit)."""
    if len(digits) not in (6, 7, 8) or not _is_digits(digits):
        return False
    if len(digits) > 6 and digits[0] not in "01":
        return False
    from biip import BiipException
    from biip.upc import Upc

    try:
        Upc.parse(digits)
    except BiipException:
        return False
    return True


def looks_like_gs1(text: str) -> bool:
    """True when an unmarked code can only sensibly be read as a GS1 element string.

    That is: it contains a group separator, is written in GS1 HRI form ``(01)…``, or is a
    numeric string starting with AI (01) plus a GTIN-14 or AI (00) plus an SSCC.
    """
    if GS in text or _HRI.match(text):
        return True
    return any(
        text.startswith(ai) and len(text) >= length and _is_digits(text[:length])
        for ai, length in _NUMERIC_GS1_PREFIXES
    )


def parse_gs1(text: str) -> dict[str, Any]:
    """Parse a GS1 element string (FNC1 sent as GS) or a GS1 HRI string ``(01)…(17)…``.

    Returns ``{"gtin", "batch", "expiry", "serial", "sscc", "ais"}``: the first four are None
    when absent, ``expiry`` is an ISO date, ``ais`` maps every AI to its raw value. Raises
    `CodeRejected` when the string does not parse or a GTIN/SSCC/GLN check digit is wrong.
    """
    if not text.strip(GS):
        raise CodeRejected("empty GS1 element string")
    from biip import BiipException
    from biip.gs1_messages import GS1Message

    try:
        if text.startswith("("):
            message = GS1Message.parse_hri(text, config=_config())
        else:
            message = GS1Message.parse(text.lstrip(GS), config=_config())
    except (BiipException, ValueError) as err:
        raise CodeRejected(f"invalid GS1 element string: {err}") from err

    data: dict[str, Any] = {
        "gtin": None,
        "batch": None,
        "expiry": None,
        "serial": None,
        "sscc": None,
        "ais": {},
    }
    if not message.element_strings:
        raise CodeRejected(f"no GS1 element strings in {text!r}")
    for element in message.element_strings:
        ai = element.ai.ai
        for problem in (element.gtin_error, element.sscc_error, element.gln_error):
            if problem:
                raise CodeRejected(f"invalid GS1 AI ({ai}): {problem}")
        data["ais"][ai] = element.value
        if ai == "01" and element.gtin is not None:
            data["gtin"] = element.gtin.value
        elif ai == "00" and element.sscc is not None:
            data["sscc"] = element.sscc.value
        elif ai == "10":
            data["batch"] = element.value
        elif ai == "21":
            data["serial"] = element.value
        elif ai == "17" and element.date is not None:
            data["expiry"] = element.date.isoformat()
    return data


@functools.cache
def _config() -> Any:
    from biip import ParseConfig

    return ParseConfig(separator_chars=[GS])


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
