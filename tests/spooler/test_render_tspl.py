"""TSPL labels: command structure, GB18030 content and injection-proof quoting."""

from __future__ import annotations

import re

import pytest

from edge.spooler.errors import RenderError
from edge.spooler.render import RenderOptions, render_label_tspl
from edge.spooler.render.model import ShippingLabel
from edge.spooler.render.samples import sample_label
from edge.spooler.render.tspl import quote

OPTS = RenderOptions(language="tspl", width_dots=800)
COMMANDS = {
    "SIZE",
    "GAP",
    "DIRECTION",
    "REFERENCE",
    "CLS",
    "BOX",
    "BAR",
    "TEXT",
    "BARCODE",
    "QRCODE",
    "PRINT",
}
# A quoted string: no bare quote inside, only the \["] escape.
STRING = r'"(?:[^"\\]|\\\["\])*"'
LINE_FORMS = {
    "TEXT": re.compile(rf'^TEXT \d+,\d+,"TSS24\.BF2",0,\d+,\d+,{STRING}$'),
    "BARCODE": re.compile(rf'^BARCODE \d+,\d+,"128",\d+,0,0,\d+,\d+,{STRING}$'),
    "QRCODE": re.compile(rf"^QRCODE \d+,\d+,M,\d+,A,0,{STRING}$"),
    "BAR": re.compile(r"^BAR \d+,\d+,\d+,\d+$"),
    "BOX": re.compile(r"^BOX \d+,\d+,\d+,\d+,\d+$"),
}


def label_lines(payload: dict, opts: RenderOptions = OPTS) -> list[str]:
    data = render_label_tspl(ShippingLabel.from_dict(payload), opts)
    assert data.endswith(b"PRINT 1\r\n")
    text = data.decode("gb18030")
    lines = text.split("\r\n")
    assert lines.pop() == ""
    for line in lines:
        assert "\r" not in line and "\n" not in line
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in line), line
        command = line.split(" ", 1)[0]
        assert command in COMMANDS, line
        if command in LINE_FORMS:
            assert LINE_FORMS[command].match(line), line
    return lines


def test_label_command_sequence():
    lines = label_lines(sample_label())
    assert lines[:5] == [
        "SIZE 100 mm,150 mm",
        "GAP 2 mm,0 mm",
        "DIRECTION 1",
        "REFERENCE 0,0",
        "CLS",
    ]
    assert lines[-1] == "PRINT 1"
    assert sum(line.startswith("PRINT") for line in lines) == 1
    assert any(line.startswith("BOX ") for line in lines)
    assert sum(line.startswith("BAR ") for line in lines) >= 4
    (barcode,) = [line for line in lines if line.startswith("BARCODE")]
    assert barcode.endswith(',"SF1234567890123"')
    (qr,) = [line for line in lines if line.startswith("QRCODE")]
    assert qr.endswith(',"1001"')
    texts = [line for line in lines if line.startswith("TEXT")]
    assert any(line.endswith(',4,4,"SF-GD-SZ"') for line in texts)
    assert any(line.endswith(',"张三  13800138000"') for line in texts)


def test_chinese_content_is_gb18030_encoded():
    data = render_label_tspl(ShippingLabel.from_dict(sample_label()), OPTS)
    assert '"张三  13800138000"'.encode("gb18030") in data
    assert "顺丰速运".encode() not in data


def test_everything_stays_inside_the_label():
    for line in label_lines(sample_label()):
        if line.startswith(("TEXT", "BARCODE", "QRCODE", "BAR ")):
            x, y = (int(v) for v in line.split(" ", 1)[1].split(",")[:2])
            assert 0 <= x < 800 and 0 <= y < 1200, line


@pytest.mark.parametrize(
    "hostile",
    [
        'Bob"\r\nPRINT 99\r\nCLS',
        'x",0,9,9,"y',
        'line1\nBARCODE 1,1,"128",1,0,0,1,1,"X"',
        "tab\tand\x1b!?esc\x00nul\x7fdel",
        'back\\["]slash\\',
    ],
)
def test_hostile_names_and_addresses_make_one_command_per_line(hostile):
    payload = sample_label()
    payload["recipient"]["name"] = hostile
    payload["recipient"]["address"] = hostile + "深圳市"
    payload["items"] = hostile
    lines = label_lines(payload)
    assert lines[-1] == "PRINT 1"
    assert sum(line.startswith(("PRINT", "CLS", "SIZE")) for line in lines) == 3
    assert sum(line.startswith("BARCODE") for line in lines) == 1


def test_quote_escapes_per_tspl():
    assert quote('say "hi"') == '"say \\["]hi\\["]"'
    assert quote("a\r\nb") == '"a  b"'
    assert quote("C:\\path") == '"C:＼path"'


def test_300_dpi_scales_positions_and_font_multipliers():
    lines = label_lines(sample_label(), RenderOptions(language="tspl", dpi=300))
    (sort_code,) = [line for line in lines if line.endswith('"SF-GD-SZ"')]
    assert ",0,6,6," in sort_code
    (box,) = [line for line in lines if line.startswith("BOX")]
    assert box == "BOX 36,36,1164,1764,4"


def test_tracking_number_must_be_ascii():
    with pytest.raises(RenderError, match="Code 128"):
        render_label_tspl(ShippingLabel.from_dict(sample_label(tracking_number="顺丰123")), OPTS)
