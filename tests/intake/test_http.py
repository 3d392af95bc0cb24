"""Order intake over HTTP against a real running hub: create with Idempotency-Key (also
concurrently), CSV import with progress and errors export, the exception queue, and the
public ``/track`` page."""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid

import pytest

from cloud.db import transaction
from cloud.orders import add_timeline
from cloud.web import orders_api

from .conftest import call, order_body

pytestmark = pytest.mark.slow

HEADER = "channel,external_id,customer_name,phone,address,sku,qty\n"


def test_create_then_repeat_with_the_same_key(hub):
    status, order, _ = call(
        hub, "POST", "/api/v1/orders", order_body(), headers={"Idempotency-Key": "k-1"}
    )
    assert status == 201 and order["status"] == "checked"
    assert {"id", "number", "status", "station", "lines", "timeline"} <= set(order)
    status, again, _ = call(
        hub, "POST", "/api/v1/orders", order_body(), headers={"Idempotency-Key": "k-1"}
    )
    assert status == 200 and again["id"] == order["id"]
    status, body, _ = call(
        hub, "POST", "/api/v1/orders", order_body("T-2"), headers={"Idempotency-Key": "k-1"}
    )
    assert status == 409 and body["error"]["code"] == "duplicate"
    status, body, _ = call(hub, "POST", "/api/v1/orders", order_body())
    assert status == 409 and body["error"]["code"] == "duplicate"
    status, found, _ = call(hub, "GET", f"/api/v1/orders/{order['id']}")
    # no station yet: allocation leaves it checked, saying why
    assert status == 200 and found["status"] == "checked"
    assert [t["status"] for t in found["timeline"]][:2] == ["received", "checked"]
    assert {t["status"] for t in found["timeline"]} == {"received", "checked"}
    status, listed, _ = call(hub, "GET", "/api/v1/orders?channel=taobao&status=checked")
    assert [o["id"] for o in listed["orders"]] == [order["id"]]


def test_concurrent_posts_with_one_key_make_one_order(hub):
    key = uuid.uuid4().hex
    results: list[tuple[int, str]] = []
    start = threading.Barrier(8)

    def post() -> None:
        start.wait()
        status, body, _ = call(
            hub, "POST", "/api/v1/orders", order_body("T-77"), headers={"Idempotency-Key": key}
        )
        results.append((status, body.get("id") or body.get("error", {}).get("code")))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in results) == [200] * 7 + [201]
    assert len({i for _, i in results}) == 1
    _, listed, _ = call(hub, "GET", "/api/v1/orders?channel=taobao")
    assert len(listed["orders"]) == 1


