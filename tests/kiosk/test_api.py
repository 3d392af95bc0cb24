"""The station API: auth, the shared error shape, orders, print jobs, stock, OpenAPI."""

import json
import threading

import pytest

from edge.store import orders, print_jobs, stock

ROUTES = [
    ("GET", "/api/v1/orders"),
    ("GET", "/api/v1/orders/nope"),
    ("POST", "/api/v1/orders"),
    ("POST", "/api/v1/scans"),
    ("GET", "/api/v1/print-jobs"),
    ("POST", "/api/v1/print-jobs/1/reprint"),
    ("GET", "/api/v1/stock/DRK-001"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_api_needs_a_token(client, method, path):
    resp = client.open(path, method=method, json={})
    assert resp.status_code == 401
    assert set(resp.json["error"]) == {"code", "message"}


def test_every_error_has_the_shared_shape(api, client):
    cases = [
        api("GET", "/api/v1/orders/does-not-exist"),
        api("GET", "/api/v1/no-such-route"),
        api("DELETE", "/api/v1/orders"),
        api("POST", "/api/v1/scans", data="not json", headers={"Content-Type": "application/json"}),
        api("POST", "/api/v1/scans", data="x", headers={"Content-Type": "text/plain"}),
        api("GET", "/api/v1/print-jobs?status=bogus"),
        client.get("/api/v1/products/NOPE"),
    ]
    for resp in cases:
        assert 400 <= resp.status_code < 500, resp.status_code
        assert resp.is_json, resp.data[:100]
        assert set(resp.json["error"]) == {"code", "message"}


def test_oversized_request_is_413_in_shape(api):
    resp = api(
        "POST",
        "/api/v1/scans",
        data=b"{" + b" " * 400_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "request_entity_too_large"


def test_products_search_is_public(client):
    resp = client.get("/api/v1/products?q=可乐")
    assert resp.status_code == 200
    assert [p["sku"] for p in resp.json["products"]] == ["DRK-001"]
    product = resp.json["products"][0]
    assert {"sku", "name", "name_en", "barcodes", "price", "category"} <= set(product)
    assert product["price"] == "3.50"


def test_order_create_is_idempotent_and_stock_aware(api, runtime):
    body = {"lines": [{"sku": "DRK-001", "qty": 2}], "payment": "counter"}
    first = api("POST", "/api/v1/orders", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.json
    again = api("POST", "/api/v1/orders", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert stock.sellable(runtime.store.conn(), "DRK-001") == 48
    tickets = print_jobs.find(runtime.store.conn(), order_id=first.json["id"])
    assert [j["kind"] for j in tickets] == ["ticket"]
    too_many = api(
        "POST",
        "/api/v1/orders",
        json={"lines": [{"sku": "DRK-001", "qty": 49}]},
        headers={"Idempotency-Key": "k-2"},
    )
    assert too_many.status_code == 409 and too_many.json["error"]["code"] == "insufficient_stock"
    assert orders.by_idempotency_key(runtime.store.conn(), "k-2") is None


@pytest.mark.parametrize(
    "lines",
    [
        [{"sku": "DRK-001", "qty": 0}],
        [{"sku": "DRK-001", "qty": -1}],
        [{"sku": "DRK-001", "qty": 10_000}],
        [{"sku": "DRK-001", "qty": "2"}],
        [],
        "nope",
    ],
)
def test_order_create_rejects_bad_lines(api, lines):
    resp = api("POST", "/api/v1/orders", json={"lines": lines}, headers={"Idempotency-Key": "x"})
    assert resp.status_code == 400
    assert set(resp.json["error"]) == {"code", "message"}


def test_unknown_sku_is_422(api):
    resp = api(
        "POST",
        "/api/v1/orders",
        json={"lines": [{"sku": "NOPE", "qty": 1}]},
        headers={"Idempotency-Key": "x"},
    )
    assert resp.status_code == 422 and resp.json["error"]["code"] == "unknown_sku"


def test_order_by_id_or_number_and_filters(api, runtime):
    order = orders.find(runtime.store.conn(), status="open")[0]
    assert api("GET", f"/api/v1/orders/{order['id']}").json["number"] == order["number"]
    assert api("GET", f"/api/v1/orders/{order['number']}").json["id"] == order["id"]
    listed = api("GET", "/api/v1/orders?status=open").json["orders"]
    assert order["id"] in {o["id"] for o in listed}
    assert all(o["status"] == "open" for o in listed)


def test_reprint_and_stock(api, runtime):
    with runtime.store.write() as conn:
        job = print_jobs.enqueue(conn, "label", "label", {"order_number": "X"})
    resp = api("POST", f"/api/v1/print-jobs/{job['id']}/reprint")
    assert resp.status_code == 201 and resp.json["reprint_of"] == job["id"]
    assert api("POST", "/api/v1/print-jobs/999/reprint").status_code == 404
    resp = api("GET", "/api/v1/stock/DRK-001")
    assert resp.json["sku"] == "DRK-001" and resp.json["sellable"] == 50


def test_health_metrics_openapi(client, api):
    assert client.get("/healthz").json["ok"] is True
    api("POST", "/api/v1/scans", json={"code": "NOPE"})
    metrics = client.get("/metrics").data.decode()
    assert 'printstation_scans_total{outcome="unknown_code"} 1.0' in metrics
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    from flask import current_app  # noqa: F401 - the app context is the client's

    documented = set(spec["paths"])
    for rule in client.application.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            path = path.replace("{job_id}", "{id}").replace("{order_id}", "{id}")
            assert path in documented, path


def test_staff_screens_need_login(client):
    assert client.get("/pack", headers={"Accept": "text/html"}).status_code == 302
    assert client.get("/admin", headers={"Accept": "text/html"}).status_code == 302
    assert client.get("/pack/state").status_code == 401
    assert client.get("/admin/state").status_code == 401


def test_pin_login_is_throttled(client):
    for _ in range(5):
        assert client.post("/pack/login", data={"pin": "0000"}).status_code == 200
    resp = client.post("/pack/login", data={"pin": "1234"})
    assert resp.status_code == 200  # blocked: still the login page
    assert "Too many" in resp.data.decode() or "尝试次数过多" in resp.data.decode()


def test_html_is_escaped_everywhere(api, client, runtime):
    from edge.store import catalog

    with runtime.store.write() as conn:
        catalog.upsert(conn, [{"sku": "XSS", "name": "<script>alert(1)</script>", "price": "1"}])
        order = orders.create(
            conn,
            station="st-01",
            channel="web",
            lines=[
                {"sku": "XSS", "name": "<script>alert(1)</script>", "qty": 1, "unit_price": "1"}
            ],
        )
    page = client.get(f"/o/{order['number']}").data.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_language_defaults_from_config_and_switches(client):
    page = client.get("/pack/login", headers={"Accept": "text/html"}).data.decode()
    assert "员工登录" in page
    client.get("/lang/en")
    page = client.get("/pack/login", headers={"Accept": "text/html"}).data.decode()
    assert "Staff login" in page


def test_the_same_order_sent_at_once_from_many_threads_is_placed_once(app, token, runtime):
    body = {"lines": [{"sku": "DRK-001", "qty": 3}], "payment": "counter"}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-same"}
    answers: list[tuple[int, str]] = []
    start = threading.Barrier(8)

    def send() -> None:
        client = app.test_client()
        start.wait()
        resp = client.post("/api/v1/orders", json=body, headers=headers)
        answers.append((resp.status_code, resp.json["id"]))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({order_id for _, order_id in answers}) == 1
    conn = runtime.store.conn()
    assert stock.sellable(conn, "DRK-001") == 47
    assert len(print_jobs.find(conn, order_id=answers[0][1])) == 1


def test_metrics_show_outbox_printers_and_scanners(client, runtime):
    run = runtime.config.runtime_dir
    run.mkdir(parents=True, exist_ok=True)
    (run / "spooler-status.json").write_text(
        json.dumps(
            {
                "printers": {
                    "receipt": {"online": True, "paper": "low", "printed": 7},
                    "label": {"online": False, "paper": "out", "printed": 0},
                }
            }
        ),
        encoding="utf-8",
    )
    (run / "scanner-status.json").write_text(
        json.dumps({"scanners": {"bench": {"connected": True}}}), encoding="utf-8"
    )
    metrics = client.get("/metrics").data.decode()
    assert 'printstation_printer_online{printer="receipt"} 1.0' in metrics
    assert 'printstation_printer_online{printer="label"} 0.0' in metrics
    assert 'printstation_printer_paper{paper="low",printer="receipt"} 1.0' in metrics
    assert 'printstation_printer_paper{paper="ok",printer="receipt"} 0.0' in metrics
    assert 'printstation_printer_jobs_printed{printer="receipt"} 7.0' in metrics
    assert 'printstation_scanner_connected{scanner="bench"} 1.0' in metrics
    outbox = next(
        line for line in metrics.splitlines() if line.startswith("printstation_outbox_depth ")
    )
    assert float(outbox.split()[1]) > 0  # the seeded orders are not acked by any hub
    assert "printstation_disk_free_bytes " in metrics
