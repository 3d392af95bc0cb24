"""render(kind, payload, opts): kinds, raw jobs, errors; every job ends with a cut or PRINT."""

from __future__ import annotations

import base64

import pytest

from edge.spooler.errors import RenderError
from edge.spooler.render import RenderOptions, render
from edge.spooler.render.samples import sample_label, sample_picklist, sample_ticket

ESCPOS = RenderOptions()
TSPL = RenderOptions(language="tspl", width_dots=800)


def b64(data: bytes) -> dict[str, str]:
    return {"data_b64": base64.b64encode(data).decode()}


@pytest.mark.parametrize(
    ("kind", "payload"),
    [("ticket", sample_ticket()), ("picklist", sample_picklist()), ("label", sample_label())],
)
def test_escpos_jobs_start_with_init_and_end_with_a_cut(kind, payload):
    data = render(kind, payload, ESCPOS)
    assert data.startswith(b"\x1b@")
    assert data.endswith(b"\x1dV\x00")


def test_label_goes_to_tspl_for_a_tspl_printer():
    data = render("label", sample_label(), TSPL)
    assert data.startswith(b"SIZE 100 mm,150 mm\r\n")
    assert data.endswith(b"PRINT 1\r\n")


def test_profile_without_cutter_still_ends_with_a_cut():
    data = render("ticket", sample_ticket(), RenderOptions(profile="POS-5890", width_dots=384))
    assert data.endswith(b"\x1bd\x06\x1dV\x00")


def test_raw_jobs_pass_through_and_get_a_cut_or_print_when_missing():
    assert render("raw", b64(b"hello\n\x1dV\x00"), ESCPOS) == b"hello\n\x1dV\x00"
    assert render("raw", b64(b"hello\n\x1dVB\x03"), ESCPOS) == b"hello\n\x1dVB\x03"
    assert render("raw", b64(b"hello\n"), ESCPOS) == b"hello\n\x1bd\x06\x1dV\x00"
    assert render("raw", b64(b"CLS\r\nPRINT 1\r\n"), TSPL) == b"CLS\r\nPRINT 1\r\n"
    assert render("raw", b64(b"CLS\r\n"), TSPL) == b"CLS\r\n\r\nPRINT 1\r\n"


@pytest.mark.parametrize(
    ("kind", "payload", "opts", "message"),
    [
        ("receipt", sample_ticket(), ESCPOS, "unknown job kind 'receipt'"),
        ("ticket", sample_ticket(), TSPL, "a ticket needs an ESC/POS receipt printer"),
        ("picklist", sample_picklist(), TSPL, "a picklist needs an ESC/POS receipt printer"),
        ("ticket", {"order_number": "1"}, ESCPOS, "ticket: missing field 'store_name'"),
        ("label", [], ESCPOS, "label: expected an object"),
        ("raw", {}, ESCPOS, "raw job: missing field 'data_b64'"),
        ("raw", {"data_b64": "%%%"}, ESCPOS, "not valid base64"),
    ],
)
def test_bad_jobs_raise_render_error(kind, payload, opts, message):
    with pytest.raises(RenderError, match=message):
        render(kind, payload, opts)
