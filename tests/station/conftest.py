import os
from pathlib import Path

import pytest

from tests.station.harness import Station

CHROMIUM = os.environ.get("PRINTSTATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]


@pytest.fixture
def station(tmp_path):
    """A running station: kiosk, scanner and spooler processes, printer emulators on TCP."""
    s = Station(tmp_path / "st")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def browser():
    """Headless Debian Chromium driven by Playwright (which never downloads a browser here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./install.sh --dev (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
