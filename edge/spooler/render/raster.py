"""Raster images for ESC/POS printers: text drawn with a CJK font, and the GS v 0 command.

Used for printers without a Chinese font (``cjk = "raster"``) and for barcodes and QR codes on
printers whose profile lacks them. Text is drawn on the same cell grid as the printer's own font
(12×24 dots per Latin character, 24×24 per CJK character), so raster lines line up with text
lines in columns.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from edge.spooler.errors import RenderError
from edge.spooler.render import text as textmod

log = logging.getLogger(__name__)

GS = b"\x1d"
#: Rows per GS v 0 command; taller images are sent in bands.
BAND_ROWS = 960
CELL_W, CELL_H = 12, 24

_FONT_DIRS = (Path(__file__).parent / "fonts",)
_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


@functools.cache
def font_path() -> Path:
    """The CJK font used for raster text: a bundled font, else a system one."""
    for folder in _FONT_DIRS:
        for candidate in sorted(folder.glob("*.tt[cf]")):
            return candidate
    for name in _FONT_FILES:
        if Path(name).is_file():
            return Path(name)
    raise RenderError(
        "no CJK font found for raster text — install fonts-wqy-microhei "
        'or set the printer\'s cjk = "gb18030"'
    )


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    path = font_path()
    try:
        return ImageFont.truetype(str(path), size)
    except OSError as err:
        raise RenderError(f"cannot load CJK font {path}: {err}") from err


def text_image(
    line: str, width_dots: int, scale: int = 1, align: str = "left", bold: bool = False
) -> Image.Image:
    """Draw one line of text (black on white, mode ``L``) on the printer's character grid."""
    cell_w, cell_h = CELL_W * scale, CELL_H * scale
    font = _font(20 * scale)
    ascent, descent = font.getmetrics()
    baseline = (cell_h - (ascent + descent)) // 2 + ascent
    line = textmod.truncate(textmod.clean(line), max(width_dots // cell_w, 1))
    used = textmod.width(line) * cell_w
    x = {"center": (width_dots - used) // 2, "right": width_dots - used}.get(align, 0)
    image = Image.new("L", (width_dots, cell_h), 255)
    draw = ImageDraw.Draw(image)
    for char in line:
        cells = textmod.char_width(char) * cell_w
        if not char.isspace():
            glyph_w = font.getlength(char)
            draw.text(
                (x + (cells - glyph_w) / 2, baseline),
                char,
                font=font,
                fill=0,
                anchor="ls",
                stroke_width=1 if bold else 0,
                stroke_fill=0,
            )
        x += cells
    return image


def to_mono(image: Image.Image) -> Image.Image:
    """Mode ``1`` image where set bits are dots to print (dark pixels of ``image``)."""
    gray = image.convert("L")
    return gray.point(lambda v: 255 if v < 128 else 0, mode="1")


def raster_command(image: Image.Image, max_width: int | None = None) -> bytes:
    """``GS v 0`` commands printing ``image`` (any mode; dark pixels print), in bands.

    An image wider than ``max_width`` dots is scaled down to fit.
    """
    if max_width is not None and image.width > max_width:
        height = max(round(image.height * max_width / image.width), 1)
        image = image.convert("L").resize((max_width, height), Image.Resampling.NEAREST)
    mono = to_mono(image)
    width_bytes = (mono.width + 7) // 8
    out = []
    for top in range(0, mono.height, BAND_ROWS):
        band = mono.crop((0, top, mono.width, min(top + BAND_ROWS, mono.height)))
        header = (
            GS + b"v0\x00" + width_bytes.to_bytes(2, "little") + band.height.to_bytes(2, "little")
        )
        out.append(header + band.tobytes())
    return b"".join(out)


def centered(image: Image.Image, width_dots: int) -> Image.Image:
    """``image`` placed in the middle of a white strip ``width_dots`` wide."""
    if image.width >= width_dots:
        return image
    strip = Image.new("L", (width_dots, image.height), 255)
    strip.paste(image.convert("L"), ((width_dots - image.width) // 2, 0))
    return strip
