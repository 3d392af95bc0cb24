"""The station's side of allocation: assigned orders packed by scans with a waybill from
the granted pool, revokes, and returns asked for at the kiosk and inspected by staff."""

from __future__ import annotations

import pytest

from edge import protocol
from edge.protocol import GENESIS_HASH, Event
from edge.store import journal, orders, print_jobs, returns, stock, waybills
from edge.sync.apply import NeverApplies, apply

SKU = "DRK-001"


class Hub:
    """Hub events for one station, chained like the hub's dn stream."""

    def __init__(self) -> None:
        self.seq, self.last = 0, GENESIS_HASH

    def send(self, rt, kind: str, data: dict) -> None:
        self.seq += 1
        event: Event = protocol.seal(self.seq, kind, data, self.last)
        self.last = event.hash
        with rt.store.write() as conn:
            apply(conn, event, rt.config)


def assigned(number: str = "HB0000000001", qty: int = 2) -> dict:
    return {
        "order": {
            "id": number.lower(),
            "number": number,
            "channel": "web",
            "lines": [{"sku": SKU, "qty": qty, "name": "可乐", "unit_price": "3.50"}],
            "priority": 0,
            "customer_name": "王伟",
            "phone": "13800000000",
            "address": "广东省广州市天河区体育西路1号",
            "carrier": "EMS",
            "service_level": "standard",
            "sort_code": "EMS-GD-03",
            "paid": True,
        }
    }


POOL = {
    "block_id": 7,
    "carrier": "EMS",
    "prefix": "EE",
    "suffix": "CN",
    "width": 8,
    "scheme": "s10",
    "first": 47312482,
    "last": 47312483,
}


def _scan(api, code):
    return api("POST", "/api/v1/scans", json={"code": code, "source": "test"})


def _by_number(rt, number: str) -> dict:
    found = orders.by_number(rt.store.conn(), number)
    assert found is not None
    return found


def _sellable(rt) -> int:
    return stock.sellable(rt.store.conn(), SKU)


def test_an_assigned_order_packs_with_a_pool_waybill_and_sells_its_units(api, runtime):
    hub = Hub()
    before = _sellable(runtime)
    hub.send(runtime, protocol.STOCK_ALLOTMENT, {"sku": SKU, "qty": 2, "allotted": 2})
    hub.send(runtime, protocol.WAYBILL_POOL, POOL)
    hub.send(runtime, protocol.WAYBILL_POOL, POOL)  # a resent block is kept once
    hub.send(runtime, protocol.ORDER_ASSIGNED, assigned())
    assert waybills.remaining(runtime.store.conn()) == {"EMS": 2}
    order = _by_number(runtime, "HB0000000001")
    assert order["status"] == "open" and order["sort_code"] == "EMS-GD-03"
    assert _scan(api, order["number"]).json["outcome"] == "order_opened"
    assert _scan(api, SKU).json["outcome"] == "item_packed"
    assert _scan(api, SKU).json["outcome"] == "order_packed"
    packed = orders.get(runtime.store.conn(), order["id"])
    # UPU S10: serial 47312482 weighted 8 6 4 2 3 5 9 7 gives check digit 9
    assert packed["tracking_number"] == "EE473124829CN"
    (job,) = print_jobs.find(runtime.store.conn(), order_id=order["id"])
    assert job["kind"] == "label"
    assert job["payload"]["tracking_number"] == "EE473124829CN"
    assert job["payload"]["sort_code"] == "EMS-GD-03"
    assert _sellable(runtime) == before  # granted 2, sold 2
    events = journal.since(runtime.store.conn(), 0, 10_000)
    used = [e.data for e in events if e.kind == protocol.WAYBILL_USED]
    assert used == [
        {
            "carrier": "EMS",
            "block_id": 7,
            "serial": 47312482,
            "number": "EE473124829CN",
            "order_id": order["id"],
        }
    ]
    sales = [
        e.data for e in events if e.kind == protocol.STOCK_MOVED and e.data["reason"] == "sale"
    ]
    assert sales[-1]["ref"] == order["id"] and sales[-1]["qty"] == -2
    assert waybills.remaining(runtime.store.conn()) == {"EMS": 1}


def test_without_numbers_left_the_label_falls_back_to_the_order_number(api, runtime):
    hub = Hub()
    hub.send(runtime, protocol.STOCK_ALLOTMENT, {"sku": SKU, "qty": 1, "allotted": 1})
    hub.send(runtime, protocol.ORDER_ASSIGNED, assigned(qty=1))
    _scan(api, "HB0000000001")
    assert _scan(api, SKU).json["outcome"] == "order_packed"
    packed = _by_number(runtime, "HB0000000001")
    assert packed["tracking_number"] is None
    (job,) = print_jobs.find(runtime.store.conn(), order_id=packed["id"])
    assert job["payload"]["tracking_number"] == "HB0000000001"


