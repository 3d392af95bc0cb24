"""Code hygiene, AIM symbology identifiers, EAN/UPC check digits and GS1 parsing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.scanner.codes import CodeRules, check_code
from edge.scanner.errors import CodeRejected, ScannerError
from edge.scanner.event import ScanEvent

GS = "\x1d"


@pytest.mark.parametrize(
    ("raw", "code", "symbology"),
    [
        ("4006381333931", "4006381333931", "EAN13"),
        ("96385074", "96385074", "EAN8"),
        ("036000291452", "036000291452", "UPCA"),
        ("04252614", "04252614", "UPCE"),
        ("\r\n4006381333931\r\n", "4006381333931", "EAN13"),
        ("\tORDER-2024-0042\r", "ORDER-2024-0042", None),
        ("PS-测试-1 ", "PS-测试-1 ", None),
    ],
)
def test_accepts_clean_codes(raw: str, code: str, symbology: str | None) -> None:
    checked = check_code(raw)
    assert (checked.code, checked.symbology, checked.gs1) == (code, symbology, None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("4006381333932", "wrong check digit in EAN13"),
        ("96385075", "wrong check digit"),
        ("036000291453", "wrong check digit in UPCA"),
        ("", "empty code"),
        ("\r\n\t", "empty code"),
        ("ABC\x07DEF", "control character U+0007 at position 3"),
        ("AB\x1bC", "control character U+001B"),
        ("AB\x7fC", "control character U+007F"),
        ("12\ufffd34", "undecodable bytes at position 2"),
        ("A" * 513, "513 characters long, more than the maximum of 512"),
        ("]C1", "empty code after symbology identifier ]C1"),
    ],
)
def test_rejects_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(CodeRejected, match=re.escape(message)):
        check_code(raw)


def test_length_limit_is_configurable() -> None:
    assert check_code("A" * 512).code == "A" * 512
    with pytest.raises(CodeRejected, match="more than the maximum of 20"):
        check_code("A" * 21, rules=CodeRules(max_length=20))


def test_unmarked_numbers_can_skip_the_gtin_check() -> None:
    assert check_code("12345678", rules=CodeRules(gtin_check=False)).code == "12345678"
    with pytest.raises(CodeRejected):
        check_code("12345678")


@pytest.mark.parametrize(
    ("raw", "code", "symbology"),
    [
        ("]C0ABC-123", "ABC-123", "Code128"),
        ("]A0CODE39", "CODE39", "Code39"),
        ("]Q1https://example.com/o/42", "https://example.com/o/42", "QRCode"),
        ("]d1HELLO", "HELLO", "DataMatrix"),
        ("]E04006381333931", "4006381333931", "EAN13"),
        ("]E496385074", "96385074", "EAN8"),
        ("]L2PDF", "PDF", "PDF417"),
        ("]abc", "]abc", None),
        ("]", "]", None),
    ],
)
def test_aim_symbology_identifiers(raw: str, code: str, symbology: str | None) -> None:
    checked = check_code(raw)
    assert (checked.code, checked.symbology) == (code, symbology)


def test_aim_ean_with_bad_check_digit_is_rejected() -> None:
    with pytest.raises(CodeRejected, match="check digit"):
        check_code("]E04006381333932")


def test_aim_overrides_the_source_hint() -> None:
    assert check_code("]Q1ABC", symbology="Code128").symbology == "QRCode"
    assert check_code("4006381333931", symbology="EAN13").symbology == "EAN13"
    with pytest.raises(CodeRejected, match="check digit in UPCE"):
        check_code("04252615", symbology="UPCE")


def test_gs1_128_with_batch_expiry_and_serial() -> None:
    checked = check_code(f"]C1010950400005910110ABC123{GS}1725123121SER1\r")
    assert checked.code == f"010950400005910110ABC123{GS}1725123121SER1"
    assert checked.symbology == "Code128"
    assert checked.aim == "]C1"
    assert checked.gs1 == {
        "gtin": "09504000059101",
        "batch": "ABC123",
        "expiry": "2025-12-31",
        "serial": "SER1",
        "sscc": None,
        "ais": {"01": "09504000059101", "10": "ABC123", "17": "251231", "21": "SER1"},
    }


@pytest.mark.parametrize("aim", ["]d2", "]Q3", "]e0", "]C1"])
def test_gs1_symbologies_are_parsed(aim: str) -> None:
    checked = check_code(f"{aim}0109504000059101{GS}10LOT7")
    assert checked.gs1 is not None
    assert (checked.gs1["gtin"], checked.gs1["batch"]) == ("09504000059101", "LOT7")


def test_gs1_day_00_means_end_of_month() -> None:
    gs1 = check_code("]C1010950400005910117250200").gs1
    assert gs1 is not None and gs1["expiry"] == "2025-02-28"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("]C10109504000059102", "Invalid GTIN check digit"),
        ("]d20109504000059101172502", "AI \\(17\\)"),
        ("]Q3010950400005910117251331", "AI \\(17\\)"),
        ("]C1ABC", "GS1"),
        (GS, "empty GS1"),
        (f"0109504000059102{GS}10LOT", "Invalid GTIN check digit"),
    ],
)
def test_invalid_gs1_is_rejected(raw: str, message: str) -> None:
    with pytest.raises(CodeRejected, match=message):
        check_code(raw)


@pytest.mark.parametrize(
    "raw",
    [
        f"0109504000059101{GS}10LOT{GS}",  # GS1 without AIM id: recognised by the separator
        f"{GS}0109504000059101{GS}10LOT",  # leading FNC1 sent as GS
        "(01)09504000059101(10)LOT",  # HRI form
    ],
)
def test_gs1_is_recognised_without_symbology_identifier(raw: str) -> None:
    checked = check_code(raw)
    assert checked.gs1 is not None
    assert (checked.gs1["gtin"], checked.gs1["batch"]) == ("09504000059101", "LOT")
    assert not checked.code.startswith(GS) and not checked.code.endswith(GS)


def test_numeric_gs1_without_separator() -> None:
    gs1 = check_code("0109504000059101172512313103000150").gs1
    assert gs1 is not None and gs1["gtin"] == "09504000059101" and gs1["expiry"] == "2025-12-31"


def test_scan_event_json() -> None:
    event = ScanEvent(
        code="4006381333931",
        source="front",
        symbology="EAN13",
        at=datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC),
    )
    body = event.to_json()
    assert body == {
        "code": "4006381333931",
        "source": "front",
        "symbology": "EAN13",
        "gs1": None,
        "scanned_at": "2025-03-01T08:30:15.123+00:00",
    }
    json.dumps(body)
    assert ScanEvent("x", "a").id != ScanEvent("x", "a").id


_gs1ish = st.builds(
    lambda aim, body: aim + body,
    st.sampled_from(["", "]C1", "]d2", "]Q3", "]e0", "]E0", "]E4", "]Y", "]"]),
    st.text(alphabet="0123456789()\x1d\r\nABC", max_size=60),
)


@settings(
    max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.one_of(st.text(max_size=600), _gs1ish, st.from_regex(r"\d{6,20}", fullmatch=True)))
def test_arbitrary_text_only_ever_raises_scanner_error(raw: str) -> None:
    try:
        checked = check_code(raw)
    except ScannerError:
        return
    assert checked.code
    assert len(checked.code) <= 512
    json.dumps(ScanEvent(checked.code, "x", checked.symbology, checked.gs1).to_json())
