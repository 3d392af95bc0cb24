"""An ESC/POS job being built: text in the configured CJK mode, barcodes, QR codes and the cut.

:class:`EscposPage` extends python-escpos's :class:`~escpos.printer.Dummy` printer, which collects
the command bytes instead of sending them. It follows the printer's capability profile: barcodes
and QR codes are sent as printer commands where the profile has them and as raster images
otherwise.
"""

from __future__ import annotations

import logging
import re

import barcode
import qrcode
from escpos.constants import PAPER_FULL_CUT, QR_ECLEVEL_M
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy
from PIL import Image, ImageDraw

from edge.spooler.errors import RenderError
from edge.spooler.render import raster
from edge.spooler.render import text as textmod
from edge.spooler.render.options import RenderOptions

log = logging.getLogger(__name__)

ESC, FS = b"\x1b", b"\x1c"
INIT = ESC + b"@"
CHINESE_ON, CHINESE_OFF = FS + b"&", FS + b"."
_DIGIT_RUN = re.compile(r"\d{4,}")


def code128_symbols(data: str) -> list[tuple[str, str]]:
    """Split ``data`` into Code 128 code-set runs: ``[("B", "SF"), ("C", "1234")]``.

    Runs of four or more digits use code set C (two digits per symbol).
    """
    runs: list[tuple[str, str]] = []
    pos = 0
    for match in _DIGIT_RUN.finditer(data):
        start = match.start() + (len(match.group()) % 2)
        if start > pos:
            runs.append(("B", data[pos:start]))
        runs.append(("C", data[start : match.end()]))
        pos = match.end()
    if pos < len(data):
        runs.append(("B", data[pos:]))
    return runs


