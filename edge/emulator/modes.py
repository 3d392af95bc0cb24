"""ESC/POS print modes (what ``ESC @`` resets) and the character masks drawn in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageDraw, ImageOps

from edge.emulator.fonts import cells, glyph

FONT_A = (12, 24)
FONT_B = (9, 17)
DEFAULT_LINE_SPACING = 30


@dataclass(frozen=True)
class PrintModes:
    """The printer settings that ``ESC @`` resets."""

    font_b: bool = False
    bold: bool = False
    underline: int = 0
    width: int = 1
    height: int = 1
    reverse: bool = False
    upside_down: bool = False
    rotated: bool = False
    align: int = 0
    line_spacing: int = DEFAULT_LINE_SPACING
    codepage: int = 0
    chinese: bool = False
    char_spacing: int = 0
    left_margin: int = 0
    area_width: int = 0
    tabs: tuple[int, ...] = field(default=tuple(range(8, 256, 8)))
    hri: int = 0
    hri_font_b: bool = False
    bar_height: int = 162
    bar_width: int = 3
    qr_module: int = 3
    qr_level: str = "M"


@dataclass(frozen=True)
class _GlyphStyle:
    """The print modes that change how a character looks (the glyph cache key)."""

    font_b: bool
    bold: bool
    underline: int
    width: int
    height: int
    reverse: bool
    upside_down: bool
    rotated: bool


def styled_glyph(char: str, modes: PrintModes) -> Image.Image:
    """The ink mask of one character in the given print modes."""
    style = _GlyphStyle(
        modes.font_b,
        modes.bold,
        modes.underline,
        modes.width,
        modes.height,
        modes.reverse,
        modes.upside_down,
        modes.rotated,
    )
    return _styled_glyph(char, style)


@lru_cache(maxsize=4096)
def _styled_glyph(char: str, modes: _GlyphStyle) -> Image.Image:
    cell_w, cell_h = FONT_B if modes.font_b else FONT_A
    mask = glyph(char, cells(char) * cell_w, cell_h, modes.bold)
    if modes.rotated:
        mask = mask.transpose(Image.Transpose.ROTATE_270)
    if modes.width > 1 or modes.height > 1:
        size = (mask.width * modes.width, mask.height * modes.height)
        mask = mask.resize(size, Image.Resampling.NEAREST)
    if modes.underline and not modes.reverse:
        mask = mask.copy()
        bottom = mask.height - 1
        ImageDraw.Draw(mask).rectangle((0, bottom - modes.underline + 1, mask.width, bottom), 255)
    if modes.reverse:
        mask = ImageOps.invert(mask)
    if modes.upside_down:
        mask = mask.transpose(Image.Transpose.ROTATE_180)
    return mask
