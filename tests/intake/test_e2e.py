"""CSV to station: a real hub and a real station sync agent over a real mosquitto. Orders
imported from a CSV are checked, allocated to the station by the allocation sweep, reach
its database over the ``dn`` stream, and the public tracking page shows the steps.
(Packing by scans at full stations is covered by ``tests/allocation/test_e2e.py``, which
posts through this intake.)
"""

from __future__ import annotations

import pytest

from edge.store import orders as station_orders
from tests.hub.conftest import station_factory, wait  # noqa: F401
from tests.hub.test_sync_e2e import known

from .conftest import call

pytestmark = pytest.mark.slow

HEADER = "channel,external_id,customer_name,phone,address,sku,qty\n"


def test_imported_orders_are_allocated_and_reach_the_station(hub, station_factory):  # noqa: F811
    agent = station_factory("st-01", seed_orders=0)
    wait(lambda: known(hub, "st-01"), what="station known with its store")
    status, body, _ = call(
        hub, "PUT", "/api/v1/stores/store-01", {"province": "广东省", "city": "深圳市"}
    )
    assert status == 200, body
    text = (
        HEADER.rstrip("\n")
        + ",payment_status\n"
        + (
            "web,W-1,张三,13800138000,广东省深圳市南山区科技园路1号,TEA-1,2,paid\n"
            "web,W-1,张三,13800138000,广东省深圳市南山区科技园路1号,COLA-1,1,paid\n"
            "web,W-2,李四,13900139000,广东省深圳市福田区深南大道2号,TEA-1,1,unpaid\n"
        )
    )
    status, answer, _ = call(
        hub,
        "POST",
        "/api/v1/orders/import",
        raw=text.encode("gb18030"),
        headers={"Content-Type": "text/csv"},
    )
    assert status == 201, answer
    by_id = {o["external_id"]: o for o in answer["orders"]}
    # imported orders wait, checked, for the allocation sweep (every 10 s)
    assert by_id["W-1"]["status"] == "checked", answer
    assert by_id["W-2"]["status"] == "exception" and by_id["W-2"]["reasons"] == ["unpaid"]

    # the allocated order reaches the station; the held one does not
    number = by_id["W-1"]["number"]

    def at_station():
        return station_orders.by_number(agent.store.conn(), number)

    wait(lambda: at_station() is not None, timeout=40, what="order allocated and at the station")
    assert [(l["sku"], l["qty"]) for l in at_station()["lines"]] == [("TEA-1", 2), ("COLA-1", 1)]
    assert station_orders.by_number(agent.store.conn(), by_id["W-2"]["number"]) is None

    # released by a person, the held order is allocated and sent too
    status, released, _ = call(
        hub, "POST", f"/api/v1/orders/{by_id['W-2']['id']}/release", {"by": "ops", "note": "paid"}
    )
    assert status == 200 and released["status"] == "allocated", released
    wait(
        lambda: station_orders.by_number(agent.store.conn(), by_id["W-2"]["number"]) is not None,
        what="released order at the station",
    )
    _, page, _ = call(hub, "GET", f"/track/{number}?lang=en", token=False)
    assert page.count('class="done"') == 3  # received, checked, allocated
    _, order, _ = call(hub, "GET", f"/api/v1/orders/{by_id['W-2']['id']}")
    steps = [t["status"] for t in order["timeline"]]
    assert steps == ["received", "exception", "released", "checked", "allocated"]
