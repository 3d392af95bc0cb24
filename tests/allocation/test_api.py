"""The allocation routes of the hub API: carriers, store regions, decisions, moving an
order, waybill blocks and returns — with the shared error shape on bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cloud import orders
from cloud.config import HubConfig
from cloud.db import read_only, transaction
from cloud.ingest import ingest
from cloud.schema_allocation import returns as returns_table
from cloud.web.app import create_app
from edge import protocol
from tests.cloud.factories import Journal

from .helpers import CARRIERS, TENANT, checked_order, online


@pytest.fixture
def hub_api(engine: Engine, tmp_path):
    config = HubConfig.model_validate(
        {"hub": {"tenants": [TENANT]}, "http": {"token_file": str(tmp_path / "token")}}
    )
    app = create_app(config, engine)
    client = app.test_client()
    token = app.config["API_TOKEN"]

    def call(method: str, path: str, json=None):
        return client.open(
            path, method=method, json=json, headers={"Authorization": f"Bearer {token}"}
        )

    return call


def _error(resp, status: int) -> str:
    assert resp.status_code == status, resp.json
    assert set(resp.json["error"]) == {"code", "message"}
    return str(resp.json["error"]["message"])


def test_carriers_and_stores_are_set_and_bad_ones_refused(hub_api, engine):
    assert hub_api("PUT", "/api/v1/carriers", {"carriers": CARRIERS}).status_code == 200
    codes = [c["code"] for c in hub_api("GET", "/api/v1/carriers").json["carriers"]]
    assert codes == ["EMS", "SF"]
    message = _error(hub_api("PUT", "/api/v1/carriers", {"carriers": [{"code": "x"}]}), 400)
    assert "code" in message
    assert _error(hub_api("PUT", "/api/v1/carriers", {"carriers": []}), 400)
    assert _error(hub_api("PUT", "/api/v1/carriers", json=None), 400)
    # nothing of a refused table was written
    assert len(hub_api("GET", "/api/v1/carriers").json["carriers"]) == 2
    assert hub_api("PUT", "/api/v1/stores/gz", {"province": "广东省"}).status_code == 200
    assert _error(hub_api("PUT", "/api/v1/stores/gz", {"province": 5}), 400)


def test_orders_are_allocated_moved_and_returned_through_the_api(hub_api, engine):
    hub_api("PUT", "/api/v1/carriers", {"carriers": CARRIERS})
    hub_api("PUT", "/api/v1/stores/gz", {"province": "广东省", "city": "广州市"})
    hub_api("PUT", "/api/v1/stores/sh", {"province": "上海市"})
    with transaction(engine) as conn:
        online(conn, "gz-1", "gz")
        online(conn, "sh-1", "sh")
        order_id = checked_order(conn)
    for store in ("gz", "sh"):
        hub_api("POST", "/api/v1/stock/receipts", {"store": store, "sku": "SKU-1", "qty": 5})
    run = hub_api("POST", "/api/v1/allocation/run").json["decisions"]
    assert [(d["order_id"], d["station"]) for d in run] == [(order_id, "gz-1")]
    decisions = hub_api("GET", f"/api/v1/orders/{order_id}/allocation").json["decisions"]
    assert decisions[0]["station"] == "gz-1" and len(decisions[0]["candidates"]) == 2
    assert _error(hub_api("POST", f"/api/v1/orders/{order_id}/reallocate", {}), 400)
    moved = hub_api(
        "POST", f"/api/v1/orders/{order_id}/reallocate", {"by": "ops", "reason": "gz-1 busy"}
    )
    assert moved.status_code == 200 and moved.json["station"] == "sh-1"
    assert _error(hub_api("POST", "/api/v1/orders/nope/reallocate", {"by": "ops"}), 404)
    blocks = hub_api("GET", "/api/v1/stations/sh-1/waybills").json["blocks"]
    assert [b["carrier"] for b in blocks] == ["EMS"]
    assert _error(hub_api("GET", "/api/v1/stations/nope/waybills"), 404)
    assert "packed or shipped" in _error(
        hub_api("POST", f"/api/v1/orders/{order_id}/returns", {"reason": "x"}), 400
    )
    with transaction(engine) as conn:
        conn.execute(
            orders.orders.update().where(orders.orders.c.id == order_id).values(status="shipped")
        )
    made = hub_api("POST", f"/api/v1/orders/{order_id}/returns", {"reason": "wrong size"})
    assert made.status_code == 201 and made.json["number"].startswith("RT")
    assert _error(hub_api("POST", f"/api/v1/orders/{order_id}/returns", {"reason": 5}), 400)
    assert _error(hub_api("POST", "/api/v1/orders/nope/returns", {}), 404)
    listed = hub_api("GET", f"/api/v1/orders/{order_id}/returns").json["returns"]
    assert [r["id"] for r in listed] == [made.json["id"]]


def test_a_return_asked_for_at_a_kiosk_is_recorded_at_the_hub(engine):
    with transaction(engine) as conn:
        online(conn, "gz-1", "gz")
        order_id = checked_order(conn)
        conn.execute(
            orders.orders.update()
            .where(orders.orders.c.id == order_id)
            .values(station="gz-1", status="packed")
        )
    j = Journal("gz-1")
    record = {
        "id": "r1",
        "number": "RTR1",
        "order_id": order_id,
        "order_number": "x",
        "lines": [{"sku": "SKU-1", "qty": 2}],
        "reason": "",
    }
    j.add(protocol.RETURN_REQUESTED, {"order_id": order_id, "return": record})
    j.add(protocol.RETURN_REQUESTED, {"order_id": order_id, "return": record})  # a repeat
    j.add(protocol.RETURN_REQUESTED, {"order_id": "nope", "return": {**record, "id": "r2"}})
    ack = ingest(engine, TENANT, j.batch())
    assert [seq for seq, _ in ack.rejected] == [3]
    with read_only(engine) as conn:
        rows = conn.execute(returns_table.select()).mappings().all()
        assert [(r["id"], r["station"], r["source"]) for r in rows] == [
            ("r1", "gz-1", "kiosk gz-1")
        ]
