import pytest

from tests.station.harness import Station


@pytest.fixture
def station(tmp_path):
    """A running station: kiosk, scanner and spooler processes, printer emulators on TCP."""
    s = Station(tmp_path / "st")
    s.start()
    yield s
    s.stop()
