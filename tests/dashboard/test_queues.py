"""The order flow page's queues: held orders split into manual review and exceptions,
released or cancelled by an operator (who is recorded), never by a viewer."""

from __future__ import annotations

from cloud import intake, users
from cloud.db import read_only, transaction
from cloud.orders import get_order
from cloud.web.app import create_app
from tests.intake.conftest import TENANT, config, engine, order_body  # noqa: F401 - fixtures

from .conftest import PASSWORD, csrf, login


def held(engine, config, external_id, **change):  # noqa: F811
    order, _ = intake.submit(engine, config, TENANT, order_body(external_id, **change))
    assert order["status"] == "exception"
    return order


def test_review_and_exception_queues_with_actions(engine, config):  # noqa: F811
    unpaid = held(engine, config, "T-1", payment_status="unpaid")
    pricey = held(engine, config, "T-2", lines=[{"sku": "TV-1", "qty": 2}])
    with transaction(engine) as conn:
        users.add_user(conn, "olga", PASSWORD, "operator")
        users.add_user(conn, "vic", PASSWORD, "viewer")
    app = create_app(config, engine)
    viewer, operator = app.test_client(), app.test_client()
    login(viewer, "vic")
    login(operator, "olga")

    page = viewer.get("/orders").get_data(as_text=True)
    review = page.split('id="queue-review"')[1].split("</table>")[0]
    other = page.split('id="queue-exceptions"')[1].split("</table>")[0]
    assert pricey["number"] in review and unpaid["number"] not in review
    assert unpaid["number"] in other
    assert 'class="release"' not in page
    refused = viewer.post(f"/orders/{unpaid['id']}/cancel", data={"csrf_token": csrf(viewer)})
    assert refused.status_code == 403

    assert 'class="release"' in operator.get("/orders").get_data(as_text=True)
    token = csrf(operator)
    done = operator.post(
        f"/orders/{unpaid['id']}/release", data={"csrf_token": token, "note": "paid by bank"}
    )
    assert done.status_code == 302
    done = operator.post(f"/orders/{pricey['id']}/cancel", data={"csrf_token": token})
    assert done.status_code == 302
    again = operator.post(f"/orders/{pricey['id']}/cancel", data={"csrf_token": token})
    assert again.status_code == 409 and set(again.get_json()["error"]) == {"code", "message"}
    with read_only(engine) as conn:
        released, cancelled = get_order(conn, unpaid["id"]), get_order(conn, pricey["id"])
    assert released["status"] != "exception" and cancelled["status"] == "cancelled"
    assert any("olga" in t.get("note", "") for t in released["timeline"])
    assert "Nothing waiting." in operator.get("/orders").get_data(as_text=True)

    missing = operator.post("/orders/reallocate", data={"csrf_token": token, "order": "nope"})
    assert missing.status_code == 404
