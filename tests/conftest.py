"""Shared fixtures: station configs, stores with the sample data, a guard against logged errors."""

from __future__ import annotations

import logging
import os
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.config import StationConfig, load_config

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(
    root: Path,
    extra: str = "",
    *,
    station_id: str = "st-01",
    http_port: int | None = None,
    mqtt_url: str = "mqtt://127.0.0.1:9",
) -> Path:
    """A station config under ``root`` (its data dir); ``extra`` adds TOML sections. The
    broker defaults to a closed port: a station works without one."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "station.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [station]
            id = "{station_id}"
            tenant = "test"
            store = "store-01"
            store_name = "测试门店"
            data_dir = "{root}"

            [http]
            port = {http_port or free_port()}

            [mqtt]
            url = "{mqtt_url}"

            [spooler]
            retry_base_s = 0.05
            retry_max_s = 0.2
            status_interval_s = 0.2
            """
        )
        + textwrap.dedent(extra),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def station_config(tmp_path: Path):
    """Factory: ``station_config(extra_toml) -> StationConfig``."""

    def make(extra: str = "", **kwargs: object) -> StationConfig:
        return load_config(write_config(tmp_path / "station", extra, **kwargs))  # type: ignore[arg-type]

    return make


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Hardware-in-the-loop tests run only with PRINTSTATION_HARDWARE=1."""
    if os.environ.get("PRINTSTATION_HARDWARE") == "1":
        return
    skip = pytest.mark.skip(reason="needs real devices; set PRINTSTATION_HARDWARE=1")
    for item in items:
        if item.get_closest_marker("hardware"):
            item.add_marker(skip)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[object]:
    """A real mosquitto of the test's own on a free loopback port (stop/restart at will)."""
    from tests.broker.mosquitto import Mosquitto

    mosq = Mosquitto(tmp_path / "broker")
    mosq.start()
    yield mosq
    mosq.stop()


@pytest.fixture(autouse=True)
def _no_unexpected_errors(
    caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Fail a test that logged an error it did not declare with ``@pytest.mark.allow_errors``."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_errors"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("unexpected error logged: " + "; ".join(r.getMessage() for r in errors[:3]))
