"""Fixtures of the scanner tests: the barcode corpus, fake devices, a kiosk stub."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scanner.fakes import FakeClock, FakeUdev, KioskStub, Recorder

REPO = Path(__file__).resolve().parents[2]
DECODE_REPORT = pytest.StashKey[str]()


def corpus_dir() -> Path:
    """``$PRINTSTATION_CORPUS``, else ``shared/corpus/barcodes`` beside the repository."""
    env = os.environ.get("PRINTSTATION_CORPUS")
    return Path(env) if env else REPO / ".." / "shared" / "corpus" / "barcodes"


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not path.is_dir():
        pytest.skip(f"barcode corpus not found at {path} (set PRINTSTATION_CORPUS)")
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def udev() -> FakeUdev:
    return FakeUdev()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def kiosk() -> Iterator[KioskStub]:
    stub = KioskStub()
    yield stub
    stub.close()


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    """A short path: unix socket paths are limited to 107 bytes."""
    path = tmp_path / "run"
    path.mkdir()
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the camera decoder's measured decode rate in every test log."""
    report = terminalreporter.config.stash.get(DECODE_REPORT, None)
    if report:
        terminalreporter.write_sep("-", "camera decoder on the barcode corpus")
        terminalreporter.write_line(report)
