"""How a job is rendered for one printer: command language, capability profile, paper size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["escpos", "tspl"]
CjkMode = Literal["gb18030", "raster"]

#: Printable width in dots of common receipt rolls at 203 dpi.
WIDTH_DOTS_BY_MM: dict[int, int] = {58: 384, 80: 576, 100: 800}


def dots_per_mm(dpi: int) -> float:
    """Dots per millimetre as printers count them (203 dpi: 8, 300 dpi: 12)."""
    return {203: 8.0, 300: 12.0}.get(dpi, dpi / 25.4)


@dataclass(frozen=True)
class RenderOptions:
    """Printer properties a renderer needs; built from a printer's config by ``render_options``.

    ``cjk`` chooses how non-ASCII text reaches an ESC/POS printer: ``gb18030`` sends it as
    GB18030 bytes in the printer's Chinese mode (needs a printer with a Chinese font);
    ``raster`` draws it with a CJK font on the station and sends it as an image.
    """

    language: Language = "escpos"
    profile: str = "default"
    width_dots: int = 576
    cjk: CjkMode = "gb18030"
    label_size_mm: tuple[int, int] = (100, 150)
    dpi: int = 203

    @property
    def columns(self) -> int:
        """Characters per line in the printer's standard 12-dot-wide font."""
        return max(self.width_dots // 12, 16)
