"""The dashboard's gate: anonymous users reach only /login, /track and /healthz; roles,
CSRF and session expiry; the bearer token still opens /api/v1 and /metrics."""

from __future__ import annotations

import time

from sqlalchemy import select

from cloud.db import read_only
from cloud.schema import commands

from .conftest import PASSWORD, csrf, login


def test_anonymous_users_reach_only_login_track_and_health(app):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/track").status_code != 401
    for path in ("/", "/stations/st-01", "/orders", "/forecast", "/alerts", "/metrics"):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 302 and page.location.startswith("/login"), path
    for path in ("/dash/api/overview", "/metrics", "/api/openapi.json", "/api/v1/stations"):
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 401, path
        assert set(response.get_json()["error"]) == {"code", "message"}
    command = client.post("/stations/st-01/commands", data={"name": "resync", "from_seq": "1"})
    assert command.status_code == 401


def test_bearer_token_opens_api_and_metrics(app):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {app.config['API_TOKEN']}"}
    assert client.get("/api/v1/stations", headers=headers).status_code == 200
    scrape = client.get("/metrics", headers=headers)
    assert scrape.status_code == 200
    text = scrape.get_data(as_text=True)
    for name in (
        "printstation_hub_stations_online",
        "printstation_hub_ingest_events_total",
        "printstation_hub_ingest_latency_seconds_bucket",
        "printstation_hub_orders",
        "printstation_hub_order_processing_seconds_bucket",
        "printstation_hub_alerts_open",
        "printstation_hub_dn_queue_depth",
    ):
        assert name in text, name
    assert "printstation_hub_stations 1.0" in text


def test_wrong_password_is_refused(app):
    client = app.test_client()
    response = login(client, "viewer", "not the password")
    assert response.status_code == 401
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 302


def test_viewer_sees_but_cannot_send_commands(app, engine):
    client = app.test_client()
    assert login(client, "viewer").status_code == 302
    page = client.get("/stations/st-01")
    assert page.status_code == 200
    assert b'id="command-forms"' not in page.data and b"Reprint</button>" not in page.data
    assert client.get("/dash/api/overview").get_json()["summary"]["stations"] == 1
    token = csrf(client)
    refused = client.post(
        "/stations/st-01/commands", data={"name": "resync", "from_seq": "1", "csrf_token": token}
    )
    assert refused.status_code == 403
    assert client.post("/alerts/1/clear", data={"csrf_token": token}).status_code == 403
    with read_only(engine) as conn:
        assert conn.execute(select(commands)).first() is None


def test_operator_needs_a_csrf_token(app, engine):
    client = app.test_client()
    login(client, "operator")
    page = client.get("/stations/st-01")
    assert b'id="command-forms"' in page.data
    no_token = client.post("/stations/st-01/commands", data={"name": "resync", "from_seq": "1"})
    assert no_token.status_code == 403
    wrong = client.post(
        "/stations/st-01/commands",
        data={"name": "resync", "from_seq": "1", "csrf_token": "guess"},
    )
    assert wrong.status_code == 403
    with read_only(engine) as conn:
        assert conn.execute(select(commands)).first() is None
    sent = client.post(
        "/stations/st-01/commands",
        data={"name": "pause_printer", "printer": "label", "csrf_token": csrf(client)},
    )
    assert sent.status_code == 302
    with read_only(engine) as conn:
        row = conn.execute(select(commands)).mappings().one()
    assert (row["name"], row["args"], row["status"]) == (
        "pause_printer",
        {"printer": "label"},
        "pending",
    )


def test_bad_commands_get_a_clear_4xx_and_nothing_is_queued(app, engine):
    client = app.test_client()
    login(client, "operator")
    token = csrf(client)
    for form, status in [
        ({"name": "reprint", "job_id": "abc"}, 400),
        ({"name": "reprint", "job_id": "0"}, 400),
        ({"name": "pause_printer"}, 400),
        ({"name": "self_destruct"}, 400),
        ({"name": "set_config"}, 400),
    ]:
        response = client.post("/stations/st-01/commands", data={**form, "csrf_token": token})
        assert response.status_code == status, form
        assert set(response.get_json()["error"]) == {"code", "message"}
    missing = client.post(
        "/stations/nope/commands", data={"name": "resync", "from_seq": "1", "csrf_token": token}
    )
    assert missing.status_code == 404
    with read_only(engine) as conn:
        assert conn.execute(select(commands)).first() is None


