"""Rendered jobs printed by the printer emulator: the codes on the paper decode back."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image

from edge.emulator.render import render_job
from edge.spooler.render import RenderOptions, render
from edge.spooler.render.samples import sample_label, sample_picklist, sample_ticket

URL = sample_ticket()["status_url"]
RECEIPT_OPTIONS = {
    "80mm-gb18030": RenderOptions(),
    "80mm-raster": RenderOptions(cjk="raster"),
    "58mm-no-barcode-profile": RenderOptions(profile="POS-5890", width_dots=384, cjk="raster"),
    "TM-T88V": RenderOptions(profile="TM-T88V", width_dots=512),
}


def print_job(data: bytes, width_dots: int, tmp_path, name: str) -> Image.Image:
    pages = render_job(data, width_dots=width_dots)
    assert len(pages) == 1, "one job prints one page (one cut)"
    page = pages[0]
    page.save(tmp_path / f"{name}.png")
    return page


def codes(image: Image.Image) -> dict[str, str]:
    return {result.text: result.format.name for result in zxingcpp.read_barcodes(image)}


@pytest.mark.parametrize("options", RECEIPT_OPTIONS.values(), ids=RECEIPT_OPTIONS.keys())
def test_ticket_barcode_and_qr_decode(options, tmp_path):
    page = print_job(
        render("ticket", sample_ticket(), options), options.width_dots, tmp_path, "ticket"
    )
    assert page.width == options.width_dots
    found = codes(page)
    assert found.get("A1024") == "Code128"
    assert found.get(URL) == "QRCode"


@pytest.mark.parametrize("options", RECEIPT_OPTIONS.values(), ids=RECEIPT_OPTIONS.keys())
def test_picklist_order_barcodes_decode(options, tmp_path):
    page = print_job(
        render("picklist", sample_picklist(), options), options.width_dots, tmp_path, "picklist"
    )
    found = codes(page)
    assert {number: found.get(number) for number in ("1001", "1002", "1010")} == {
        "1001": "Code128",
        "1002": "Code128",
        "1010": "Code128",
    }


@pytest.mark.parametrize("options", RECEIPT_OPTIONS.values(), ids=RECEIPT_OPTIONS.keys())
def test_escpos_label_tracking_barcode_decodes(options, tmp_path):
    page = print_job(
        render("label", sample_label(), options), options.width_dots, tmp_path, "label"
    )
    assert codes(page).get("SF1234567890123") == "Code128"


def test_tspl_label_tracking_barcode_and_order_qr_decode(tmp_path):
    options = RenderOptions(language="tspl", width_dots=800)
    page = print_job(render("label", sample_label(), options), 800, tmp_path, "label-tspl")
    assert page.size == (800, 1200)
    found = codes(page)
    assert found.get("SF1234567890123") == "Code128"
    assert found.get("1001") == "QRCode"


def test_tspl_label_with_hostile_text_still_prints_one_tidy_label(tmp_path):
    payload = sample_label()
    payload["recipient"]["name"] = 'Bob"\r\nPRINT 5\r\nCLS'
    options = RenderOptions(language="tspl", width_dots=800)
    page = print_job(render("label", payload, options), 800, tmp_path, "label-hostile")
    found = codes(page)
    assert found.get("SF1234567890123") == "Code128"
    assert found.get("1001") == "QRCode"
