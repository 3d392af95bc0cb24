"""A real hub (ingest + web + dispatcher) and real station sync agents over a real mosquitto."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cloud.config import load_hub_config
from cloud.service import Hub
from edge.sample import seed
from edge.store import Store
from edge.sync.agent import SyncAgent
from tests.cloud import conftest as cloud_fixtures
from tests.conftest import free_port, write_config

# The hub database: a fresh SQLite file, and a fresh PostgreSQL schema when configured.
db_url = cloud_fixtures.db_url


def hub_toml(root: Path, database: str, broker_url: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "hub.toml"
    path.write_text(
        f"""
[hub]
database = "{database}"
tenants = ["test"]
dn_ack_timeout_s = 1.0

[mqtt]
url = "{broker_url}"

[http]
port = {free_port()}
token_file = "{root / "api-token"}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def hub(tmp_path, broker, db_url):
    config = load_hub_config(hub_toml(tmp_path / "hub", db_url, broker.url))
    running = Hub(config, "all")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def station_factory(tmp_path, broker):
    made = []

    def make(station_id: str = "st-01", *, seed_orders: int = 2, store: str = "store-01"):
        path = write_config(
            tmp_path / station_id,
            """
[sync]
ack_timeout_s = 2.0
telemetry_interval_s = 0.5
reconnect_min_s = 0.2
reconnect_max_s = 1.0
""",
            station_id=station_id,
            mqtt_url=broker.url,
        )
        text = path.read_text(encoding="utf-8").replace('store = "store-01"', f'store = "{store}"')
        path.write_text(text, encoding="utf-8")
        from edge.config import load_config

        config = load_config(path)
        db = Store(config.db_path)
        with db.write() as conn:
            # the hub owns the stock: a station sells only what it is allotted
            seed(conn, station_id, order_count=seed_orders, stock_each=0)
        agent = SyncAgent(config, db)
        agent.start()
        made.append((agent, db))
        return agent

    yield make
    for agent, db in made:
        agent.stop()
        db.close()


def wait(predicate, timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