def test_json_command_with_csrf_header(app):
    client = app.test_client()
    login(client, "admin")
    response = client.post(
        "/stations/st-01/commands",
        json={"name": "set_config", "key": "spooler.retry_max_s", "value": "30"},
        headers={"X-CSRF-Token": csrf(client)},
    )
    assert response.status_code == 201
    assert response.get_json()["args"] == {"key": "spooler.retry_max_s", "value": 30}


def test_sessions_expire_and_removed_users_are_out(app, engine):
    client = app.test_client()
    login(client, "viewer")
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["expires"] = time.time() - 1
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 302

    login(client, "operator", PASSWORD)
    assert client.get("/").status_code == 200
    from cloud.db import transaction
    from cloud.schema_ops import hub_users

    with transaction(engine) as conn:
        conn.execute(hub_users.delete().where(hub_users.c.name == "operator"))
    assert client.get("/dash/api/overview").status_code == 401


def test_login_redirects_only_inside_the_hub(app):
    client = app.test_client()
    response = client.post(
        "/login", data={"name": "viewer", "password": PASSWORD, "next": "//evil.example/"}
    )
    assert response.status_code == 302 and response.location == "/"
    response = client.post(
        "/login", data={"name": "viewer", "password": PASSWORD, "next": "/alerts"}
    )
    assert response.location == "/alerts"


def test_every_page_renders(app):
    client = app.test_client()
    login(client, "admin")
    for path in ("/", "/stations/st-01", "/orders", "/forecast", "/alerts"):
        assert client.get(path).status_code == 200, path
    assert client.get("/stations/none").status_code == 404
    js = client.get("/dash/static/plotly.min.js")
    try:
        assert js.status_code == 200 and b"plotly" in js.data[:2000].lower()
    finally:
        js.close()


def test_station_text_is_escaped_on_the_overview(app, engine):
    from cloud import registry
    from cloud.db import transaction

    with transaction(engine) as conn:
        registry.register(conn, "test", "st-<i>", "<b>store</b>")
        registry.on_telemetry(
            conn,
            "test",
            "st-<i>",
            {"version": '"><script>x()</script>', "printers": {"<img src=x>": {"paper": "out"}}},
        )
    client = app.test_client()
    login(client, "viewer")
    page = client.get("/").get_data(as_text=True)
    assert "<script>x()" not in page and "<img src=x>" not in page and "<b>store" not in page
    assert "&lt;b&gt;store&lt;/b&gt;" in page and "&lt;img src=x&gt; no paper" in page
    assert 'href="/stations/st-%3Ci%3E"' in page


def test_only_an_admin_manages_users(app, engine):
    operator, admin = app.test_client(), app.test_client()
    login(operator, "operator")
    login(admin, "admin")
    assert operator.get("/users").status_code == 403
    form = {"name": "new", "password": "a good password", "role": "viewer"}
    assert operator.post("/users", data={**form, "csrf_token": csrf(operator)}).status_code == 403
    assert admin.post("/users", data=form).status_code == 403  # no CSRF token
    assert admin.post("/users", data={**form, "csrf_token": csrf(admin)}).status_code == 302
    short = admin.post(
        "/users", data={**form, "name": "b", "password": "x", "csrf_token": csrf(admin)}
    )
    assert short.status_code == 400
    taken = admin.post("/users", data={**form, "csrf_token": csrf(admin)})
    assert taken.status_code == 409
    page = admin.get("/users").get_data(as_text=True)
    assert 'data-user="new"' in page and 'data-user="b"' not in page
    newcomer = app.test_client()
    assert login(newcomer, "new", "a good password").status_code == 302
    assert admin.post("/users/admin/delete", data={"csrf_token": csrf(admin)}).status_code == 409
    assert admin.post("/users/new/delete", data={"csrf_token": csrf(admin)}).status_code == 302
    assert newcomer.get("/dash/api/overview").status_code == 401
    assert admin.post("/users/new/delete", data={"csrf_token": csrf(admin)}).status_code == 404
