"""ESC/POS tokens → receipt pages, laid out the way a thermal receipt printer does.

Text collects in a line buffer and prints at LF (or when the line is full), aligned as set
when the line began; characters of different sizes share the line's baseline. Font A is
12×24 dots, font B 9×17, CJK characters two cells wide. Barcodes, QR codes and raster
images print at once on their own lines. A cut (``GS V``) ends a page.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import replace

from PIL import Image

from edge.emulator import barcodes
from edge.emulator.codepages import decode_text, escpos_codec
from edge.emulator.errors import RenderError, SymbolError
from edge.emulator.escpos import Token
from edge.emulator.graphics import bit_column_mask, graphics_mask, raster_mask
from edge.emulator.modes import DEFAULT_LINE_SPACING, FONT_A, FONT_B, PrintModes, styled_glyph

log = logging.getLogger(__name__)

DOTS_PER_INCH = 203
MAX_PAGE_DOTS = 32_000
MIN_WIDTH, MAX_WIDTH = 64, 4096
BARCODE_TYPES = {
    0: "UPCA",
    65: "UPCA",
    1: "UPCE",
    66: "UPCE",
    2: "EAN13",
    67: "EAN13",
    3: "EAN8",
    68: "EAN8",
    4: "CODE39",
    69: "CODE39",
    5: "ITF",
    70: "ITF",
    6: "CODABAR",
    71: "CODABAR",
    72: "CODE93",
    73: "CODE128",
    74: "GS1-128",
}
QR_LEVELS = {48: "L", 49: "M", 50: "Q", 51: "H"}


class Receipt:
    """Applies ESC/POS tokens to a roll of ``width_dots`` printable dots; collects cut pages."""

    def __init__(self, width_dots: int = 576) -> None:
        if not MIN_WIDTH <= width_dots <= MAX_WIDTH:
            raise RenderError(f"width_dots must be {MIN_WIDTH}..{MAX_WIDTH}, got {width_dots}")
        self.width = width_dots
        self.modes = PrintModes()
        self.pages: list[Image.Image] = []
        self._canvas = Image.new("L", (width_dots, 1024), 255)
        self.y = 0
        self._inked = False
        self._line: list[tuple[int, Image.Image]] = []
        self._line_x = 0
        self._line_align: int | None = None
        self._qr_data = b""
        self._graphics: Image.Image | None = None
        self._handlers: dict[str, Callable[[Token], None]] = {
            "text": self._text,
            "LF": self._line_feed,
            "FF": self._line_feed,
            "HT": self._tab,
            "ESC @": self._reset,
            "ESC !": self._print_mode,
            "ESC E": self._set("bold", lambda n: bool(n & 1)),
            "ESC G": self._set("bold", lambda n: bool(n & 1)),
            "ESC -": self._set("underline", lambda n: n & 3 if n & 3 < 3 else 0),
            "ESC a": self._set("align", lambda n: n & 3 if n & 3 < 3 else 0),
            "ESC M": self._set("font_b", lambda n: bool(n & 3)),
            "ESC {": self._set("upside_down", lambda n: bool(n & 1)),
            "ESC V": self._set("rotated", lambda n: n in (1, 2, 49, 50)),
            "ESC 3": self._set("line_spacing", int),
            "ESC +": self._set("line_spacing", lambda n: round(n * DOTS_PER_INCH / 360)),
            "ESC A": self._set("line_spacing", lambda n: round(n * DOTS_PER_INCH / 60)),
            "ESC 2": lambda t: self._change(line_spacing=DEFAULT_LINE_SPACING),
            "ESC t": self._set("codepage", int),
            "ESC SP": self._set("char_spacing", int),
            "ESC $": self._absolute,
            "ESC \\": self._relative,
            "ESC D": self._tabs,
            "ESC d": self._feed_lines,
            "ESC J": self._feed_dots,
            "ESC i": lambda t: self.cut(),
            "ESC m": lambda t: self.cut(),
            "GS !": self._size,
            "GS B": self._set("reverse", lambda n: bool(n & 1)),
            "GS f": self._set("hri_font_b", lambda n: bool(n & 1)),
            "GS H": self._set("hri", lambda n: n & 3),
            "GS h": self._set("bar_height", lambda n: max(n, 1)),
            "GS w": self._set("bar_width", lambda n: min(max(n, 1), 6)),
            "GS L": lambda t: self._change(left_margin=t.args[0] | t.args[1] << 8),
            "GS W": lambda t: self._change(area_width=t.args[0] | t.args[1] << 8),
            "GS V": self._cut_command,
            "GS v 0": self._raster,
            "ESC *": self._bit_image,
            "GS k": self._barcode,
            "GS (": self._extended,
            "GS 8": self._graphics_data,
            "FS &": lambda t: self._change(chinese=True),
            "FS .": lambda t: self._change(chinese=False),
        }

    # Public API -------------------------------------------------------------------------

    def apply(self, token: Token) -> None:
        """Apply one token; commands a receipt does not draw are ignored."""
        handler = self._handlers.get(token.op)
        if handler is None:
            log.debug("%s ignored", token.op)
            return
        handler(token)

    def cut(self) -> None:
        """End the current page (printing any pending line first)."""
        self._print_line(advance=False)
        if self._inked:
            self.pages.append(self.snapshot())
        else:
            log.debug("cut of an empty page ignored")
        self._canvas = Image.new("L", (self.width, 1024), 255)
        self.y = 0
        self._inked = False

    def finish(self) -> None:
        """End of the job stream: print what is pending as a last page."""
        self.cut()

    def take_pages(self) -> list[Image.Image]:
        pages, self.pages = self.pages, []
        return pages

    @property
    def inked(self) -> bool:
        """Whether the current page has anything printed on it yet."""
        return self._inked or any(mask.getbbox() for _, mask in self._line)

    def snapshot(self, height: int | None = None) -> Image.Image:
        """The current page so far as a 1-bit image, optionally cut to ``height`` dots."""
        end = max(min(self.y, height) if height is not None else self.y, 1)
        self._ensure(end)
        page = self._canvas.crop((0, 0, self.width, end))
        return page.convert("1", dither=Image.Dither.NONE)

    # Layout -----------------------------------------------------------------------------

    def _area(self) -> tuple[int, int]:
        left = min(self.modes.left_margin, self.width - 1)
        width = self.modes.area_width or self.width
        return left, max(min(width, self.width - left), 1)

    def _ensure(self, bottom: int) -> None:
        if bottom <= self._canvas.height:
            return
        grown = Image.new("L", (self.width, max(bottom, self._canvas.height * 2)), 255)
        grown.paste(self._canvas, (0, 0))
        self._canvas = grown

    def _advance(self, dots: int) -> None:
        self.y += max(dots, 0)
        if self.y > MAX_PAGE_DOTS:
            log.warning("page longer than %d dots; cutting it", MAX_PAGE_DOTS)
            self.y = MAX_PAGE_DOTS
            self.cut()

    def _paste(self, mask: Image.Image, x: int, y: int) -> None:
        self._ensure(y + mask.height)
        self._canvas.paste(0, (x, y), mask)
        if mask.getbbox():
            self._inked = True

    def _aligned_x(self, width: int, align: int) -> int:
        left, area = self._area()
        return left + max({1: (area - width) // 2, 2: area - width}.get(align, 0), 0)

    def _add_item(self, mask: Image.Image, spacing: int = 0) -> None:
        _, area = self._area()
        if self._line and self._line_x + mask.width > area:
            self._print_line()
        if self._line_align is None:
            self._line_align = self.modes.align
        if mask.width > area:
            mask = mask.crop((0, 0, area, mask.height))
        self._line.append((self._line_x, mask))
        self._line_x += mask.width + spacing

    def _print_line(self, advance: bool = True) -> None:
        height = max((mask.height for _, mask in self._line), default=0)
        if self._line:
            right = max(x + mask.width for x, mask in self._line)
            offset = self._aligned_x(right, self._line_align or 0)
            for x, mask in self._line:
                self._paste(mask, offset + x, self.y + height - mask.height)
        if advance:
            self._advance(max(self.modes.line_spacing, height))
        else:
            self._advance(height)
        self._line, self._line_x, self._line_align = [], 0, None

    def _place(self, mask: Image.Image) -> None:
        """Print a block (barcode, QR, raster image) on its own line, aligned."""
        if self._line:
            self._print_line()
        _, area = self._area()
        if mask.width > area:
            mask = mask.crop((0, 0, area, mask.height))
        self._paste(mask, self._aligned_x(mask.width, self.modes.align), self.y)
        self._advance(mask.height)

    # Modes ------------------------------------------------------------------------------

    def _change(self, **changes: object) -> None:
        self.modes = replace(self.modes, **changes)  # type: ignore[arg-type]

    def _set(self, name: str, convert: Callable[[int], object]) -> Callable[[Token], None]:
        def handler(token: Token) -> None:
            if token.args:
                self._change(**{name: convert(token.args[0])})

        return handler

    def _reset(self, token: Token) -> None:
        self.modes = PrintModes()
        self._line, self._line_x, self._line_align = [], 0, None

    def _print_mode(self, token: Token) -> None:
        n = token.args[0]
        self._change(
            font_b=bool(n & 0x01),
            bold=bool(n & 0x08),
            height=2 if n & 0x10 else 1,
            width=2 if n & 0x20 else 1,
            underline=1 if n & 0x80 else 0,
        )

    def _size(self, token: Token) -> None:
        n = token.args[0]
        self._change(width=(n >> 4 & 7) + 1, height=(n & 7) + 1)

    # Text -------------------------------------------------------------------------------

    def _text(self, token: Token) -> None:
        modes = self.modes
        text = decode_text(token.data, escpos_codec(modes.codepage), modes.chinese)
        spacing = modes.char_spacing * modes.width
        for char in text:
            if unicodedata.category(char)[0] != "C":
                self._add_item(styled_glyph(char, modes), spacing)

    def _column_width(self) -> int:
        cell_w = (FONT_B if self.modes.font_b else FONT_A)[0]
        return cell_w * self.modes.width + self.modes.char_spacing

    def _line_feed(self, token: Token) -> None:
        self._print_line()

    def _tab(self, token: Token) -> None:
        column = self._column_width()
        for stop in self.modes.tabs:
            if stop * column > self._line_x:
                if stop * column < self._area()[1]:
                    self._line_x = stop * column
                    if self._line_align is None:
                        self._line_align = self.modes.align
                return

    def _tabs(self, token: Token) -> None:
        stops = sorted(set(token.data))
        self._change(tabs=tuple(stop for stop in stops if stop > 0))

    def _absolute(self, token: Token) -> None:
        position = token.args[0] | token.args[1] << 8
        if position < self._area()[1]:
            self._line_x = position

    def _relative(self, token: Token) -> None:
        offset = token.args[0] | token.args[1] << 8
        offset = offset - 0x10000 if offset & 0x8000 else offset
        if 0 <= self._line_x + offset < self._area()[1]:
            self._line_x += offset

    def _feed_lines(self, token: Token) -> None:
        count = token.args[0]
        self._print_line(advance=count > 0)
        for _ in range(count - 1):
            self._advance(self.modes.line_spacing)

    def _feed_dots(self, token: Token) -> None:
        height = max((mask.height for _, mask in self._line), default=0)
        self._print_line(advance=False)
        self._advance(max(token.args[0] - height, 0))

    def _cut_command(self, token: Token) -> None:
        if len(token.args) > 1:
            self._print_line(advance=False)
            self._advance(token.args[1])
        self.cut()

    # Images and symbols -----------------------------------------------------------------

    def _raster(self, token: Token) -> None:
        mask = raster_mask(token.args, token.data)
        if mask is not None:
            self._place(mask)

    def _bit_image(self, token: Token) -> None:
        mask = bit_column_mask(token.args[0], token.data)
        if mask is not None:
            self._add_item(mask)

    def _graphics_data(self, token: Token) -> None:
        data = token.data
        if len(data) < 2 or token.args[:1] != b"L":
            log.debug("graphics command %r ignored", token.args[:1])
            return
        if data[1] in (0x70, 0x71):
            self._graphics = graphics_mask(data)
        elif data[1] in (0x02, 0x32) and self._graphics is not None:
            self._place(self._graphics)
        else:
            log.debug("graphics function 0x%02x ignored", data[1])

    def _extended(self, token: Token) -> None:
        if token.args[:1] == b"k":
            self._qr(token.data)
        elif token.args[:1] == b"L":
            self._graphics_data(token)
        else:
            log.debug("GS ( %r ignored", token.args[:1])

    def _qr(self, data: bytes) -> None:
        if len(data) < 2 or data[0] != 49:
            log.debug("2D symbol other than QR (cn=%r) ignored", data[:1])
            return
        function, params = data[1], data[2:]
        if function == 67 and params:
            self._change(qr_module=min(max(params[0], 1), 16))
        elif function == 69 and params:
            self._change(qr_level=QR_LEVELS.get(params[0], "M"))
        elif function == 80:
            self._qr_data = bytes(params[1:])
        elif function == 81:
            try:
                mask = barcodes.qr_mask(self._qr_data, self.modes.qr_module, self.modes.qr_level)
            except SymbolError as err:
                log.warning("QR code not printed: %s", err)
                return
            self._place(mask)

    def _barcode(self, token: Token) -> None:
        symbology = BARCODE_TYPES.get(token.args[0], f"#{token.args[0]}")
        modes = self.modes
        try:
            if symbology == "CODE128":
                pattern, hri = barcodes.code128_escpos(token.data)
            else:
                pattern, hri = barcodes.linear_pattern(symbology, token.data.decode("latin-1"))
        except SymbolError as err:
            log.warning("barcode not printed: %s", err)
            return
        ratio = symbology in barcodes.RATIO_SYMBOLOGIES
        wide = round(modes.bar_width * 2.5 + 0.1) if ratio else None
        bars = barcodes.bars_mask(pattern, modes.bar_height, modes.bar_width, wide)
        if bars.width > self._area()[1]:
            log.warning(
                "%s barcode is %d dots wide, wider than the print area; not printed",
                symbology,
                bars.width,
            )
            return
        cell = FONT_B if modes.hri_font_b else FONT_A
        above, below = modes.hri in (1, 3), modes.hri in (2, 3)
        mask = barcodes.with_hri(bars, hri, cell, above=above, below=below)
        self._place(mask)
