"""Order intake fixtures: a migrated hub database (SQLite and PostgreSQL), a catalog with
stock, a hub config with an ``[intake]`` section, and a real running hub over HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from cloud import catalog, stock
from cloud.config import HubConfig, load_hub_config
from cloud.db import migrate, transaction
from cloud.service import Hub
from tests.cloud import conftest as cloud_fixtures
from tests.conftest import free_port

db_url = cloud_fixtures.db_url

TENANT = "test"  # the tenant of the stations that tests/conftest.py writes
STORE = "store-01"
PRODUCTS = [
    {"sku": "TEA-1", "name": "绿茶", "price": "5.50", "barcodes": []},
    {"sku": "COLA-1", "name": "可乐", "price": "3.00", "barcodes": []},
    {"sku": "TV-1", "name": "电视机", "price": "4999.00", "barcodes": []},
]
STOCK = {"TEA-1": 500, "COLA-1": 500, "TV-1": 10}


def hub_toml(root: Path, database: str, broker_url: str, intake: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "hub.toml"
    path.write_text(
        f"""
[hub]
database = "{database}"
tenants = ["{TENANT}"]

[mqtt]
url = "{broker_url}"

[http]
port = {free_port()}
token_file = "{root / "api-token"}"

[intake]
batch_rows = 50
{intake}
""",
        encoding="utf-8",
    )
    return path


def order_body(external_id: str = "T-1001", **over: Any) -> dict[str, Any]:
    """A clean order: known SKUs in stock, a full address, a valid mobile, paid."""
    body: dict[str, Any] = {
        "channel": "taobao",
        "external_id": external_id,
        "customer": {"name": "张三", "phone": "13800138000"},
        "address": "广东省深圳市南山区科技园路1号",
        "service_level": "standard",
        "payment_status": "paid",
        "lines": [{"sku": "TEA-1", "qty": 2}],
    }
    body.update(over)
    return body


def seed(engine: Engine) -> None:
    with transaction(engine) as conn:
        catalog.put_catalog(conn, TENANT, PRODUCTS)
        for sku, qty in STOCK.items():
            stock.receive(conn, TENANT, STORE, sku, qty)


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> HubConfig:
    return load_hub_config(hub_toml(tmp_path / "hub", db_url, "mqtt://127.0.0.1:1"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated hub database with the catalog and stock of :data:`PRODUCTS`."""
    eng = cloud_fixtures.open_engine(db_url)
    migrate(eng)
    seed(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def hub(tmp_path: Path, broker: Any, db_url: str) -> Iterator[Hub]:
    """A real hub (ingest + web) on its own port, with the catalog seeded."""
    config = load_hub_config(hub_toml(tmp_path / "hub", db_url, broker.url))
    running = Hub(config, "all")
    seed(running.engine)
    running.start()
    yield running
    # let the server finish the last responses first: closing it under a channel that is
    # still being served makes waitress's thread fail on a closed socket
    deadline = time.monotonic() + 5
    while running.server.active_channels and time.monotonic() < deadline:
        time.sleep(0.02)
    running.stop()


def call(
    hub: Hub,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | bool | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One HTTP request to the hub: (status, JSON or text, headers)."""
    url = f"http://127.0.0.1:{hub.server.effective_port}{path}"
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not False:
        token = token or hub.config.http.token_file.read_text().strip()
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, _decode(resp.read(), resp.headers), dict(resp.headers)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, _decode(err.read(), err.headers), dict(err.headers)


def _decode(payload: bytes, headers: Any) -> Any:
    if headers.get_content_type() == "application/json":
        return json.loads(payload)
    return payload.decode("utf-8")
