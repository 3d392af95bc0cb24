"""Pairing, hub side: codes are stored hashed, only a claimed code yields credentials, the
broker's password file gets a mosquitto-compatible entry, and bad input is a clear 4xx."""

from __future__ import annotations

import subprocess
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from cloud import pairing
from cloud.config import HubConfig
from cloud.db import transaction
from cloud.errors import InvalidInput, NotFound
from cloud.schema_pairing import pairing_requests
from tests.broker.mosquitto import Mosquitto
from tests.cloud.conftest import db_url, engine  # noqa: F401 - fixtures

CODE = "ABCD2345"


@pytest.fixture
def config(tmp_path):
    return HubConfig.model_validate(
        {
            "hub": {"tenants": ["test"]},
            "pairing": {
                "station_mqtt_url": "mqtt://127.0.0.1:1883",
                "broker_password_file": str(tmp_path / "passwd"),
            },
        }
    )


def poll(engine, config, code=CODE, station="st-09"):  # noqa: F811
    with transaction(engine) as conn:
        return pairing.poll(conn, config, station, "test", "store-01", code)


def test_claimed_code_yields_credentials_once_then_they_are_cleared(engine, config):  # noqa: F811
    assert poll(engine, config) == {"status": "pending"}
    with transaction(engine) as conn:
        row = conn.execute(select(pairing_requests)).mappings().one()
    assert row["code_hash"] == pairing.code_hash(CODE) and CODE not in str(dict(row))
    with transaction(engine) as conn:
        claimed = pairing.claim(conn, config, "st-09", "abcd-2345", "alice")
    assert claimed["store"] == "store-01" and claimed["claimed_by"] == "alice"
    assert poll(engine, config, code="ZZZZ2222")["status"] == "pending"  # another code: nothing
    answer = poll(engine, config)
    assert answer["status"] == "paired"
    mqtt = answer["mqtt"]
    assert mqtt["username"] == "st-09" and mqtt["url"] == "mqtt://127.0.0.1:1883"
    entry = config.pairing.broker_password_file.read_text().strip()
    user, hashed = entry.split(":", 1)
    assert user == "st-09" and pairing.check_password_hash(mqtt["password"], hashed)
    assert poll(engine, config)["mqtt"]["password"] == mqtt["password"]  # may be fetched again
    with transaction(engine) as conn:
        conn.execute(pairing_requests.update().values(delivered_at="2000-01-01T00:00:00.000Z"))
    assert poll(engine, config) == {"status": "spent"}
    with transaction(engine) as conn:
        assert conn.execute(select(pairing_requests.c.password)).scalar() is None


def test_claim_errors_change_nothing(engine, config):  # noqa: F811
    poll(engine, config)
    with transaction(engine) as conn, pytest.raises(NotFound):
        pairing.claim(conn, config, "st-09", "WRONG222", "alice")
    with transaction(engine) as conn, pytest.raises(NotFound):
        pairing.claim(conn, config, "st-10", CODE, "alice")
    with transaction(engine) as conn, pytest.raises(InvalidInput):
        pairing.claim(conn, config, "st-09", "short", "alice")
    with transaction(engine) as conn, pytest.raises(InvalidInput):
        pairing.claim(conn, config, "St 09", CODE, "alice")
    assert not config.pairing.broker_password_file.exists()
    with transaction(engine) as conn:
        pairing.claim(conn, config, "st-09", CODE, "alice")
    with transaction(engine) as conn, pytest.raises(InvalidInput, match="already used"):
        pairing.claim(conn, config, "st-09", CODE, "bob")


def test_poll_validates_and_respects_tenants(engine, config):  # noqa: F811
    with transaction(engine) as conn, pytest.raises(InvalidInput, match="tenant"):
        pairing.poll(conn, config, "st-09", "other", "store-01", CODE)
    with transaction(engine) as conn, pytest.raises(InvalidInput):
        pairing.poll(conn, config, "st-09", "test", "store-01", None)
    off = config.model_copy(
        update={"pairing": config.pairing.model_copy(update={"station_mqtt_url": None})}
    )
    with transaction(engine) as conn, pytest.raises(pairing.PairingDisabled):
        pairing.poll(conn, off, "st-09", "test", "store-01", CODE)


def test_pending_list_and_bounded_rows(engine, config):  # noqa: F811
    for i in range(pairing.MAX_PENDING_PER_STATION + 5):
        poll(engine, config, code=f"CODE{i:04d}")
    with transaction(engine) as conn:
        listed = pairing.pending(conn, config)
    assert len(listed) == pairing.MAX_PENDING_PER_STATION
    assert all("code" not in key for row in listed for key in row)


def test_password_entries_are_replaced_and_mosquitto_accepts_them(tmp_path):
    path = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "hub", "hubpw"], check=True)
    pairing.set_broker_password(path, "st-01", "first")
    pairing.set_broker_password(path, "st-02", "other")
    pairing.set_broker_password(path, "st-01", "second")
    users = [line.split(":")[0] for line in path.read_text().splitlines()]
    assert users == ["hub", "st-02", "st-01"]
    broker = Mosquitto(tmp_path / "broker", password_file=path).start()
    try:

        def login(user, password):
            result: dict[str, Any] = {}
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=mqtt.MQTTv5)
            client.username_pw_set(user, password)
            client.on_connect = lambda c, u, f, reason, p: result.setdefault("rc", reason)
            client.connect(broker.host, broker.port)
            while "rc" not in result:
                client.loop(0.1)
            client.disconnect()
            return not result["rc"].is_failure

        assert login("st-01", "second")
        assert not login("st-01", "first")
        assert login("st-02", "other") and login("hub", "hubpw")
    finally:
        broker.stop()
