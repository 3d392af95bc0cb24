"""TSPL commands → label images at 203 dpi (8 dots per mm).

The label is drawn in design coordinates, as the job laid it out; ``DIRECTION`` only
mirrors when its second value is 1. ``PRINT m[,n]`` outputs m×n copies of the image buffer,
which stays as it is until ``CLS``. Bitmap fonts ``1``..``8`` and ``TSS24.BF2`` are drawn with
the emulator's CJK font at their cell sizes; Chinese fonts decode text as GB18030 (or Big5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PIL import Image, ImageChops, ImageDraw, ImageOps

from edge.emulator import barcodes
from edge.emulator.codepages import decode_text, tspl_codec
from edge.emulator.errors import SymbolError
from edge.emulator.fonts import cells, text_mask
from edge.emulator.graphics import rows_mask
from edge.emulator.tspl import QUOTE_ESCAPE, TsplCommand

log = logging.getLogger(__name__)

DOTS_PER_MM = 8
DOTS_PER_INCH = 203
MAX_LABEL_DOTS = 8000
MAX_COPIES = 100
BITMAP_FONTS = {
    "1": (8, 12),
    "2": (12, 20),
    "3": (16, 24),
    "4": (24, 32),
    "5": (32, 48),
    "6": (14, 19),
    "7": (21, 27),
    "8": (14, 25),
}
CHINESE_FONTS = {"TSS": "gb18030", "TST": "big5", "K": "cp949"}
BARCODE_TYPES = {
    "128": "CODE128",
    "128M": "CODE128",
    "EAN128": "GS1-128",
    "39": "CODE39",
    "39C": "CODE39",
    "39S": "CODE39",
    "EAN13": "EAN13",
    "EAN8": "EAN8",
    "UPCA": "UPCA",
    "25": "ITF",
    "25C": "ITF",
    "CODA": "CODABAR",
}
HRI_ALIGN = {1: "left", 2: "center", 3: "right"}
HRI_CELL = (12, 20)


def dots(arg: bytes) -> int:
    """A length argument: ``100 mm``, ``4`` (inches) or ``300 dot``."""
    text = arg.decode("latin-1").strip().lower()
    if text.endswith("mm"):
        return round(float(text[:-2]) * DOTS_PER_MM)
    if text.endswith("dot"):
        return round(float(text[:-3]))
    return round(float(text) * DOTS_PER_INCH)


def number(arg: bytes) -> int:
    return round(float(arg.decode("latin-1").strip().strip('"')))


def unquote(arg: bytes) -> bytes:
    arg = arg.strip()
    if len(arg) >= 2 and arg[:1] == b'"' and arg[-1:] == b'"':
        arg = arg[1:-1]
    return arg.replace(QUOTE_ESCAPE, b'"')


def rotated(mask: Image.Image, x: int, y: int, rotation: int) -> tuple[Image.Image, int, int]:
    """``mask`` turned clockwise about its top-left corner at (x, y); returns its new box."""
    turn = rotation % 360
    if turn == 90:
        mask = mask.transpose(Image.Transpose.ROTATE_270)
        return mask, x - mask.width, y
    if turn == 180:
        mask = mask.transpose(Image.Transpose.ROTATE_180)
        return mask, x - mask.width, y - mask.height
    if turn == 270:
        mask = mask.transpose(Image.Transpose.ROTATE_90)
        return mask, x, y - mask.height
    return mask, x, y


class Label:
    """Applies TSPL commands to a label image buffer; collects printed labels."""

    def __init__(self) -> None:
        self.width, self.height = 100 * DOTS_PER_MM, 150 * DOTS_PER_MM
        self.gap = 2 * DOTS_PER_MM
        self.mirror = False
        self.origin = (0, 0)
        self.codec = "cp437"
        self.pages: list[Image.Image] = []
        self.drawn = False
        self._canvas = Image.new("L", (self.width, self.height), 255)
        self._handlers: dict[str, Callable[[tuple[bytes, ...], bytes], None]] = {
            "SIZE": self._size,
            "GAP": self._gap,
            "DIRECTION": self._direction,
            "REFERENCE": self._reference,
            "CLS": lambda a, d: self.clear(),
            "CODEPAGE": self._codepage,
            "TEXT": self._text,
            "BLOCK": self._block,
            "BARCODE": self._barcode,
            "QRCODE": self._qrcode,
            "BOX": self._box,
            "BAR": self._bar,
            "REVERSE": self._reverse,
            "ERASE": self._erase,
            "CIRCLE": self._circle,
            "BITMAP": self._bitmap,
            "PRINT": self._print,
        }

    @property
    def length(self) -> int:
        """Paper used per label: label height plus gap, in dots."""
        return self.height + self.gap

    def apply(self, command: TsplCommand) -> None:
        """Apply one command; settings commands and unknown ones are ignored."""
        handler = self._handlers.get(command.name)
        if handler is None:
            log.debug("TSPL %s ignored", command.name)
            return
        try:
            handler(command.args, command.data)
        except (ValueError, IndexError) as err:
            log.warning("TSPL %s ignored, bad arguments %r: %s", command.name, command.args, err)

    def take_pages(self) -> list[Image.Image]:
        pages, self.pages = self.pages, []
        return pages

    def clear(self) -> None:
        self._canvas = Image.new("L", (self.width, self.height), 255)
        self.drawn = False

    def snapshot(self) -> Image.Image:
        """The image buffer as a 1-bit label."""
        page = ImageOps.mirror(self._canvas) if self.mirror else self._canvas
        return page.convert("1", dither=Image.Dither.NONE)

    # Drawing helpers --------------------------------------------------------------------

    def _paste(self, mask: Image.Image, x: int, y: int, rotation: int = 0) -> None:
        mask, left, top = rotated(mask, x + self.origin[0], y + self.origin[1], rotation)
        self._canvas.paste(0, (left, top), mask)
        self.drawn = True

    def _draw(self) -> ImageDraw.ImageDraw:
        self.drawn = True
        return ImageDraw.Draw(self._canvas)

    def _box_of(self, args: tuple[bytes, ...]) -> tuple[int, int, int, int]:
        x, y, width, height = (number(arg) for arg in args[:4])
        x, y = x + self.origin[0], y + self.origin[1]
        return x, y, x + width - 1, y + height - 1

    def _decode(self, raw: bytes, font: str) -> str:
        for prefix, codec in CHINESE_FONTS.items():
            if font.upper().startswith(prefix) and font.upper().endswith(".BF2"):
                return raw.decode(codec, errors="replace")
        return decode_text(raw, self.codec)

    def _text_mask(self, text: str, font: str, x_mul: int, y_mul: int) -> Image.Image:
        if font in BITMAP_FONTS:
            cell_w, cell_h = BITMAP_FONTS[font]
        elif font.upper().endswith(".BF2"):
            cell_w, cell_h = 12, 24
        else:
            cell_h = max(round(y_mul * DOTS_PER_INCH / 72), 8)
            cell_w, x_mul, y_mul = max(round(x_mul * DOTS_PER_INCH / 72) // 2, 4), 1, 1
        mask = text_mask(text, cell_w, cell_h)
        x_mul, y_mul = min(max(x_mul, 1), 10), min(max(y_mul, 1), 10)
        if x_mul > 1 or y_mul > 1:
            mask = mask.resize((mask.width * x_mul, mask.height * y_mul), Image.Resampling.NEAREST)
        return mask

    # Commands ---------------------------------------------------------------------------

    def _size(self, args: tuple[bytes, ...], data: bytes) -> None:
        width = dots(args[0])
        height = dots(args[1]) if len(args) > 1 else self.height
        if not (0 < width <= MAX_LABEL_DOTS and 0 < height <= MAX_LABEL_DOTS):
            raise ValueError(f"label size {width}x{height} dots out of range")
        self.width, self.height = width, height
        self.clear()

    def _gap(self, args: tuple[bytes, ...], data: bytes) -> None:
        self.gap = max(dots(args[0]), 0)

    def _direction(self, args: tuple[bytes, ...], data: bytes) -> None:
        self.mirror = len(args) > 1 and number(args[1]) == 1

    def _reference(self, args: tuple[bytes, ...], data: bytes) -> None:
        self.origin = (number(args[0]), number(args[1]))

    def _codepage(self, args: tuple[bytes, ...], data: bytes) -> None:
        self.codec = tspl_codec(args[0].decode("latin-1"))

    def _text(self, args: tuple[bytes, ...], data: bytes) -> None:
        x, y = number(args[0]), number(args[1])
        font = unquote(args[2]).decode("latin-1")
        rotation, x_mul, y_mul = number(args[3]), number(args[4]), number(args[5])
        align = number(args[6]) if len(args) > 7 else 0
        text = self._decode(unquote(args[-1]), font)
        mask = self._text_mask(text, font, x_mul, y_mul)
        x -= {2: mask.width // 2, 3: mask.width}.get(align, 0)
        self._paste(mask, x, y, rotation)

    def _block(self, args: tuple[bytes, ...], data: bytes) -> None:
        x, y, width, height = (number(arg) for arg in args[:4])
        font = unquote(args[4]).decode("latin-1")
        rotation, x_mul, y_mul = number(args[5]), number(args[6]), number(args[7])
        extra = [number(arg) for arg in args[8:-1]]
        space = extra[0] if len(extra) >= 2 else 0
        align = extra[1] if len(extra) >= 2 else extra[0] if extra else 0
        text = self._decode(unquote(args[-1]), font)
        lines = self._wrap(text, font, x_mul, y_mul, width)
        block = Image.new("L", (max(width, 1), max(height, 1)), 0)
        top = 0
        for line in lines:
            mask = self._text_mask(line, font, x_mul, y_mul)
            left = {2: (width - mask.width) // 2, 3: width - mask.width}.get(align, 0)
            block.paste(mask, (max(left, 0), top))
            top += mask.height + space
        self._paste(block, x, y, rotation)

    def _wrap(self, text: str, font: str, x_mul: int, y_mul: int, width: int) -> list[str]:
        cell = max(self._text_mask("0", font, x_mul, y_mul).width, 1)
        lines: list[str] = []
        for paragraph in text.replace("\\[L]", "\n").split("\n"):
            line = ""
            for char in paragraph:
                if line and sum(cells(c) for c in line + char) * cell > width:
                    cut = line.rfind(" ")
                    if char != " " and cut > 0:
                        lines.append(line[:cut])
                        line = line[cut + 1 :]
                    else:
                        lines.append(line)
                        line = ""
                    if char == " ":
                        continue
                line += char
            lines.append(line)
        return lines

    def _barcode(self, args: tuple[bytes, ...], data: bytes) -> None:
        x, y = number(args[0]), number(args[1])
        kind = unquote(args[2]).decode("latin-1").upper()
        height, readable, rotation = number(args[3]), number(args[4]), number(args[5])
        narrow, wide = max(number(args[6]), 1), max(number(args[7]), 1)
        symbology = BARCODE_TYPES.get(kind, kind)
        text = unquote(args[-1]).decode("latin-1")
        try:
            pattern, hri = barcodes.linear_pattern(symbology, text)
        except SymbolError as err:
            log.warning("TSPL barcode not printed: %s", err)
            return
        ratio = wide if symbology in barcodes.RATIO_SYMBOLOGIES else None
        bars = barcodes.bars_mask(pattern, height, narrow, ratio)
        align = HRI_ALIGN.get(readable, "")
        mask = barcodes.with_hri(bars, hri, HRI_CELL, below=bool(align), align=align)
        self._paste(mask, x, y, rotation)

    def _qrcode(self, args: tuple[bytes, ...], data: bytes) -> None:
        x, y = number(args[0]), number(args[1])
        level = unquote(args[2]).decode("latin-1").upper()[:1]
        cell, mode, rotation = number(args[3]), unquote(args[4]).upper(), number(args[5])
        content = unquote(args[-1])
        if mode == b"M" and content[:1] in (b"A", b"N", b"K"):
            content = content[1:]
        elif mode == b"M" and content[:1] == b"B":
            content = content[5:]
        try:
            mask = barcodes.qr_mask(content, min(max(cell, 1), 10), level)
        except SymbolError as err:
            log.warning("TSPL QR code not printed: %s", err)
            return
        self._paste(mask, x, y, rotation)

    def _box(self, args: tuple[bytes, ...], data: bytes) -> None:
        x, y, x_end, y_end, thickness = (number(arg) for arg in args[:5])
        radius = number(args[5]) if len(args) > 5 else 0
        dx, dy = self.origin
        box = (x + dx, y + dy, x_end + dx, y_end + dy)
        self._draw().rounded_rectangle(box, radius, outline=0, width=max(thickness, 1))

    def _bar(self, args: tuple[bytes, ...], data: bytes) -> None:
        self._draw().rectangle(self._box_of(args), fill=0)

    def _erase(self, args: tuple[bytes, ...], data: bytes) -> None:
        self._draw().rectangle(self._box_of(args), fill=255)

    def _reverse(self, args: tuple[bytes, ...], data: bytes) -> None:
        left, top, right, bottom = self._box_of(args)
        region = self._canvas.crop((left, top, right + 1, bottom + 1))
        self._canvas.paste(ImageOps.invert(region), (left, top))
        self.drawn = True

    def _circle(self, args: tuple[bytes, ...], data: bytes) -> None:
        x, y, diameter, thickness = (number(arg) for arg in args[:4])
        x, y = x + self.origin[0], y + self.origin[1]
        box = (x, y, x + diameter - 1, y + diameter - 1)
        self._draw().ellipse(box, outline=0, width=max(thickness, 1))

    def _bitmap(self, args: tuple[bytes, ...], data: bytes) -> None:
        x, y, width_bytes, height, mode = (number(arg) for arg in args[:5])
        mask = rows_mask(width_bytes, height, data, ink_bit=0)
        if mask is None:
            return
        x, y = x + self.origin[0], y + self.origin[1]
        if mode == 0:
            self._canvas.paste(ImageOps.invert(mask), (x, y))
        elif mode == 2:
            region = self._canvas.crop((x, y, x + mask.width, y + mask.height))
            self._canvas.paste(ImageChops.difference(region, mask), (x, y))
        else:
            self._canvas.paste(0, (x, y), mask)
        self.drawn = True

    def _print(self, args: tuple[bytes, ...], data: bytes) -> None:
        sets = number(args[0]) if args else 1
        copies = number(args[1]) if len(args) > 1 else 1
        count = max(sets, 0) * max(copies, 1)
        if count > MAX_COPIES:
            log.warning("PRINT %d labels limited to %d", count, MAX_COPIES)
            count = MAX_COPIES
        page = self.snapshot()
        self.pages.extend(page.copy() for _ in range(count))
