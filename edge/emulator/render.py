"""Render a whole print job (ESC/POS or TSPL, detected from its bytes) to images or a PNG.

This is the pure entry point the spooler uses for previews; the TCP emulator uses the same
parsers and renderers incrementally.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Literal

from PIL import Image

from edge.emulator.errors import EmptyJobError
from edge.emulator.escpos import EscPosParser
from edge.emulator.label import Label
from edge.emulator.receipt import Receipt
from edge.emulator.tspl import TsplParser

log = logging.getLogger(__name__)

Language = Literal["escpos", "tspl"]
# Commands a TSPL job starts with; text after them must look like TSPL arguments.
TSPL_START = re.compile(
    rb"[\s\x00]*(?:~![A-Z@&]|SIZE|GAP|BLINE|CLS|DIRECTION|REFERENCE|CODEPAGE|SPEED|DENSITY|OFFSET|SHIFT"
    rb"|HOME|SET [A-Z]+|KILL|DOWNLOAD|FORMFEED|LIMITFEED|SELFTEST|INITIALPRINTER)"
    rb"(?:[ \t][^\x00-\x08\x0e-\x1f]*)?\r?\n",
    re.IGNORECASE,
)
TSPL_STATUS = b"\x1b!?"
TSPL_KEYWORDS = re.compile(rb"[\s\x00]*[A-Z~]", re.IGNORECASE)
STACK_GAP = 16
MAX_PREVIEW_DOTS = 32_000


def detect_language(
    data: bytes, previous: Language | None = None, *, final: bool = False
) -> Language | None:
    """The job language of ``data``, or None when more bytes are needed to tell.

    A TSPL job starts with a setup command line (``SIZE``, ``CLS``, ``SET ...``) or the
    ``ESC ! ?`` status query; anything else is ESC/POS. On a connection that already spoke
    TSPL, a job starting with any keyword line stays TSPL. With ``final`` the data is the
    whole job, so the answer is never None.
    """
    if data.startswith(TSPL_STATUS):
        return "tspl"
    if TSPL_STATUS.startswith(data[:3]) and not final:
        return None
    stripped = data.lstrip(b" \t\r\n\x00")
    if final:
        stripped += b"\n"
    elif not stripped:
        return None
    if TSPL_START.match(stripped):
        return "tspl"
    if previous == "tspl" and TSPL_KEYWORDS.match(stripped):
        return "tspl"
    if not final and b"\n" not in stripped and len(stripped) < 32 and stripped[:1].isalpha():
        return None
    return "escpos"


def render_tspl(data: bytes) -> list[Image.Image]:
    """Every label a TSPL job prints; the unprinted buffer when the job has no PRINT."""
    parser, label = TsplParser(), Label()
    for command in [*parser.feed(data), *parser.close()]:
        label.apply(command)
    pages = label.take_pages()
    if not pages and label.drawn:
        log.info("TSPL job has no PRINT; rendering its image buffer")
        pages = [label.snapshot()]
    return pages


def render_escpos(data: bytes, *, width_dots: int = 576) -> list[Image.Image]:
    """Every page (cut) an ESC/POS job prints on a roll ``width_dots`` wide."""
    parser, receipt = EscPosParser(), Receipt(width_dots)
    for token in [*parser.feed(data), *parser.close()]:
        receipt.apply(token)
    receipt.finish()
    return receipt.take_pages()


def render_job(data: bytes, *, width_dots: int = 576) -> list[Image.Image]:
    """The pages of a print job in either language; ``width_dots`` is the receipt roll width."""
    if detect_language(data, final=True) == "tspl":
        return render_tspl(data)
    return render_escpos(data, width_dots=width_dots)


def stack_pages(pages: list[Image.Image]) -> Image.Image:
    """Pages one below the other on a grey background, as one ``L`` image."""
    if not pages:
        raise EmptyJobError("the job prints nothing")
    width = max(page.width for page in pages)
    height = sum(page.height for page in pages) + STACK_GAP * (len(pages) - 1)
    sheet = Image.new("L", (width, min(height, MAX_PREVIEW_DOTS)), 160)
    y = 0
    for page in pages:
        if y >= sheet.height:
            log.info("preview cut at %d dots", MAX_PREVIEW_DOTS)
            break
        sheet.paste(page.convert("L"), (0, y))
        y += page.height + STACK_GAP
    return sheet


def render_job_png(data: bytes, *, width_dots: int = 576, first_only: bool = False) -> bytes:
    """A PNG preview of a job: every page stacked, or only the first one.

    Raises EmptyJobError when the job prints nothing.
    """
    pages = render_job(data, width_dots=width_dots)
    image = stack_pages(pages[:1] if first_only else pages)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
