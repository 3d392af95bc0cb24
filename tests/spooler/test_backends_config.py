"""Printer config models: strict, bounded, described; selection by type; render options."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from edge.spooler.backends import (
    FileBackend,
    FilePrinterConfig,
    NetworkBackend,
    NetworkPrinterConfig,
    PrinterConfig,
    SerialBackend,
    SerialPrinterConfig,
    SimulatedBackend,
    SimulatedPrinterConfig,
    UsbBackend,
    UsbPrinterConfig,
    open_backend,
    render_options,
)
from edge.spooler.render import RenderOptions

PRINTERS = TypeAdapter(dict[str, PrinterConfig])
SECTIONS = {
    "front": {"type": "usb", "role": "receipt", "vendor_id": "04b8", "product_id": "0e15"},
    "labels": {"type": "network", "role": "label", "host": "10.0.0.7", "language": "tspl"},
    "back": {"type": "serial", "role": "picklist", "port": "/dev/ttyUSB0", "baudrate": 38400},
    "lp": {"type": "file", "role": "receipt", "path": "/dev/usb/lp0", "width_mm": 58},
    "sim": {"type": "simulated", "role": "label", "fail": "paper_out", "paper_after_jobs": 3},
}


def test_each_type_selects_its_model_and_back_end():
    printers = PRINTERS.validate_python(SECTIONS)
    expected = {
        "front": (UsbPrinterConfig, UsbBackend),
        "labels": (NetworkPrinterConfig, NetworkBackend),
        "back": (SerialPrinterConfig, SerialBackend),
        "lp": (FilePrinterConfig, FileBackend),
        "sim": (SimulatedPrinterConfig, SimulatedBackend),
    }
    for name, (model, backend) in expected.items():
        assert type(printers[name]) is model
        assert type(open_backend(printers[name])) is backend
    assert printers["front"].vendor_id == 0x04B8
    assert printers["labels"].port == 9100


@pytest.mark.parametrize(
    ("section", "location", "message"),
    [
        (
            {"type": "usb", "role": "receipt", "vendor_id": 1, "product_id": 2, "colour": "red"},
            ("p", "usb", "colour"),
            "Extra inputs are not permitted",
        ),
        (
            {"type": "network", "role": "receipt", "host": "h", "port": 70000},
            ("p", "network", "port"),
            "less than or equal to 65535",
        ),
        (
            {"type": "usb", "role": "receipt", "vendor_id": "xyz", "product_id": 1},
            ("p", "usb", "vendor_id"),
            "'xyz' is not a hexadecimal number",
        ),
        ({"type": "laser", "role": "receipt"}, ("p",), "does not match any of the expected tags"),
        (
            {"type": "file", "role": "receipt", "path": "/x", "profile": "TM-NOPE"},
            ("p", "file", "profile"),
            "unknown printer profile 'TM-NOPE'",
        ),
        (
            {"type": "network", "role": "receipt", "host": "h", "language": "tspl"},
            ("p", "network"),
            'a tspl printer can only have role = "label"',
        ),
        (
            {"type": "simulated", "role": "label", "delay_ms": -1},
            ("p", "simulated", "delay_ms"),
            "greater than or equal to 0",
        ),
        ({"type": "simulated", "role": "till"}, ("p", "simulated", "role"), "Input should be"),
        ({"type": "serial", "role": "receipt"}, ("p", "serial", "port"), "Field required"),
    ],
)
def test_bad_sections_are_rejected_with_their_key_path(section, location, message):
    with pytest.raises(ValidationError) as caught:
        PRINTERS.validate_python({"p": section})
    (error,) = caught.value.errors()
    assert error["loc"] == location
    assert message in error["msg"]


@pytest.mark.parametrize(
    "model",
    [
        UsbPrinterConfig,
        NetworkPrinterConfig,
        SerialPrinterConfig,
        FilePrinterConfig,
        SimulatedPrinterConfig,
    ],
)
def test_every_field_is_described(model: type[BaseModel]):
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
    assert model.model_config.get("extra") == "forbid"


def test_render_options_follow_the_printer():
    printers = PRINTERS.validate_python(SECTIONS)
    assert render_options(printers["front"]) == RenderOptions()
    assert render_options(printers["lp"]).width_dots == 384
    labels = render_options(printers["labels"])
    assert (labels.language, labels.width_dots, labels.label_size_mm, labels.dpi) == (
        "tspl",
        800,
        (100, 150),
        203,
    )
    tm88 = PRINTERS.validate_python(
        {
            "t": {
                "type": "file",
                "role": "receipt",
                "path": "/x",
                "profile": "TM-T88V",
                "cjk": "raster",
            }
        }
    )["t"]
    assert render_options(tm88) == RenderOptions(profile="TM-T88V", width_dots=512, cjk="raster")
