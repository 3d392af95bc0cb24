"""Property-based tests of the CSV importer: any bytes, and any rows under the standard
header in UTF-8 or GB18030, either import (every row accounted for as accepted or rejected)
or are refused whole with ImportFailed; rejected rows export with every formula-like cell
neutralised."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud import importer
from cloud.errors import InvalidInput
from cloud.importer import FORMULA_START, ImportFailed

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HEADER = ["channel", "external_id", "customer_name", "phone", "address", "sku", "qty"]
hostile = st.sampled_from(
    [
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1",
        "<script>alert(1)</script>",
        "'; DROP TABLE orders; --",
        "广东省深圳市南山区科技园路1号",
        "TEA-1",
        "taobao",
        "13800138000",
        "2",
        "-5",
        "",
    ]
)
cells = st.one_of(hostile, st.text(max_size=30))
rows = st.lists(st.lists(cells, min_size=0, max_size=9), max_size=25)


def _import(engine, config, raw: bytes) -> importer.Result | None:
    try:
        return importer.run(engine, config, "acme", io.BytesIO(raw), filename="fuzz.csv")
    except ImportFailed:
        return None


def _check(engine, result: importer.Result) -> None:
    p = result.progress
    assert p.accepted + p.rejected <= p.rows
    exported = "".join(importer.errors_csv(engine, result.id))
    for record in list(csv.reader(io.StringIO(exported)))[1:]:
        assert record[0].isdigit()
        for cell in record:
            assert not cell.startswith(FORMULA_START), cell


@FUZZ
@given(raw=st.binary(max_size=3000))
def test_any_bytes_import_or_are_refused_whole(engine, config, raw: bytes) -> None:
    result = _import(engine, config, raw)
    if result is not None:
        _check(engine, result)


@FUZZ
@given(body=rows, encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_rows_under_the_standard_header_are_each_accepted_or_rejected(
    engine, config, body: list[list[str]], encoding: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(body)
    try:
        raw = out.getvalue().encode(encoding)
    except UnicodeEncodeError:  # text GB18030 cannot hold: not a file anyone could send
        raw = out.getvalue().encode("utf-8")
    try:
        result = _import(engine, config, raw)
    except InvalidInput:
        raise AssertionError("a file with the standard header must not be refused") from None
    assert result is not None
    # blank lines (no cell with anything but spaces) are skipped, every other row counts
    assert result.progress.rows == sum(1 for row in body if any(c.strip() for c in row))
    _check(engine, result)
