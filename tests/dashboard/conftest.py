"""Dashboard fixtures: a migrated hub database (SQLite and PostgreSQL), a hub config and
the hub's Flask app with a logged-in test client per role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from cloud import registry, users
from cloud.config import HubConfig
from cloud.db import transaction
from cloud.web.app import create_app
from tests.cloud.conftest import db_url, engine  # noqa: F401 - fixtures

PASSWORD = "correct horse battery"


def hub_config(root: Path, database: str = "", **sections: Any) -> HubConfig:
    raw: dict[str, Any] = {
        "hub": {"database": database or str(root / "hub.db"), "tenants": ["test"]},
        "http": {"token_file": str(root / "api-token")},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return HubConfig.model_validate(raw)


@pytest.fixture
def config(tmp_path: Path) -> HubConfig:
    return hub_config(tmp_path)


@pytest.fixture
def app(config: HubConfig, engine: Engine):  # noqa: F811
    with transaction(engine) as conn:
        for role in ("viewer", "operator", "admin"):
            users.add_user(conn, role, PASSWORD, role)
        registry.register(conn, "test", "st-01", "store-01")
    flask_app = create_app(config, engine)
    flask_app.config["TESTING"] = True
    return flask_app


def login(client: Any, name: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"name": name, "password": password})


def csrf(client: Any) -> str:
    with client.session_transaction() as session:
        return str(session["csrf"])
