"""Hardware in the loop: print a test ticket and label on the printers of a real station config.

Run on a station with ``PRINTSTATION_HARDWARE=1`` (and ``PRINTSTATION_CONFIG`` when the config
is not ``/etc/printstation/station.toml``).
"""

from __future__ import annotations

import os

import pytest

from edge.config import load_config
from edge.spooler.backends import open_backend, render_options
from edge.spooler.render import render
from edge.spooler.render.samples import sample_label, sample_ticket

pytestmark = pytest.mark.hardware


@pytest.fixture
def config():
    path = os.environ.get("PRINTSTATION_CONFIG", "/etc/printstation/station.toml")
    return load_config(path)


def test_every_configured_printer_answers_and_prints(config):
    assert config.printers, "the config names no printer"
    for printer in config.printers.values():
        backend = open_backend(printer)
        backend.open()
        try:
            status = backend.status()
            assert status.online, status.detail
            if printer.role == "label":
                data = render("label", sample_label(), render_options(printer))
            else:
                data = render("ticket", sample_ticket(), render_options(printer))
            backend.write(data)
        finally:
            backend.close()
