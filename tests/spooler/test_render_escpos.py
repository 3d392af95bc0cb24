"""ESC/POS rendering: exact bytes for small inputs, CJK paths, barcodes/QR per profile, layouts."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image

from edge.spooler.errors import RenderError
from edge.spooler.render import RenderOptions, render_label_escpos, render_picklist, render_ticket
from edge.spooler.render import text as textmod
from edge.spooler.render.model import PickList, ShippingLabel, Ticket
from edge.spooler.render.page import EscposPage, code128_escpos, code128_modules, code128_symbols
from edge.spooler.render.samples import sample_label, sample_picklist, sample_ticket

INIT = b"\x1b@"
CUT = b"\x1bd\x06\x1dV\x00"
OPTS = RenderOptions()


def page(**options) -> EscposPage:
    return EscposPage(RenderOptions(**options))


def raster_images(data: bytes) -> list[Image.Image]:
    """Every GS v 0 image in ``data``, consecutive bands joined, as black-on-white images."""
    images: list[Image.Image] = []
    pos = 0
    previous_end = -1
    while (pos := data.find(b"\x1dv0", pos)) != -1:
        width_bytes = int.from_bytes(data[pos + 4 : pos + 6], "little")
        height = int.from_bytes(data[pos + 6 : pos + 8], "little")
        start, end = pos + 8, pos + 8 + width_bytes * height
        band = Image.frombytes("1", (width_bytes * 8, height), data[start:end])
        band = band.point(lambda v: 0 if v else 255, mode="L")
        if pos == previous_end and images and images[-1].width == band.width:
            joined = Image.new("L", (band.width, images[-1].height + height), 255)
            joined.paste(images[-1], (0, 0))
            joined.paste(band, (0, images[-1].height))
            images[-1] = joined
        else:
            images.append(band)
        previous_end = pos = end
    return images


def decoded(data: bytes) -> set[str]:
    texts = set()
    for image in raster_images(data):
        framed = Image.new("L", (image.width + 40, image.height + 40), 255)
        framed.paste(image, (20, 20))
        texts |= {result.text for result in zxingcpp.read_barcodes(framed)}
    return texts


# Text lines ---------------------------------------------------------------------------------


def test_ascii_line_uses_the_normal_text_path():
    p = page()
    p.line("Hello")
    assert p.output == INIT + b"\x1bt\x00Hello\n"


@pytest.mark.parametrize("value", ["中文", "¥12.50", "，。：（）", "合计：¥11.50（含税）"])
def test_cjk_line_is_raw_gb18030_inside_chinese_mode(value):
    p = page()
    p.line(value)
    assert p.output == INIT + b"\x1c&" + value.encode("gb18030") + b"\x1c.\n"
    inner = p.output[len(INIT) + 2 : -3]
    assert inner.decode("gb18030") == value


def test_untrusted_text_cannot_inject_commands():
    p = page()
    p.line("可乐\x1dV\x00\x1b@\nCUT")
    assert p.output == INIT + b"\x1c&" + "可乐V@ CUT".encode("gb18030") + b"\x1c.\n"


def test_sizes_bold_and_alignment_are_sent_only_when_they_change():
    p = page()
    p.line("BIG", align="center", size=2, bold=True)
    p.line("BIG2", align="center", size=2, bold=True)
    p.line("small")
    assert p.output == (
        INIT
        + b"\x1d!\x11\x1bE\x01\x1ba\x01\x1bt\x00BIG\nBIG2\n"
        + b"\x1d!\x00\x1bE\x00\x1ba\x00small\n"
    )


def test_raster_mode_draws_cjk_lines_as_gs_v_0_images():
    p = page(cjk="raster")
    p.line("中文 ¥12.50")
    p.line("ASCII stays text")
    header = b"\x1dv0\x00" + (576 // 8).to_bytes(2, "little") + (24).to_bytes(2, "little")
    assert p.output.startswith(INIT + header)
    assert p.output.endswith(b"\x1bt\x00ASCII stays text\n")
    (image,) = raster_images(p.output)
    assert image.size == (576, 24)
    dark = image.histogram()[0]
    assert 150 < dark < 2000
    assert b"\x1c&" not in p.output


def test_raster_line_size_two_is_twice_as_tall():
    p = page(cjk="raster", width_dots=384)
    p.line("取单号", size=2, align="center")
    (image,) = raster_images(p.output)
    assert image.size == (384, 48)


# Codes ---------------------------------------------------------------------------------------


def test_code128_hardware_command_exact_bytes():
    p = page()
    p.code128("1001", caption=False)
    assert p.output == INIT + b"\x1ba\x01" + (
        b"\x1ba\x01\x1dhP\x1dw\x03\x1df\x00\x1dH\x00\x1dkI\x06{B1001\n"
    )


def test_code128_escapes_brace_and_switches_to_code_c_when_too_wide():
    assert code128_escpos([("B", "A{1")]) == "{BA{{1"
    runs = code128_symbols("SF1234567890123")
    assert runs == [("B", "SF1"), ("C", "234567890123")]
    assert code128_escpos(runs) == "{BSF1{C" + "".join(chr(n) for n in (23, 45, 67, 89, 1, 23))
    assert code128_modules(runs) < code128_modules([("B", "SF1234567890123")])
    p = page(width_dots=384)
    p.code128("SF1234567890123", caption=False)
    assert b"\x1dw\x02\x1df\x00\x1dH\x00\x1dkI\x0d{BSF1{C\x17-CY\x01\x17\n" in p.output


def test_code128_rejects_non_ascii():
    with pytest.raises(RenderError, match="Code 128"):
        page().code128("订单1")


def test_native_qr_exact_bytes():
    p = page()
    p.qr_code("https://x.y/1")
    assert p.output == INIT + b"\x1ba\x01" + (
        b"\x1d(k\x04\x001A2\x00\x1d(k\x03\x001C\x06\x1d(k\x03\x001E1"
        b"\x1d(k\x10\x001P0https://x.y/1\x1d(k\x03\x001Q0\n"
    )


def test_profile_without_barcode_and_qr_gets_decodable_raster_codes():
    p = page(profile="POS-5890", width_dots=384)
    p.code128("A1024")
    p.qr_code("https://track.example.com/o/1")
    data = p.finish()
    assert b"\x1dk" not in data and b"\x1d(k" not in data
    assert decoded(data) >= {"A1024", "https://track.example.com/o/1"}
    assert data.endswith(b"\x1bd\x06\x1dV\x00")


def test_finish_feeds_and_cuts():
    p = page()
    p.line("x", align="right", bold=True)
    assert p.finish().endswith(b"\x1bE\x00\x1ba\x00" + CUT)


def test_unknown_profile_is_a_render_error():
    with pytest.raises(RenderError, match="unknown printer profile 'TM-NOPE'"):
        page(profile="TM-NOPE")


# Layouts -------------------------------------------------------------------------------------


def test_ticket_has_header_number_lines_totals_barcode_and_qr():
    ticket = Ticket.from_dict(sample_ticket())
    data = render_ticket(ticket, OPTS)
    assert data.startswith(INIT)
    assert data.endswith(CUT)
    for text in ("星光便利店 科技园店", "取单号", "可口可乐 330ml", "¥7.00", "-¥1.00", "¥11.50"):
        assert text.encode("gb18030") in data, text
    assert "请凭此单到柜台付款，叫号后取货。".encode("gb18030") in data
    assert b"\x1d!\x33\x1bE\x01A1024\n" in data
    assert b"\x1dkI\x07{BA1024" in data
    url = ticket.status_url.encode()
    assert b"\x1d(k" + (len(url) + 3).to_bytes(2, "little") + b"1P0" + url in data
    assert data.index(b"{BA1024") < data.index(b"1P0" + url)
    assert "税费".encode("gb18030") not in data


def test_english_ticket_uses_english_names_and_wording():
    data = render_ticket(Ticket.from_dict(sample_ticket(language="en", paid=True)), OPTS)
    assert b"Master Kong Beef Noodles (cup)" in data
    assert b"Subtotal" in data and b"PAID" in data
    assert "康师傅".encode("gb18030") not in data


def test_ticket_lines_fit_the_58mm_width():
    narrow = RenderOptions(width_dots=384)
    data = render_ticket(Ticket.from_dict(sample_ticket()), narrow)
    assert b"-" * 32 + b"\n" in data
    assert b"-" * 33 not in data
    total = "合计" + " " * 6 + "¥11.50"
    assert textmod.width(total) == 32 // 2
    assert b"\x1d!\x11\x1bE\x01\x1c&" + total.encode("gb18030") + b"\x1c.\n" in data


def test_picklist_is_in_pick_path_order_with_totals_and_order_barcodes():
    data = render_picklist(PickList.from_dict(sample_picklist()), OPTS)
    positions = [
        data.index(b"\x1bE\x01" + location + b"\n")
        for location in (b"A-2-3", b"A-03-2", b"A-10-1", b"B-01-1")
    ]
    assert positions == sorted(positions)
    assert b"[ ] SKU-1" in data
    assert b"x 3\n" in data
    assert b"    #1001 x2  #1010 x1\n" in data
    for number in (b"1001", b"1002", b"1010"):
        assert b"{B" + number in data
    assert data.index(b"B-01-1") < data.index(b"{B1001")
    assert data.endswith(CUT)


def test_escpos_label_has_sort_code_tracking_barcode_and_chinese_addresses():
    data = render_label_escpos(ShippingLabel.from_dict(sample_label()), OPTS)
    assert b"\x1d!\x33\x1bE\x01\x1ba\x01SF-GD-SZ\n" in data
    assert b"{BSF1234567890123" in data
    expected = ("顺丰速运", "收件人 TO", "张三  13800138000", "寄件人 FROM", "南山区科技园路1号")
    for text in expected:
        assert text.encode("gb18030") in data, text
    assert data.endswith(CUT)


def test_order_number_that_cannot_be_a_barcode_is_printed_as_text(caplog):
    data = render_ticket(Ticket.from_dict(sample_ticket(order_number="订单7")), OPTS)
    assert b"\x1dk" not in data
    assert "订单7".encode("gb18030") in data
    assert "not printable ASCII" in caplog.text
