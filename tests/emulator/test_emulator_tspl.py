"""TSPL parsing and label rendering."""

from __future__ import annotations

import random

from edge.emulator.render import render_tspl
from edge.emulator.tspl import TsplParser, split_args

from .helpers import decode, ink

SHIPPING_LABEL = (
    "SIZE 100 mm,150 mm\r\n"
    "GAP 2 mm,0 mm\r\n"
    "DIRECTION 1\r\n"
    "REFERENCE 0,0\r\n"
    "CODEPAGE 936\r\n"
    "SET TEAR ON\r\n"
    "CLS\r\n"
    'TEXT 40,40,"TSS24.BF2",0,2,2,"收件人：张三 ¥12.50"\r\n'
    'TEXT 40,120,"3",0,1,1,"Order A-1001"\r\n'
    'BLOCK 40,180,700,120,"TSS24.BF2",0,1,1,2,"广东省深圳市南山区科技园路1号"\r\n'
    'BARCODE 60,340,"128",120,2,0,3,6,"SF1234567890"\r\n'
    'QRCODE 480,640,M,8,A,0,"https://example.com/t/SF1234567890"\r\n'
    "BOX 20,20,780,1180,4\r\n"
    "BAR 40,1100,720,6\r\n"
    "PRINT 1\r\n"
).encode("gb18030")


def test_shipping_label_renders_at_203_dpi_and_codes_decode() -> None:
    pages = render_tspl(SHIPPING_LABEL)

    assert len(pages) == 1
    label = pages[0]
    assert label.size == (800, 1200)
    codes = decode(label)
    assert codes["Code128"] == "SF1234567890"
    assert codes["QRCode"] == "https://example.com/t/SF1234567890"
    # The Chinese title is drawn: the band of the first TEXT line holds plenty of ink.
    assert ink(label.crop((40, 40, 760, 100))) > 2000


def test_print_sets_and_copies() -> None:
    job = b'SIZE 50 mm,30 mm\r\nCLS\r\nTEXT 10,10,"2",0,1,1,"x"\r\nPRINT 2,3\r\n'

    pages = render_tspl(job)

    assert len(pages) == 6
    assert {page.size for page in pages} == {(400, 240)}


def test_size_in_inches_and_rotated_text() -> None:
    job = b'SIZE 2,1\r\nCLS\r\nTEXT 200,20,"3",90,1,1,"ROT"\r\nPRINT 1\r\n'

    label = render_tspl(job)[0]

    assert label.size == (406, 203)
    inverted = label.convert("L").point(lambda v: 255 - v)
    bbox = inverted.getbbox()
    assert bbox is not None
    # Turned clockwise about (200, 20): the text runs downwards, left of x=200.
    assert bbox[2] <= 201 and bbox[3] - bbox[1] > bbox[2] - bbox[0]


def test_bitmap_payload_may_contain_line_breaks() -> None:
    rows = bytes([0x00, 0x0A]) * 16  # 2 bytes wide; 0 bits print, 0x0A holds a line feed
    job = b"SIZE 10 mm,10 mm\r\nCLS\r\nBITMAP 8,8,2,16,0," + rows + b"\r\nPRINT 1\r\n"

    label = render_tspl(job)[0]

    assert ink(label) == 16 * (16 - 2)


def test_split_args_keeps_quoted_commas_and_escaped_quotes() -> None:
    args = split_args(b'10, 20,"3",0,1,1,"a,b \\["]c\\["]"')
    assert args == (b"10", b"20", b'"3"', b"0", b"1", b"1", b'"a,b \\["]c\\["]"')


def test_status_query_between_commands() -> None:
    parser = TsplParser()
    commands = parser.feed(b"CLS\r\n\x1b!?TEXT 1,1,")
    commands += parser.feed(b'"1",0,1,1,"x"\r\n')

    assert [c.name for c in commands] == ["CLS", "ESC !", "TEXT"]
    assert commands[1].args == (b"?",)


def test_bad_arguments_and_garbage_do_not_crash() -> None:
    job = b'SIZE x mm\r\nTEXT 1\r\nBARCODE 1,1,"999",1,1,0,1,1,"z"\r\nQRCODE\r\nPRINT 1\r\n'
    assert len(render_tspl(job)) == 1
    rng = random.Random(3)
    for _ in range(10):
        garbage = b"SIZE 20 mm,20 mm\r\n" + bytes(rng.getrandbits(8) for _ in range(3000))
        render_tspl(garbage + b"\r\nPRINT 1\r\n")
