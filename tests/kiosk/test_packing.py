"""Packing by scans (CONTRACT): open by order code, count items, reject wrong ones, print."""

from edge import protocol
from edge.sample import DEMO_BADGE, products
from edge.store import journal, orders, print_jobs


def _scan(api, code):
    return api("POST", "/api/v1/scans", json={"code": code, "source": "test"})


def _first_order(runtime):
    return orders.find(runtime.store.conn(), status="open")[0]


def test_full_pack_flow_prints_label_in_same_transaction(api, runtime):
    order = _first_order(runtime)
    resp = _scan(api, order["number"])
    assert resp.status_code == 200 and resp.json["outcome"] == "order_opened"
    units = [(l["sku"], l["qty"]) for l in order["lines"]]
    outcomes = []
    for sku, qty in units:
        for _ in range(qty):
            outcomes.append(_scan(api, sku).json["outcome"])
    assert outcomes[-1] == "order_packed"
    assert set(outcomes[:-1]) <= {"item_packed"}
    packed = orders.get(runtime.store.conn(), order["id"])
    assert packed["status"] == "packed"
    jobs = print_jobs.find(runtime.store.conn(), order_id=order["id"])
    assert [(j["kind"], j["printer"], j["status"]) for j in jobs] == [("label", "label", "queued")]
    assert jobs[0]["payload"]["tracking_number"] == order["tracking_number"]
    events = journal.since(runtime.store.conn(), 0, 10_000)
    packed_event = next(
        e
        for e in events
        if e.kind == protocol.ORDER_STATUS
        and e.data["order_id"] == order["id"]
        and e.data["to"] == "packed"
    )
    queued_event = next(
        e
        for e in events
        if e.kind == protocol.PRINT_JOB_QUEUED and e.data["order_id"] == order["id"]
    )
    assert queued_event.seq > packed_event.seq


def test_product_barcode_counts_like_sku(api, runtime):
    order = _first_order(runtime)
    _scan(api, order["number"])
    sku = order["lines"][0]["sku"]
    barcode = next(p for p in products() if p["sku"] == sku)["barcodes"][0]
    resp = _scan(api, barcode)
    assert resp.json["outcome"] in ("item_packed", "order_packed")


def test_wrong_item_is_rejected_and_nothing_counted(api, runtime):
    order = _first_order(runtime)
    _scan(api, order["number"])
    in_order = {l["sku"] for l in order["lines"]}
    other = next(s for s in ("DRK-001", "STA-003", "HOU-002", "SNK-004") if s not in in_order)
    resp = _scan(api, other)
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "wrong_item"
    after = orders.get(runtime.store.conn(), order["id"])
    assert all(l["packed_qty"] == 0 for l in after["lines"])


def test_over_scan_is_rejected(api, runtime):
    order = _first_order(runtime)
    _scan(api, order["number"])
    line = order["lines"][0]
    for _ in range(line["qty"]):
        _scan(api, line["sku"])
    if len(order["lines"]) == 1:
        return  # the order completed; the next scan opens nothing
    resp = _scan(api, line["sku"])
    assert resp.json["error"]["code"] == "over_scan"


def test_unknown_and_garbage_codes(api):
    assert _scan(api, "NO-SUCH-THING").json["error"]["code"] == "unknown_code"
    resp = _scan(api, "abc\x07def")
    assert resp.status_code == 400 and resp.json["error"]["code"] == "bad_scan"
    resp = _scan(api, "9" * 600)
    assert resp.status_code == 400
    resp = api("POST", "/api/v1/scans", json={"code": 12})
    assert resp.status_code == 400


def test_product_without_open_order(api):
    resp = _scan(api, "DRK-001")
    assert resp.json["error"]["code"] == "no_open_order"


def test_ticket_url_opens_order(api, runtime):
    order = _first_order(runtime)
    resp = _scan(api, f"http://127.0.0.1:8080/o/{order['number']}")
    assert resp.json["outcome"] == "order_opened"


def test_scanning_another_order_puts_the_first_back(api, runtime):
    first, second = orders.find(runtime.store.conn(), status="open")[:2]
    _scan(api, first["number"])
    _scan(api, second["number"])
    assert orders.get(runtime.store.conn(), first["id"])["status"] == "open"
    assert orders.get(runtime.store.conn(), second["id"])["status"] == "packing"


def test_badge_scan_logs_in_through_a_one_time_token(api, client, runtime):
    q = runtime.logins.subscribe()
    resp = _scan(api, DEMO_BADGE)
    assert resp.json["outcome"] == "badge"
    event, data = q.get(timeout=1)
    assert event == "badge"
    assert client.post("/pack/login/badge", json={"token": data["token"]}).status_code == 200
    assert client.get("/pack/state").status_code == 200
    assert client.post("/pack/login/badge", json={"token": data["token"]}).status_code == 401


def test_batch_pick_list_and_exception(staff_client, runtime):
    conn = runtime.store.conn()
    ids = [o["id"] for o in orders.find(conn, status="open")[:3]]
    headers = {"X-CSRF-Token": staff_client.csrf}
    resp = staff_client.post("/pack/batch", json={"order_ids": ids}, headers=headers)
    assert resp.status_code == 200, resp.json
    job = resp.json["job"]
    assert job["kind"] == "picklist" and job["printer"] == "receipt"
    assert len(job["payload"]["orders"]) == 3
    assert all(orders.get(conn, i)["status"] == "picking" for i in ids)
    resp = staff_client.post(
        "/pack/exception", json={"order_id": ids[0], "reason": "damaged"}, headers=headers
    )
    assert resp.status_code == 200
    assert orders.get(conn, ids[0])["status"] == "exception"
    state = staff_client.get("/pack/state").json
    assert [o["id"] for o in state["exceptions"]] == [ids[0]]


def test_staff_actions_need_csrf(staff_client):
    assert staff_client.post("/pack/close", json={}).status_code == 403
    ok = staff_client.post("/pack/close", json={}, headers={"X-CSRF-Token": staff_client.csrf})
    assert ok.status_code == 200


def test_retried_delivery_counts_once(api, runtime):
    order = _first_order(runtime)
    _scan(api, order["number"])
    sku = order["lines"][0]["sku"]
    body = {"code": sku, "source": "bench"}
    first = api("POST", "/api/v1/scans", json=body, headers={"Idempotency-Key": "ev-1"})
    again = api("POST", "/api/v1/scans", json=body, headers={"Idempotency-Key": "ev-1"})
    assert first.json["outcome"] in ("item_packed", "order_packed")
    assert again.status_code == 200 and again.json["outcome"] == "duplicate"
    line = orders.get(runtime.store.conn(), order["id"])["lines"][0]
    assert line["packed_qty"] == 1


def test_scanner_refusals_reach_the_screen(api, runtime):
    q = runtime.live.subscribe()
    resp = api(
        "POST",
        "/api/v1/scans",
        json={
            "code": "6900000000012",
            "source": "bench",
            "rejected": "wrong check digit in EAN13 code '6900000000012' (misread?)",
        },
    )
    assert resp.status_code == 200 and resp.json["outcome"] == "rejected"
    event, data = q.get(timeout=1)
    assert event == "scan" and data["outcome"] == "rejected" and not data["ok"]
    assert "check digit" in data["message"]
    rows = runtime.store.conn().execute("SELECT outcome FROM scans").fetchall()
    assert [r["outcome"] for r in rows] == ["rejected"]
