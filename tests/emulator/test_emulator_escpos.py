"""ESC/POS parsing and receipt rendering, fed with what python-escpos 3.1 sends."""

from __future__ import annotations

import random

import pytest
from escpos.printer import Dummy
from PIL import Image, ImageDraw

from edge.emulator.barcodes import bars_mask, code128_escpos
from edge.emulator.codepages import decode_text
from edge.emulator.errors import RenderError
from edge.emulator.escpos import EscPosParser
from edge.emulator.render import render_escpos

from .helpers import decode, decode_all, ink, receipt_job


def test_python_escpos_receipt_renders_text_barcode_and_qr() -> None:
    pages = render_escpos(receipt_job())

    assert len(pages) == 1
    page = pages[0]
    assert page.mode == "1"
    assert page.width == 576
    assert 400 < page.height < 1500
    assert ink(page) > 5000
    codes = decode(page)
    assert codes["Code128"] == "ORDER-1001"
    assert codes["QRCode"] == "https://example.com/o/1001"


def test_width_of_58_mm_roll() -> None:
    pages = render_escpos(receipt_job(), width_dots=384)

    assert pages[0].width == 384
    assert decode(pages[0])["QRCode"] == "https://example.com/o/1001"


def test_bad_width_is_rejected() -> None:
    with pytest.raises(RenderError):
        render_escpos(b"x", width_dots=10)


def test_qr_as_image_and_images_in_every_format() -> None:
    picture = Image.new("1", (120, 80), 1)
    ImageDraw.Draw(picture).rectangle((20, 20, 99, 59), fill=0)
    printer = Dummy()
    printer.qr("QR as an image", native=False)
    printer.image(picture)
    printer.image(picture, impl="bitImageColumn")
    printer.image(picture, impl="graphics")
    printer.cut()

    page = render_escpos(bytes(printer.output))[0]

    assert decode(page)["QRCode"] == "QR as an image"
    # Three 80x40 black rectangles: raster, column (24-dot stripes) and graphics formats.
    assert ink(page) - ink(render_escpos(_qr_only("QR as an image"))[0]) == pytest.approx(
        3 * 80 * 40, rel=0.05
    )


def _qr_only(text: str) -> bytes:
    printer = Dummy()
    printer.qr(text, native=False)
    printer.cut()
    return bytes(printer.output)


def test_text_styles_change_the_print() -> None:
    def rendered(**style: object) -> Image.Image:
        printer = Dummy()
        printer.set(**style)  # type: ignore[arg-type]
        printer.text("Style 12\n")
        printer.cut()
        return render_escpos(bytes(printer.output))[0]

    plain = rendered()
    bold = rendered(bold=True)
    double = rendered(double_width=True, double_height=True)
    centered = rendered(align="center")

    assert ink(bold) > ink(plain)
    assert double.height > plain.height
    assert ink(double) > 3 * ink(plain)
    left_edge = plain.convert("L").point(lambda v: 255 - v).getbbox()
    center_edge = centered.convert("L").point(lambda v: 255 - v).getbbox()
    assert left_edge is not None and center_edge is not None
    assert left_edge[0] < 5 < 200 < center_edge[0]


def test_chinese_and_yen_decode_from_gb18030() -> None:
    printer = Dummy()
    printer.text("合计：¥12.50（含税）")
    assert decode_text(bytes(printer.output)) == "合计：¥12.50（含税）"
    # Chinese mode (FS &) decodes everything as GB18030.
    assert decode_text("中文".encode("gb18030"), chinese=True) == "中文"
    # Mixed: text sent separately in CP437 (¥ is 0x9D there) next to GB18030 text.
    assert decode_text(b"\xd6\xd0\xce\xc4 \x9d5") == "中文 ¥5"
    # Plain code page text stays code page text.
    assert decode_text("café".encode("cp437")) == "café"
    assert decode_text("€5".encode("cp1252"), "cp1252") == "€5"


def test_chinese_glyphs_are_drawn_wide() -> None:
    def width_of(text: str) -> int:
        printer = Dummy()
        printer.text(text + "\n")
        printer.cut()
        box = render_escpos(bytes(printer.output))[0].convert("L").point(lambda v: 255 - v)
        bbox = box.getbbox()
        assert bbox is not None
        return bbox[2] - bbox[0]

    # Four CJK characters take the space of eight half-width ones (12 dots each).
    assert 80 < width_of("中文打印") <= 96
    assert width_of("中文打印") > width_of("ABCD") + 30


def test_code128_code_sets_follow_the_job() -> None:
    pattern, hri = code128_escpos(b"{A12{C\x22\x38")
    assert hri == "123456"
    bars = bars_mask(pattern, 80, 2).point(lambda v: 255 - v)
    assert decode(bars) == {"Code128": "123456"}


def test_ean13_and_code39_barcodes() -> None:
    printer = Dummy()
    printer.barcode("4006381333931", "EAN13")
    printer.barcode("ABC-123", "CODE39")
    printer.cut()

    page = render_escpos(bytes(printer.output))[0]

    assert sorted(decode_all(page)) == [("Code39", "ABC-123"), ("EAN13", "4006381333931")]


def test_parser_handles_any_chunking() -> None:
    data = receipt_job() + b"\x10\x04\x04"
    whole = EscPosParser()
    expected = [*whole.feed(data), *whole.close()]
    byte_wise = EscPosParser()
    tokens = [token for i in range(len(data)) for token in byte_wise.feed(data[i : i + 1])]
    tokens += byte_wise.close()

    assert [(t.op, t.args, t.data, t.end) for t in tokens] == [
        (t.op, t.args, t.data, t.end) for t in expected
    ]
    assert tokens[-1].op == "DLE EOT"
    assert tokens[-1].end == len(data)


def test_truncated_commands_do_not_crash() -> None:
    job = b"\x1b@Hello\n"
    for tail in (
        b"\x1b",
        b"\x1d",
        b"\x1dv0\x00\x10\x00\x10\x00\xff\xff",
        b"\x1d(k\x05\x00",
        b"\x1dk\x49\x20{B12",
        b"\x1b*\x21\x40",
        b"\x10",
        b"\x1c",
    ):
        pages = render_escpos(job + tail)
        assert len(pages) == 1


def test_garbage_does_not_crash() -> None:
    rng = random.Random(7)
    for _ in range(20):
        garbage = bytes(rng.getrandbits(8) for _ in range(2000))
        pages = render_escpos(garbage)
        assert all(page.width == 576 for page in pages)
