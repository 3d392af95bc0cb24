"""TSPL layout for label printers: a 100×150 mm shipping label.

One command per line, lines end with CR LF, the whole job encoded GB18030 so the printer's
``TSS24.BF2`` font (24×24 dots per Chinese character, 12×24 per Latin character) prints Chinese.

Order data is untrusted. Before it goes into a quoted TSPL string it is cleaned: control
characters and line breaks are removed (so nothing can start a new command), ``"`` becomes the
TSPL escape ``\\["]``, and a backslash (which would start another TSPL escape) is printed as a
full-width backslash ``＼``.
"""

from __future__ import annotations

import logging

import barcode
import qrcode

from edge.spooler.errors import RenderError
from edge.spooler.render import text as textmod
from edge.spooler.render.model import ShippingLabel
from edge.spooler.render.options import RenderOptions, dots_per_mm

log = logging.getLogger(__name__)

FONT = "TSS24.BF2"
EOL = "\r\n"
#: Layout unit: positions below are in dots at 203 dpi (8 dots per mm) and scaled to ``dpi``.
BASE_DOTS_PER_MM = 8
CELL_W, CELL_H = 12, 24
#: Space between the frame and text.
PADDING = 16


def quote(value: str) -> str:
    """``value`` as a TSPL string literal, safe to embed in a command line."""
    value = textmod.clean(value).strip().replace("\\", "＼").replace('"', '\\["]')
    return f'"{value}"'


