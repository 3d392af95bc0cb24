from __future__ import annotations

import pytest

from edge.kiosk.app import create_app
from edge.kiosk.runtime import Runtime
from edge.sample import seed
from edge.store import Store

PRINTERS = """
[printers.receipt]
type = "simulated"
role = "receipt"

[printers.label]
type = "simulated"
role = "label"
language = "tspl"
"""


@pytest.fixture
def runtime(station_config):
    config = station_config(PRINTERS)
    store = Store(config.db_path)
    with store.write() as conn:
        seed(conn, config.station.id)
    rt = Runtime(config=config, store=store)
    yield rt
    store.close()


@pytest.fixture
def app(runtime):
    return create_app(runtime)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(app):
    return app.config["API_TOKEN"]


@pytest.fixture
def api(client, token):
    """``api(method, path, json=None, **kw)`` with the bearer token."""

    def call(method, path, **kw):
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kw)

    return call


@pytest.fixture
def staff_client(client):
    """A client logged in as the demo staff member; ``.csrf`` holds its CSRF token."""
    resp = client.post("/pack/login", data={"pin": "1234"})
    assert resp.status_code == 302
    with client.session_transaction() as session:
        client.csrf = session["csrf"]
    return client


@pytest.fixture
def token_for():
    """``token_for(runtime)(method, path, **kw)``: an API client with the bearer token."""

    def make(runtime):
        app = create_app(runtime)
        client = app.test_client()
        token = app.config["API_TOKEN"]

        def call(method, path, **kw):
            headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
            return client.open(path, method=method, headers=headers, **kw)

        return call

    return make
