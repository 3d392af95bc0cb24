"""Fixtures for the printer emulator tests: jobs made by python-escpos, a running emulator,
a barcode reader, and a guard that fails a test when the emulator logged an error."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.emulator.server import PrinterEmulator

logging.getLogger("escpos").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
def no_logged_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if the emulator logged an error (a swallowed exception)."""
    caplog.set_level(logging.INFO, logger="edge.emulator")
    yield
    errors = [
        r
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR and r.name.startswith("edge.emulator")
    ]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture
def make_emulator(tmp_path: Path) -> Iterator[Callable[..., PrinterEmulator]]:
    """Start emulators on free ports in a temporary folder; all are stopped afterwards."""
    started: list[PrinterEmulator] = []

    def make(**options: object) -> PrinterEmulator:
        out_dir = options.pop("out_dir", tmp_path / f"out{len(started)}")
        emulator = PrinterEmulator("127.0.0.1", 0, out_dir, **options)  # type: ignore[arg-type]
        emulator.start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., PrinterEmulator]) -> PrinterEmulator:
    return make_emulator()
