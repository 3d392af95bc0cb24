"""The CJK-capable font printer text is drawn with, and cached glyph masks.

Glyphs are ink masks (mode ``L``, 255 = ink) of an exact cell size, so the renderers can lay
text out on a fixed grid the way a printer's bitmap fonts do: half-width characters take one
cell, CJK and other full-width characters two.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

# (path, face index): monospaced faces first, so half-width glyphs fit a half cell.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 1),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 1),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
# FreeType faces are shared between connection threads; draw with one at a time.
_draw_lock = threading.Lock()


@lru_cache(maxsize=1)
def font_file() -> tuple[str, int] | None:
    """The first installed CJK font as (path, face index), or None with a warning."""
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            try:
                ImageFont.truetype(path, 24, index=index)
            except OSError:
                continue
            return path, index
    log.warning(
        "no CJK font found (install fonts-wqy-zenhei or fonts-wqy-microhei); "
        "Chinese text will print as boxes"
    )
    return None


@lru_cache(maxsize=64)
def font(size: int) -> Font:
    """The printer font at ``size`` pixels (Pillow's default font when no CJK font exists)."""
    found = font_file()
    if found is None:
        return ImageFont.load_default(size)
    path, index = found
    return ImageFont.truetype(path, size, index=index)


def cells(char: str) -> int:
    """How many half-width cells ``char`` takes: 2 for wide and full-width characters."""
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


@lru_cache(maxsize=8192)
def glyph(char: str, width: int, height: int, bold: bool = False) -> Image.Image:
    """An ink mask of ``char`` fitted into a ``width`` x ``height`` cell."""
    width, height = max(width, 1), max(height, 1)
    face = font(height)
    with _draw_lock:
        advance = int(face.getlength(char)) + (2 if bold else 0)
    draw_width = max(width, advance)
    mask = Image.new("L", (draw_width, height), 0)
    if not char.isspace():
        draw = ImageDraw.Draw(mask)
        center = (draw_width / 2, height / 2)
        with _draw_lock:
            draw.text(center, char, fill=255, font=face, anchor="mm")
            if bold:
                draw.text((center[0] + 1, center[1]), char, fill=255, font=face, anchor="mm")
    if draw_width != width:
        mask = mask.resize((width, height), Image.Resampling.BILINEAR)
    return mask


def text_mask(text: str, cell_width: int, height: int, bold: bool = False) -> Image.Image:
    """An ink mask of a line of text on a fixed grid of ``cell_width`` half-width cells."""
    total = sum(cells(char) for char in text) * cell_width
    mask = Image.new("L", (max(total, 1), max(height, 1)), 0)
    x = 0
    for char in text:
        width = cells(char) * cell_width
        mask.paste(glyph(char, width, height, bold), (x, 0))
        x += width
    return mask
