"""Barcodes and QR codes as ink masks (mode ``L``, 255 = ink).

Linear symbols become a module pattern (``"1"`` = bar module) first. Code 128 with ESC/POS's
``{A``/``{B``/``{C`` code-set controls is encoded here from the standard's symbol table, so the
printed bars follow the code sets the job asked for; the other symbologies come from
python-barcode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import qrcode
from barcode.charsets import code128 as code128_charset
from barcode.codabar import CODABAR
from barcode.codex import Code39, Code128, Gs1_128
from barcode.ean import EAN8, EAN13
from barcode.errors import BarcodeError
from barcode.itf import ITF
from barcode.upc import UPCA
from PIL import Image, ImageDraw
from qrcode.exceptions import DataOverflowError

from edge.emulator.errors import SymbolError
from edge.emulator.fonts import text_mask

log = logging.getLogger(__name__)

CODE128_START = {"A": 103, "B": 104, "C": 105}
CODE128_SWITCH = {"A": 101, "B": 100, "C": 99}
CODE128_STOP = code128_charset.STOP + "11"
# Symbologies drawn with narrow and wide elements rather than equal modules.
RATIO_SYMBOLOGIES = frozenset({"CODE39", "ITF", "CODABAR"})
QR_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


def _code128_value(byte: int, code_set: str) -> int | None:
    if code_set == "C":
        return byte if byte <= 99 else None
    if code_set == "A":
        if byte < 0x20:
            return byte + 64
        return byte - 32 if byte < 0x60 else None
    return byte - 32 if 0x20 <= byte < 0x80 else None


def code128_escpos(data: bytes) -> tuple[str, str]:
    """Module pattern and HRI text for ESC/POS ``GS k 73`` data with ``{X`` controls."""
    values: list[int] = []
    hri: list[str] = []
    code_set = ""
    shift = False
    i = 0
    while i < len(data):
        byte = data[i]
        control = data[i + 1] if byte == 0x7B and i + 1 < len(data) else None
        i += 2 if control is not None else 1
        if control is not None and chr(control) in CODE128_START:
            new_set = chr(control)
            if not code_set:
                values.append(CODE128_START[new_set])
            elif new_set != code_set:
                values.append(CODE128_SWITCH[new_set])
            code_set = new_set
            continue
        if not code_set:
            log.debug("CODE128 data without a code set; using code set B")
            code_set = "B"
            values.append(CODE128_START["B"])
        if control is not None and control != 0x7B:
            if control == ord("4"):
                value = {"A": 101, "B": 100}.get(code_set)
            else:
                value = {ord("1"): 102, ord("2"): 97, ord("3"): 96, ord("S"): 98}.get(control)
            if value is None or (code_set == "C" and value != 102):
                log.warning("CODE128: control {%s not valid in code set %s", chr(control), code_set)
                continue
            values.append(value)
            shift = value == 98
            continue
        active = {"A": "B", "B": "A"}.get(code_set, code_set) if shift else code_set
        shift = False
        value = _code128_value(byte, active)
        if value is None:
            log.warning("CODE128: byte 0x%02x not valid in code set %s; skipped", byte, active)
            continue
        values.append(value)
        hri.append(f"{byte:02d}" if active == "C" else chr(byte) if byte >= 0x20 else " ")
    if len(values) < 2:
        raise SymbolError("CODE128 data holds no characters")
    return code128_pattern(values), "".join(hri)


def code128_pattern(values: list[int]) -> str:
    """The module pattern of Code 128 symbol values (start code first), adding check and stop."""
    check = (values[0] + sum(i * value for i, value in enumerate(values[1:], 1))) % 103
    return "".join(code128_charset.CODES[v] for v in [*values, check]) + CODE128_STOP


def _digits(text: str, lengths: tuple[int, ...], name: str) -> str:
    if not text.isdigit() or len(text) not in lengths:
        raise SymbolError(f"{name} needs {' or '.join(map(str, lengths))} digits, got {text!r}")
    return text[: min(lengths)]


_FACTORIES: dict[str, Callable[[str], Any]] = {
    "EAN13": lambda text: EAN13(_digits(text, (12, 13), "EAN13")),
    "EAN8": lambda text: EAN8(_digits(text, (7, 8), "EAN8")),
    "UPCA": lambda text: UPCA(_digits(text, (11, 12), "UPC-A")),
    "CODE39": lambda text: Code39(text.strip("*"), add_checksum=False),
    "ITF": ITF,
    "CODABAR": CODABAR,
    "CODE128": Code128,
    "GS1-128": Gs1_128,
}


def linear_pattern(symbology: str, text: str) -> tuple[str, str]:
    """Module pattern and HRI text of ``text`` in ``symbology`` (``CODE128`` picks code sets)."""
    factory = _FACTORIES.get(symbology)
    if factory is None:
        raise SymbolError(f"barcode type {symbology} is not supported by the emulator")
    try:
        symbol = factory(text)
        return symbol.build()[0], symbol.get_fullcode()
    except (BarcodeError, ValueError, KeyError, IndexError) as err:
        raise SymbolError(f"{symbology} cannot encode {text!r}: {err}") from err


def bars_mask(pattern: str, height: int, narrow: int, wide: int | None = None) -> Image.Image:
    """Draw a module pattern; with ``wide``, runs longer than the shortest one are wide."""
    runs: list[tuple[str, int]] = []
    for module in pattern:
        if runs and runs[-1][0] == module:
            runs[-1] = (module, runs[-1][1] + 1)
        else:
            runs.append((module, 1))
    shortest = min((length for _, length in runs), default=1)
    widths = [
        (module, (narrow if length == shortest else wide) if wide else length * narrow)
        for module, length in runs
    ]
    mask = Image.new("L", (max(sum(w for _, w in widths), 1), max(height, 1)), 0)
    draw = ImageDraw.Draw(mask)
    x = 0
    for module, width in widths:
        if module == "1":
            draw.rectangle((x, 0, x + width - 1, height - 1), fill=255)
        x += width
    return mask


def with_hri(
    bars: Image.Image,
    text: str,
    cell: tuple[int, int],
    *,
    above: bool = False,
    below: bool = True,
    align: str = "center",
) -> Image.Image:
    """``bars`` with human-readable text above and/or below, aligned left, center or right."""
    if not text or not (above or below):
        return bars
    label = text_mask(text, cell[0], cell[1])
    width = max(bars.width, label.width)
    height = bars.height + cell[1] * (int(above) + int(below))
    out = Image.new("L", (width, height), 0)
    bars_x = (width - bars.width) // 2
    out.paste(bars, (bars_x, cell[1] if above else 0))
    label_x = {"left": bars_x, "right": bars_x + bars.width - label.width}.get(
        align, (width - label.width) // 2
    )
    label_x = max(label_x, 0)
    if above:
        out.paste(label, (label_x, 0))
    if below:
        out.paste(label, (label_x, height - cell[1]))
    return out


def qr_mask(data: bytes | str, module: int, level: str = "M") -> Image.Image:
    """A QR Code (model 2) without quiet zone, ``module`` dots per module."""
    if not data:
        raise SymbolError("QR code data is empty")
    code = qrcode.QRCode(error_correction=QR_LEVELS.get(level, QR_LEVELS["M"]), border=0)
    try:
        code.add_data(data)
        code.make(fit=True)
    except (DataOverflowError, ValueError) as err:
        raise SymbolError(f"QR code cannot hold {len(data)} bytes: {err}") from err
    matrix = code.get_matrix()
    size = len(matrix)
    mask = Image.new("L", (size, size), 0)
    mask.putdata([255 if cell else 0 for row in matrix for cell in row])
    scale = max(module, 1)
    return mask.resize((size * scale, size * scale), Image.Resampling.NEAREST)