@pytest.mark.parametrize(
    ("raw", "content_type", "code"),
    [
        (b'{"channel": "taobao",', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (json.dumps(order_body(channel="ebay")).encode(), "application/json", 400),
        (
            json.dumps(order_body(lines=[{"sku": "TEA-1", "qty": -3}])).encode(),
            "application/json",
            400,
        ),
    ],
)
def test_bad_posts_get_the_shared_error_shape(hub, raw, content_type, code):
    status, body, _ = call(
        hub, "POST", "/api/v1/orders", raw=raw, headers={"Content-Type": content_type}
    )
    assert status == code and set(body["error"]) == {"code", "message"}
    _, listed, _ = call(hub, "GET", "/api/v1/orders")
    assert listed["orders"] == []


def test_write_routes_need_the_token(hub):
    for method, path in (
        ("POST", "/api/v1/orders"),
        ("POST", "/api/v1/orders/import"),
        ("GET", "/api/v1/orders/exceptions"),
    ):
        status, body, _ = call(hub, method, path, {}, token=False)
        assert status == 401 and body["error"]["code"] == "unauthorized"


def test_csv_import_over_http_with_progress_and_a_safe_errors_export(hub):
    text = HEADER + (
        "jd,J-1,张三,13800138000,广东省深圳市南山区科技园路1号,TEA-1,2\n"
        'jd,J-2,=HYPERLINK("http://x"),13800138000,北京市朝阳区建国路8号,TEA-1,-1\n'
    )
    status, answer, _ = call(
        hub,
        "POST",
        "/api/v1/orders/import?filename=day.csv",
        raw=text.encode("gb18030"),
        headers={"Content-Type": "text/csv"},
    )
    assert status == 201, answer
    assert (answer["accepted"], answer["rejected"], answer["encoding"]) == (1, 1, "gb18030")
    assert answer["errors"][0]["row"] == 3
    status, progress, _ = call(hub, "GET", f"/api/v1/orders/imports/{answer['id']}")
    assert status == 200 and progress["status"] == "done" and progress["rows_done"] == 2
    assert progress["filename"] == "day.csv"
    status, listed, _ = call(hub, "GET", "/api/v1/orders/imports")
    assert [i["id"] for i in listed["imports"]] == [answer["id"]]
    status, exported, headers = call(
        hub, "GET", f"/api/v1/orders/imports/{answer['id']}/errors.csv"
    )
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[1][0] == "3" and '\'=HYPERLINK("http://x")' in rows[1]
    status, body, _ = call(hub, "GET", "/api/v1/orders/imports/nope/errors.csv")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_csv_import_as_a_multipart_upload(hub):
    boundary = "----ps" + uuid.uuid4().hex
    text = HEADER + "pinduoduo,P-1,李四,13900139000,北京市朝阳区建国路8号,COLA-1,1\n"
    payload = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{text}\r\n--{boundary}--\r\n"
    ).encode()
    status, answer, _ = call(
        hub,
        "POST",
        "/api/v1/orders/import",
        raw=payload,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 201 and answer["accepted"] == 1
    status, body, _ = call(
        hub,
        "POST",
        "/api/v1/orders/import",
        raw=f"--{boundary}--\r\n".encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert status == 400 and "multipart field" in body["error"]["message"]


def test_unusable_and_oversized_imports_are_4xx(hub, monkeypatch):
    status, body, _ = call(
        hub,
        "POST",
        "/api/v1/orders/import",
        raw=b"\x00\xff" * 100,
        headers={"Content-Type": "text/csv"},
    )
    assert status == 400 and "neither UTF-8" in body["error"]["message"]
    status, body, _ = call(
        hub,
        "POST",
        "/api/v1/orders/import?mapping=nope",
        raw=HEADER.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert status == 400 and "mapping" in body["error"]["message"]
    monkeypatch.setattr(orders_api, "IMPORT_MAX_BYTES", 1024)
    big = (HEADER + "jd,J-1,张三,13800138000,北京市朝阳区建国路8号,TEA-1,1\n" * 100).encode()
    status, body, _ = call(
        hub, "POST", "/api/v1/orders/import", raw=big, headers={"Content-Type": "text/csv"}
    )
    assert status == 413 and set(body["error"]) == {"code", "message"}
    _, listed, _ = call(hub, "GET", "/api/v1/orders")
    assert listed["orders"] == []


def test_exception_queue_over_http(hub):
    _, unpaid, _ = call(hub, "POST", "/api/v1/orders", order_body("T-1", payment_status="unpaid"))
    _, bad_phone, _ = call(
        hub, "POST", "/api/v1/orders", order_body("T-2", customer={"name": "王五", "phone": "1"})
    )
    status, queue, _ = call(hub, "GET", "/api/v1/orders/exceptions")
    assert status == 200 and [o["id"] for o in queue["orders"]] == [unpaid["id"], bad_phone["id"]]
    _, only, _ = call(hub, "GET", "/api/v1/orders/exceptions?kind=phone_invalid")
    assert [o["id"] for o in only["orders"]] == [bad_phone["id"]]
    status, body, _ = call(
        hub, "POST", f"/api/v1/orders/{unpaid['id']}/release", {"by": "ops", "note": "paid"}
    )
    assert status == 200 and body["status"] == "checked" and body["order"]["status"] == "checked"
    status, body, _ = call(
        hub,
        "POST",
        f"/api/v1/orders/{bad_phone['id']}/cancel",
        {"by": "ops", "note": "no such customer"},
    )
    assert status == 200 and body["order"]["status"] == "cancelled"
    status, body, _ = call(hub, "POST", f"/api/v1/orders/{bad_phone['id']}/release", {"by": "ops"})
    assert status == 409 and body["error"]["code"] == "not_held"
    status, body, _ = call(hub, "POST", f"/api/v1/orders/{unpaid['id']}/cancel", {"by": "ops"})
    assert status == 409 and body["error"]["code"] == "not_held"
    status, body, _ = call(hub, "POST", f"/api/v1/orders/{unpaid['id']}/cancel", {"note": "x"})
    assert status == 400 and "who decided" in body["error"]["message"]
    status, body, _ = call(hub, "POST", "/api/v1/orders/nope/cancel", {"by": "ops"})
    assert status == 404
    _, queue, _ = call(hub, "GET", "/api/v1/orders/exceptions")
    assert queue["orders"] == []


def test_track_page_is_public_and_shows_only_the_timeline_and_a_masked_name(hub):
    _, order, _ = call(
        hub,
        "POST",
        "/api/v1/orders",
        order_body(customer={"name": "<b>欧阳</b>", "phone": "13800138000"}),
    )
    status, page, headers = call(hub, "GET", f"/track/{order['number']}?lang=en", token=False)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert order["number"] in page and "&lt;******" in page
    assert "<b>" not in page and "13800138000" not in page and "科技园路" not in page
    assert 'data-status="received"' in page and "Checked" in page
    assert page.count('class="done"') == 2 and page.count('class="todo"') == 4
    assert "noindex" in headers["X-Robots-Tag"]
    status, page, _ = call(hub, "GET", f"/track/{order['number'].lower()}?lang=zh", token=False)
    assert status == 200 and "已接单" in page and "已审核" in page
    status, page, _ = call(hub, "GET", "/track/HB0000000000", token=False)
    assert status == 404 and 'id="not-found"' in page
    status, page, _ = call(hub, "GET", "/track/" + "x" * 500, token=False)
    assert status == 404
    status, page, _ = call(hub, "GET", "/track?lang=en", token=False)
    assert status == 200 and 'name="number"' in page


def test_track_page_shows_every_step_the_station_reports(hub):
    _, order, _ = call(hub, "POST", "/api/v1/orders", order_body())
    with transaction(hub.engine) as conn:
        for n, status in enumerate(("allocated", "open", "packing", "packed", "shipped")):
            add_timeline(conn, order["id"], f"2030-01-01T10:0{n}:00.000Z", status, "", "st-01")
    _, page, _ = call(hub, "GET", f"/track/{order['number']}?lang=en", token=False)
    assert page.count('class="done"') == 6 and 'class="todo"' not in page
    assert "2030-01-01 10:04 UTC" in page and "Shipped" in page


def test_track_form_redirects_to_the_order(hub):
    _, order, _ = call(hub, "POST", "/api/v1/orders", order_body())
    status, page, _ = call(hub, "GET", f"/track?number={order['number']}&lang=en", token=False)
    assert status == 200 and order["number"] in page and "Received" in page


def test_held_order_shows_as_on_hold_on_the_track_page(hub):
    _, order, _ = call(hub, "POST", "/api/v1/orders", order_body(payment_status="unpaid"))
    _, page, _ = call(hub, "GET", f"/track/{order['number']}?lang=en", token=False)
    assert "On hold for review" in page and "unpaid" not in page


def test_openapi_lists_the_order_routes(hub):
    status, spec, _ = call(hub, "GET", "/api/openapi.json")
    assert status == 200
    for path in (
        "/api/v1/orders/import",
        "/api/v1/orders/imports/{id}",
        "/api/v1/orders/{id}/release",
    ):
        assert path in spec["paths"]
    assert "post" in spec["paths"]["/api/v1/orders"] and "get" in spec["paths"]["/api/v1/orders"]
