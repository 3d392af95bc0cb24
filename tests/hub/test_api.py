"""The hub's HTTP API against a running hub and station: catalog, stock, commands."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from edge.store import catalog, journal, outbox, print_jobs, stock
from tests.hub.conftest import wait
from tests.hub.test_sync_e2e import known

pytestmark = pytest.mark.slow


def call(hub, method: str, path: str, body=None, token: str | None = None):
    url = f"http://127.0.0.1:{hub.server.effective_port}{path}"
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token is not False:
        token = token or hub.config.http.token_file.read_text().strip()
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def test_api_needs_a_token_and_errors_share_one_shape(hub):
    for path in ("/api/v1/stations", "/api/v1/stock/X", "/api/v1/orders/nope"):
        status, body = call(hub, "GET", path, token=False)
        assert status == 401 and set(body["error"]) == {"code", "message"}
    status, body = call(hub, "GET", "/api/v1/orders/nope")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = call(hub, "POST", "/api/v1/stock/receipts", {"sku": "X"})
    assert status == 400 and body["error"]["code"] == "bad_request"
    status, _ = call(hub, "GET", "/healthz", token=False)
    assert status == 200


def test_catalog_stock_and_commands_through_the_api(hub, station_factory):
    agent = station_factory("st-01", seed_orders=1)
    wait(lambda: known(hub, "st-01"), what="station known")
    status, body = call(
        hub,
        "PUT",
        "/api/v1/catalog",
        {
            "products": [
                {
                    "sku": "TEA-2",
                    "name": "绿茶",
                    "name_en": "Green tea",
                    "price": "5.50",
                    "category": "饮料 Drinks",
                    "barcodes": ["6920000000018"],
                }
            ]
        },
    )
    assert status == 200, body
    status, view = call(
        hub, "POST", "/api/v1/stock/receipts", {"store": "store-01", "sku": "TEA-2", "qty": 8}
    )
    assert status == 201 and view["on_hand"] == 8
    status, view = call(
        hub, "POST", "/api/v1/stock/allotments", {"station": "st-01", "sku": "TEA-2", "qty": 6}
    )
    assert status == 201, view
    status, body = call(
        hub, "POST", "/api/v1/stock/allotments", {"station": "st-01", "sku": "TEA-2", "qty": 6}
    )
    assert status == 409 and body["error"]["code"] == "insufficient_stock"
    wait(lambda: stock.sellable(agent.store.conn(), "TEA-2") == 6, what="allotment at station")
    assert catalog.get(agent.store.conn(), "TEA-2")["name_en"] == "Green tea"

    with agent.store.write() as conn:
        job = print_jobs.enqueue(conn, "receipt", "raw", {"data_b64": "SGk="})
    status, cmd = call(
        hub,
        "POST",
        "/api/v1/stations/st-01/commands",
        {"name": "reprint", "args": {"job_id": job["id"]}, "ttl_s": 60},
    )
    assert status == 201, cmd
    wait(lambda: len(print_jobs.find(agent.store.conn(), status="queued")) == 2, what="reprinted")
    wait(lambda: outbox.depth(agent.store.conn()) == 0, what="result went up")

    def done() -> bool:
        _, station = call(hub, "GET", "/api/v1/stations/st-01")
        return any(c["id"] == cmd["id"] and c["status"] == "done" for c in station["commands"])

    wait(done, what="command done at the hub")
    status, stations = call(hub, "GET", "/api/v1/stations")
    [st] = stations["stations"]
    assert st["id"] == "st-01" and st["online"] is True
    status, body = call(hub, "GET", "/api/v1/stock/TEA-2")
    assert body["on_hand"] == 8 and body["stations"][0]["allotted"] == 6
    order = next(
        e.data["order"]
        for e in journal.since(agent.store.conn(), 0, 10_000)
        if e.kind == "order.created"
    )
    status, body = call(hub, "GET", f"/api/v1/orders/{order['id']}")
    assert status == 200 and body["number"] == order["number"] and body["timeline"]