def code128_modules(runs: list[tuple[str, str]]) -> int:
    """Width in modules: start, symbols, code-set switches, check symbol and stop."""
    symbols = sum(len(chunk) // 2 if kind == "C" else len(chunk) for kind, chunk in runs)
    return 11 * (symbols + len(runs) - 1) + 35


def code128_escpos(runs: list[tuple[str, str]]) -> str:
    """``GS k`` data for Code 128: ``{B``/``{C`` code-set selectors, ``{{`` for a literal ``{``."""
    parts = []
    for kind, chunk in runs:
        if kind == "C":
            parts.append(
                "{C" + "".join(chr(int(chunk[i : i + 2])) for i in range(0, len(chunk), 2))
            )
        else:
            parts.append("{B" + chunk.replace("{", "{{"))
    return "".join(parts)


class EscposPage(Dummy):
    """Collects the ESC/POS bytes of one job; :meth:`finish` cuts and returns them."""

    def __init__(self, opts: RenderOptions) -> None:
        try:
            super().__init__(profile=opts.profile)
        except KeyError:
            raise RenderError(
                f"unknown printer profile {opts.profile!r} — use a python-escpos profile name "
                'such as "default", "TM-T88V" or "TM-T20II"'
            ) from None
        self.opts = opts
        self.columns = opts.columns
        self._style: tuple[str, int, bool] = ("left", 1, False)
        self._raw(INIT)

    # Text -----------------------------------------------------------------------------------

    def line(
        self, text: str = "", *, align: str = "left", size: int = 1, bold: bool = False
    ) -> None:
        """Print one line; non-ASCII text goes through the configured CJK path."""
        text = textmod.truncate(textmod.clean(text).rstrip(), self.columns // size)
        if text and not textmod.is_ascii(text) and self.opts.cjk == "raster":
            self._apply_style("left", 1, False)
            image = raster.text_image(text, self.opts.width_dots, size, align, bold)
            self._raw(raster.raster_command(image))
            return
        self._apply_style(align, size, bold)
        if textmod.is_ascii(text):
            self.text(text + "\n")
        else:
            self._raw(CHINESE_ON + textmod.gb18030(text) + CHINESE_OFF + b"\n")

    def pair(self, left: str, right: str, *, size: int = 1, bold: bool = False) -> None:
        """``left`` and ``right`` on one line, ``right`` flush right."""
        left, right = textmod.clean(left), textmod.clean(right)
        self.line(textmod.columns(left, right, self.columns // size), size=size, bold=bold)

    def wrapped(self, text: str, *, indent: int = 0, size: int = 1, bold: bool = False) -> None:
        """Print ``text`` over as many lines as it needs."""
        for part in textmod.wrap(text, self.columns // size - indent):
            self.line(" " * indent + part, size=size, bold=bold)

    def rule(self, char: str = "-") -> None:
        self.line(char * self.columns)

    def _apply_style(self, align: str, size: int, bold: bool) -> None:
        old_align, old_size, old_bold = self._style
        if size != old_size:
            self.set(custom_size=True, width=size, height=size)
        if bold != old_bold:
            self.set(bold=bold)
        if align != old_align:
            self.set(align=align)
        self._style = (align, size, bold)

    # Codes ----------------------------------------------------------------------------------

    def code128(
        self,
        data: str,
        *,
        height: int = 80,
        module: int = 3,
        caption: bool = True,
        required: bool = True,
    ) -> None:
        """A centred Code 128 barcode of ``data`` (printable ASCII), its text printed below.

        Data that cannot be a Code 128 barcode raises :class:`RenderError`, or, when the
        barcode is not ``required``, is printed as text only.
        """
        if not data or not textmod.is_ascii(data):
            if required:
                raise RenderError(
                    f"cannot print {data!r} as a Code 128 barcode: use printable ASCII"
                )
            log.warning("%r is not printable ASCII; printed without a barcode", data)
            self.line(data, align="center", bold=True)
            return
        self._apply_style("center", 1, False)
        if self.profile.supports("barcodeB"):
            runs = [("B", data)]
            if code128_modules(runs) * 2 > self.opts.width_dots:
                runs = code128_symbols(data)
            modules = code128_modules(runs)
            module = min(module, self.opts.width_dots // modules)
            if module < 2:
                raise RenderError(
                    f"barcode {data!r} is too long for a {self.opts.width_dots}-dot line"
                )
            try:
                self._hw_barcode(
                    code128_escpos(runs),
                    "CODE128",
                    height=height,
                    width=module,
                    pos="OFF",
                    font="A",
                    align_ct=True,
                    function_type="B",
                    check=True,
                )
            except EscposError as err:
                raise RenderError(f"cannot print {data!r} as a Code 128 barcode: {err}") from err
            self._raw(b"\n")
        else:
            self._raw(raster.raster_command(self._code128_image(data, height, module)))
        if caption:
            self.line(data, align="center")

    def _code128_image(self, data: str, height: int, module: int) -> Image.Image:
        bars = barcode.get("code128", data).build()[0]
        module = max(1, min(module, (self.opts.width_dots - 20) // len(bars)))
        quiet = 10 * module
        image = Image.new("L", (len(bars) * module + 2 * quiet, height), 255)
        draw = ImageDraw.Draw(image)
        for index, bit in enumerate(bars):
            if bit == "1":
                x = quiet + index * module
                draw.rectangle((x, 0, x + module - 1, height - 1), fill=0)
        return raster.centered(image, self.opts.width_dots)

    def qr_code(self, data: str, *, size: int = 6) -> None:
        """A centred QR code of ``data``."""
        data = textmod.clean(data).strip()
        if not data:
            return
        self._apply_style("center", 1, False)
        if self.profile.supports("qrCode"):
            self.qr(data, ec=QR_ECLEVEL_M, size=size, native=True)
            self._raw(b"\n")
            return
        code = qrcode.QRCode(
            box_size=size, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M
        )
        code.add_data(data)
        code.make(fit=True)
        image = code.make_image().get_image()
        self._raw(
            raster.raster_command(
                raster.centered(image, self.opts.width_dots), self.opts.width_dots
            )
        )

    # End of job -----------------------------------------------------------------------------

    def finish(self) -> bytes:
        """Feed the paper past the cutter, cut, and return the job's bytes.

        The job always ends with a cut command: printers whose profile has no cutter get a full
        cut (``GS V 0``), which printers without a cutter ignore.
        """
        self._apply_style("left", 1, False)
        self.cut()
        if not self.output.endswith(PAPER_FULL_CUT) and not self.output.endswith(b"\x1dV\x01"):
            self._raw(PAPER_FULL_CUT)
        return self.output
