"""CJK text handling: cleaning untrusted text, cell widths, wrapping, GB18030."""

from __future__ import annotations

import pytest

from edge.spooler.render import text


def test_clean_removes_control_characters_and_turns_breaks_into_spaces():
    assert text.clean("A\x1bd\x05B\x1dV\x00C") == "AdBVC"
    assert text.clean("line1\r\nline2\tend") == "line1  line2 end"
    assert text.clean("zero\u200bwidth\u2028sep") == "zerowidth sep"


def test_widths_count_cjk_and_fullwidth_punctuation_as_two_cells():
    assert text.width("abc") == 3
    assert text.width("中文") == 4
    assert text.width("，。：（）") == 10
    assert text.width("¥12.50") == 6


@pytest.mark.parametrize(
    ("value", "cells", "expected"),
    [
        ("short", 10, "short"),
        ("abcdefghij", 5, "abcd…"),
        ("中文中文中文", 7, "中文中…"),
    ],
)
def test_truncate(value, cells, expected):
    assert text.truncate(value, cells) == expected
    assert text.width(text.truncate(value, cells)) <= cells


def test_wrap_keeps_latin_words_and_breaks_cjk_anywhere():
    assert text.wrap("the quick brown fox jumps", 10) == ["the quick", "brown fox", "jumps"]
    lines = text.wrap("广东省深圳市南山区科技园路1号", 10)
    assert lines == ["广东省深圳", "市南山区科", "技园路1号"]
    assert all(text.width(line) <= 10 for line in lines)
    assert text.wrap("averyveryverylongword", 8) == ["averyver", "yverylon", "gword"]
    assert text.wrap("  \n ", 8) == []


def test_columns_right_aligns_and_fits_exactly():
    line = text.columns("合计", "¥11.50", 20)
    assert line.endswith("¥11.50")
    assert text.width(line) == 20
    assert text.columns("x" * 30, "right", 20) == "x" * 13 + "… right"


@pytest.mark.parametrize("value", ["¥12.50", "，。：（）", "中文", "取单号：A1024（已支付）"])
def test_gb18030_round_trips_byte_exactly(value):
    encoded = text.gb18030(value)
    assert encoded == value.encode("gb18030")
    assert encoded.decode("gb18030") == value


def test_gb18030_replaces_what_cannot_be_encoded():
    assert text.gb18030("a\udc80b") == b"a?b"


def test_money_and_timestamp():
    assert text.money("¥", "12.5") == "¥12.50"
    assert text.money("¥", "1.00", negative=True) == "-¥1.00"
    assert text.money("¥", "0", negative=True) == "¥0.00"
    assert text.timestamp("2024-05-01T12:30:05+08:00") == "2024-05-01 12:30"
    assert text.timestamp("yesterday\n") == "yesterday "
