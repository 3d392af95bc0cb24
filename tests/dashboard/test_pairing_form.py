"""Pair a station from the dashboard: the waiting station is listed, an operator claims
its code with the form, a viewer cannot, and a wrong code changes nothing."""

from __future__ import annotations

from cloud import pairing, users
from cloud.db import transaction
from cloud.web.app import create_app

from .conftest import PASSWORD, csrf, hub_config, login

CODE = "ABCD-2345"


def test_pair_a_station_from_the_dashboard(tmp_path, engine):
    passwords = tmp_path / "broker" / "passwd"
    passwords.parent.mkdir()
    config = hub_config(
        tmp_path,
        pairing={"station_mqtt_url": "mqtts://hub.example:8883", "broker_password_file": passwords},
    )
    with transaction(engine) as conn:
        users.add_user(conn, "olga", PASSWORD, "operator")
        users.add_user(conn, "vic", PASSWORD, "viewer")
        assert pairing.poll(conn, config, "st-09", "test", "store-01", CODE)["status"] == "pending"
    app = create_app(config, engine)
    viewer, operator = app.test_client(), app.test_client()
    login(viewer, "vic")
    login(operator, "olga")

    page = viewer.get("/pairing").get_data(as_text=True)
    assert "st-09" in page and 'id="pair"' not in page
    form = {"station_id": "st-09", "code": CODE}
    refused = viewer.post("/pairing", data={**form, "csrf_token": csrf(viewer)})
    assert refused.status_code == 403

    wrong = operator.post(
        "/pairing", data={"station_id": "st-09", "code": "ZZZZ-9999", "csrf_token": csrf(operator)}
    )
    assert wrong.status_code == 404
    assert not passwords.exists() or "st-09" not in passwords.read_text(encoding="utf-8")

    assert 'id="pair"' in operator.get("/pairing").get_data(as_text=True)
    done = operator.post("/pairing", data={**form, "csrf_token": csrf(operator)})
    assert done.status_code == 302
    assert passwords.read_text(encoding="utf-8").startswith("st-09:")
    with transaction(engine) as conn:
        answer = pairing.poll(conn, config, "st-09", "test", "store-01", CODE)
    assert answer["status"] == "paired"
    assert "No station is asking." in operator.get("/pairing").get_data(as_text=True)


def test_pairing_off_says_so(app):
    client = app.test_client()
    login(client, "admin")
    page = client.get("/pairing").get_data(as_text=True)
    assert "Pairing is off" in page and 'id="pair"' not in page
