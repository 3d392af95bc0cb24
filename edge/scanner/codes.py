"""Hygiene for scanned codes: framing, control characters, length, symbology ids, check digits.

`check_code` turns whatever a scanner sent into a clean code, or raises `CodeRejected` with a
message that says what was wrong. It is pure and never raises anything else.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge.scanner.errors import CodeRejected
from edge.scanner.gs1 import GS, gtin_check_ok, looks_like_gs1, parse_gs1, upce_check_ok

if TYPE_CHECKING:
    from biip.symbology import ISOSymbology, SymbologyIdentifier

FRAMING = "\r\n\t"
"""Characters a scanner adds around a code (suffix/prefix) that are never part of it."""

DEFAULT_MAX_LENGTH = 512

EAN_UPC = frozenset({"EAN13", "EAN8", "UPCA", "UPCE"})
"""Symbologies whose check digit is validated."""


@functools.cache
def _iso_names() -> dict[ISOSymbology, str]:
    from biip.symbology import ISOSymbology

    return {
        ISOSymbology.CODE_39: "Code39",
        ISOSymbology.CODE_128: "Code128",
        ISOSymbology.DATA_MATRIX: "DataMatrix",
        ISOSymbology.RSS_EAN_UCC_COMPOSITE: "DataBar",
        ISOSymbology.CODABAR: "Codabar",
        ISOSymbology.CODE_93: "Code93",
        ISOSymbology.ITF: "ITF",
        ISOSymbology.PDF417: "PDF417",
        ISOSymbology.QR_CODE: "QRCode",
        ISOSymbology.AZTEC_CODE: "Aztec",
        ISOSymbology.MAXICODE: "MaxiCode",
    }


_EAN_LENGTHS = {8: "EAN8", 12: "UPCA", 13: "EAN13"}


@dataclass(frozen=True, slots=True)
class CodeRules:
    """How strictly codes are checked; one set per scanner."""

    max_length: int = DEFAULT_MAX_LENGTH
    gtin_check: bool = True
    """Treat unmarked 8/12/13-digit codes as EAN/UPC and reject a wrong check digit."""


@dataclass(frozen=True, slots=True)
class CheckedCode:
    """A code that passed hygiene."""

    code: str
    symbology: str | None
    gs1: dict[str, Any] | None
    aim: str | None = None
    """The AIM symbology identifier the scanner sent (e.g. ``]C1``), if any."""


def check_code(
    raw: str, *, symbology: str | None = None, rules: CodeRules = CodeRules()
) -> CheckedCode:
    """Clean and validate one scanned code.

    `symbology` is a hint from the source (the camera decoder knows the format); an AIM
    symbology identifier at the start of the code takes precedence over it.
    """
    text = raw.strip(FRAMING)
    if not text:
        raise CodeRejected("empty code")
    if len(text) > rules.max_length:
        raise CodeRejected(
            f"code is {len(text)} characters long, more than the maximum of {rules.max_length}"
        )
    _reject_bad_characters(text)
    from biip.symbology import GS1Symbology

    aim = _symbology_identifier(text)
    gs1_symbology: GS1Symbology | None = None
    if aim is not None:
        text = text[len(aim) :]
        if not text:
            raise CodeRejected(f"empty code after symbology identifier {aim.value}")
        symbology = _iso_names().get(aim.iso_symbology, symbology)
        gs1_symbology = aim.gs1_symbology

    gs1: dict[str, Any] | None = None
    if gs1_symbology in GS1Symbology.with_gs1_messages():
        gs1 = parse_gs1(text)
    elif gs1_symbology in (GS1Symbology.EAN_13, GS1Symbology.EAN_13_WITH_ADD_ON):
        symbology = _check_ean_upc(text[:13] if len(text) > 13 else text, None)
    elif gs1_symbology is GS1Symbology.EAN_8:
        symbology = _check_ean_upc(text, "EAN8")
    elif symbology in EAN_UPC:
        symbology = _check_ean_upc(text, symbology)
    elif looks_like_gs1(text):
        gs1 = parse_gs1(text)
    elif rules.gtin_check and symbology is None and len(text) in _EAN_LENGTHS and _digits(text):
        symbology = _check_ean_upc(text, None)
    if gs1 is not None:
        # A leading or trailing FNC1 sent as GS carries no data.
        text = text.strip(GS)
    return CheckedCode(
        code=text, symbology=symbology, gs1=gs1, aim=aim.value if aim is not None else None
    )


def _reject_bad_characters(text: str) -> None:
    for index, char in enumerate(text):
        if char == GS:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            raise CodeRejected(
                f"control character U+{ord(char):04X} at position {index}; only the GS1 "
                "group separator U+001D is allowed inside a code"
            )
        if category == "Cs" or char == "\ufffd":
            raise CodeRejected(
                f"undecodable bytes at position {index} (wrong baud rate or encoding?)"
            )


def _symbology_identifier(text: str) -> SymbologyIdentifier | None:
    """The AIM symbology identifier (``]`` + code character + modifier) at the start, if any."""
    if len(text) < 3 or text[0] != "]" or not (text[2].isascii() and text[2].isalnum()):
        return None
    from biip import BiipException
    from biip.symbology import SymbologyIdentifier

    try:
        return SymbologyIdentifier.extract(text)
    except (BiipException, ValueError, IndexError):
        return None


def _check_ean_upc(text: str, symbology: str | None) -> str:
    """Validate an EAN/UPC code's check digit and return its symbology name."""
    label = symbology or "EAN/UPC"
    if not _digits(text):
        raise CodeRejected(f"{label} code {text!r} must be digits only")
    short_upce = len(text) in (6, 7) and symbology in (None, "UPCE")
    if short_upce or (len(text) == 8 and symbology in (None, "UPCE") and not gtin_check_ok(text)):
        if upce_check_ok(text):
            return "UPCE"
        raise CodeRejected(f"wrong check digit in {symbology or 'EAN-8/UPC-E'} code {text!r}")
    name = _EAN_LENGTHS.get(len(text))
    if name is None:
        raise CodeRejected(f"{label} code {text!r} has {len(text)} digits")
    if not gtin_check_ok(text):
        raise CodeRejected(f"wrong check digit in {name} code {text!r} (misread?)")
    return symbology if symbology in EAN_UPC else name


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