def test_a_revoke_cancels_an_untouched_order_and_is_refused_once_packing(api, runtime):
    hub = Hub()
    hub.send(runtime, protocol.ORDER_ASSIGNED, assigned("HB0000000001"))
    hub.send(runtime, protocol.ORDER_ASSIGNED, assigned("HB0000000002"))
    first = _by_number(runtime, "HB0000000001")
    hub.send(runtime, protocol.ORDER_REVOKED, {"order_id": first["id"], "reason": "offline"})
    gone = orders.get(runtime.store.conn(), first["id"])
    assert gone["status"] == "cancelled"
    assert gone["timeline"][-1]["note"] == "moved by the hub: offline"
    second = _by_number(runtime, "HB0000000002")
    _scan(api, second["number"])
    with pytest.raises(NeverApplies, match="already packing"):
        hub.send(runtime, protocol.ORDER_REVOKED, {"order_id": second["id"]})
    assert orders.get(runtime.store.conn(), second["id"])["status"] == "packing"
    hub.send(runtime, protocol.ORDER_REVOKED, {"order_id": "never-here"})  # nothing to do


def test_bad_pool_blocks_are_refused(runtime):
    with pytest.raises(NeverApplies):
        Hub().send(runtime, protocol.WAYBILL_POOL, {**POOL, "scheme": "luhn"})
    with pytest.raises(NeverApplies):
        Hub().send(runtime, protocol.WAYBILL_POOL, {**POOL, "last": 10**8})


def _packed_order(api, runtime):
    hub = Hub()
    hub.send(runtime, protocol.STOCK_ALLOTMENT, {"sku": SKU, "qty": 2, "allotted": 2})
    hub.send(runtime, protocol.ORDER_ASSIGNED, assigned())
    _scan(api, "HB0000000001")
    _scan(api, SKU)
    _scan(api, SKU)
    return _by_number(runtime, "HB0000000001")


def test_a_kiosk_return_prints_a_ticket_and_staff_restock_it(api, runtime, client, staff_client):
    order = _packed_order(api, runtime)
    with client.session_transaction() as session:
        csrf = session["csrf"]
    missing = client.post("/returns", data={"number": "NOPE", "csrf_token": csrf})
    assert missing.status_code == 404
    made = client.post(
        "/returns", data={"number": order["number"], "reason": "破损", "csrf_token": csrf}
    )
    assert made.status_code == 201
    (waiting,) = returns.find(runtime.store.conn(), "requested")
    assert waiting["number"].encode() in made.data
    tickets = [
        j
        for j in print_jobs.find(runtime.store.conn(), order_id=order["id"])
        if j["kind"] == "ticket"
    ]
    assert tickets[0]["payload"]["order_number"] == waiting["number"]
    page = client.get("/returns/inspect")
    assert waiting["number"].encode() in page.data
    before = _sellable(runtime)
    over = client.post(
        f"/returns/{waiting['id']}/inspect", data={f"qty_{SKU}": "3", "csrf_token": csrf}
    )
    assert over.status_code == 409
    done = client.post(
        f"/returns/{waiting['id']}/inspect", data={f"qty_{SKU}": "1", "csrf_token": csrf}
    )
    assert done.status_code == 303
    assert returns.get(runtime.store.conn(), waiting["id"])["status"] == "restocked"
    assert _sellable(runtime) == before + 1
    events = journal.since(runtime.store.conn(), 0, 10_000)
    kinds = [e.kind for e in events]
    assert protocol.RETURN_REQUESTED in kinds
    inspected = next(e.data for e in events if e.kind == protocol.RETURN_INSPECTED)
    assert inspected["restocked"] == {SKU: 1} and inspected["status"] == "restocked"
    moved = [
        e.data for e in events if e.kind == protocol.STOCK_MOVED and e.data["reason"] == "return"
    ]
    assert moved == [
        {"sku": SKU, "qty": 1, "reason": "return", "ref": waiting["id"], "sellable": before + 1}
    ]


def test_an_order_not_packed_cannot_be_returned(client, runtime):
    Hub().send(runtime, protocol.ORDER_ASSIGNED, assigned())
    client.get("/returns")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    resp = client.post("/returns", data={"number": "HB0000000001", "csrf_token": csrf})
    assert resp.status_code == 409
    assert returns.find(runtime.store.conn()) == []