class TsplLabel:
    """Commands of one label, laid out in 203-dpi units and scaled to the printer's dpi."""

    def __init__(self, opts: RenderOptions) -> None:
        self.scale = dots_per_mm(opts.dpi) / BASE_DOTS_PER_MM
        width_mm, height_mm = opts.label_size_mm
        self.width = width_mm * BASE_DOTS_PER_MM
        self.height = height_mm * BASE_DOTS_PER_MM
        self.margin = 24
        self.commands = [
            f"SIZE {width_mm} mm,{height_mm} mm",
            "GAP 2 mm,0 mm",
            "DIRECTION 1",
            "REFERENCE 0,0",
            "CLS",
        ]

    @property
    def inner(self) -> int:
        """Width between the margins."""
        return self.width - 2 * self.margin

    @property
    def right(self) -> int:
        """Right edge of text, inside the frame."""
        return self.width - self.margin - PADDING

    def _d(self, value: float) -> int:
        return round(value * self.scale)

    def fits(self, bottom: int, what: str) -> bool:
        """True when something ending at ``bottom`` is on the label; logs when it is not."""
        if bottom <= self.height - self.margin:
            return True
        log.warning("label too short for %s: needs %d dots of %d", what, bottom, self.height)
        return False

    def text(
        self, x: int, y: int, value: str, size: int = 1, *, align: str = "left", right: int = 0
    ) -> int:
        """One line of text between ``x`` and ``right`` (default: the right margin).

        Returns the y just below the line.
        """
        right = right or self.right
        value = textmod.truncate(textmod.clean(value).strip(), (right - x) // (CELL_W * size))
        used = textmod.width(value) * CELL_W * size
        if align == "center":
            x += (right - x - used) // 2
        elif align == "right":
            x = right - used
        bottom = y + CELL_H * size
        if value and self.fits(bottom, "text"):
            mul = max(1, round(size * self.scale))
            self.commands.append(
                f"TEXT {self._d(x)},{self._d(y)},{quote(FONT)},0,{mul},{mul},{quote(value)}"
            )
        return bottom

    def paragraph(
        self, x: int, y: int, value: str, size: int = 1, *, max_lines: int = 3, right: int = 0
    ) -> int:
        """Wrapped text, at most ``max_lines`` lines (the last one truncated)."""
        right = right or self.right
        cells = (right - x) // (CELL_W * size)
        lines = textmod.wrap(value, cells)
        if len(lines) > max_lines:
            rest = " ".join(lines[max_lines - 1 :])
            lines = [*lines[: max_lines - 1], textmod.truncate(rest, cells)]
        for line in lines:
            y = self.text(x, y, line, size, right=right) + 4 * size
        return y

    def rule(self, y: int, thickness: int = 3) -> int:
        self.commands.append(
            f"BAR {self._d(self.margin)},{self._d(y)},{self._d(self.inner)},{self._d(thickness)}"
        )
        return y + thickness

    def box(self, thickness: int = 3) -> None:
        m = self.margin
        self.commands.append(
            f"BOX {self._d(m)},{self._d(m)},{self._d(self.width - m)},{self._d(self.height - m)},"
            f"{self._d(thickness)}"
        )

    def code128(self, y: int, data: str, height: int) -> int:
        """A centred Code 128 barcode (printer-side); returns the y below it."""
        if not data or not textmod.is_ascii(data):
            raise RenderError(f"cannot print {data!r} as a Code 128 barcode: use printable ASCII")
        modules = len(barcode.get("code128", data).build()[0])
        narrow = min(4, (self.inner - 40) // modules)
        if narrow < 1:
            raise RenderError(f"barcode {data!r} is too long for a {self.inner}-dot label")
        x = (self.width - modules * narrow) // 2
        if self.fits(y + height, "barcode"):
            self.commands.append(
                f'BARCODE {self._d(x)},{self._d(y)},"128",{self._d(height)},0,0,'
                f"{self._d(narrow)},{self._d(narrow)},{quote(data)}"
            )
        return y + height

    def qrcode(self, x: int, y: int, data: str, cell: int = 6) -> None:
        """A QR code (error correction M) with its top left corner at ``x``, ``y``."""
        self.commands.append(
            f"QRCODE {self._d(x)},{self._d(y)},M,{self._d(cell)},A,0,{quote(data)}"
        )

    def to_bytes(self) -> bytes:
        return (EOL.join([*self.commands, "PRINT 1"]) + EOL).encode("gb18030", errors="replace")


def qr_modules(data: str) -> int:
    """Modules per side of the QR code the printer makes for ``data`` (error correction M)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(textmod.clean(data).strip())
    code.make(fit=True)
    return int(code.modules_count)


def render_label_tspl(label: ShippingLabel, opts: RenderOptions) -> bytes:
    """A shipping label for a TSPL label printer (100×150 mm at 203 dpi by default)."""
    page = TsplLabel(opts)
    left = page.margin + PADDING
    page.box()
    y = page.margin + PADDING
    page.text(left, y + 12, label.service_level, 1, align="right")
    y = page.text(left, y, label.carrier.name, 2) + 16
    y = page.rule(y) + 16
    if label.sort_code:
        size = max(1, min(4, page.inner // (CELL_W * max(textmod.width(label.sort_code), 1))))
        y = page.text(left, y, label.sort_code, size, align="center") + 16
        y = page.rule(y) + 24
    y = page.code128(y, label.tracking_number, height=180) + 8
    y = page.text(left, y, label.tracking_number, 2, align="center") + 12
    y = page.rule(y) + 12
    y = page.text(left, y, "收件人 TO") + 8
    y = page.text(left, y, f"{label.recipient.name}  {label.recipient.phone}", 2) + 8
    y = page.paragraph(left, y, label.recipient.address, 2, max_lines=3) + 4
    y = page.rule(y) + 12
    y = page.text(left, y, "寄件人 FROM") + 6
    y = page.text(left, y, f"{label.sender.name}  {label.sender.phone}") + 6
    y = page.paragraph(left, y, label.sender.address, 1, max_lines=2) + 4
    y = page.rule(y) + 20
    cell = 8 if qr_modules(label.order_number) <= 25 else 5
    qr_size = qr_modules(label.order_number) * cell
    qr_x = page.right - qr_size
    if page.fits(y + qr_size, "QR code"):
        page.qrcode(qr_x, y, label.order_number, cell)
    right = qr_x - 16
    y = page.text(left, y, f"订单 {label.order_number}", 2, right=right) + 12
    if label.weight_kg is not None:
        y = page.text(left, y, f"重量 Weight: {label.weight_kg} kg", right=right) + 8
    if label.items:
        y = page.paragraph(left, y, f"物品 Items: {label.items}", 1, max_lines=3, right=right) + 4
    page.text(left, y, textmod.timestamp(label.created_at), right=right)
    return page.to_bytes()
