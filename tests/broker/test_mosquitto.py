"""The test broker helper itself: free port, anonymous mode, restart on the same port."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.broker.client import Probe
from tests.broker.mosquitto import BrokerError, Mosquitto

pytestmark = pytest.mark.timeout(30)


def test_anonymous_broker_for_simple_tests(mosquitto: Mosquitto) -> None:
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    assert mosquitto.port != 1883
    with Probe(mosquitto, client_id="a") as client:
        client.subscribe("x/#")
        client.publish("x/1", b"hello")
        assert client.expect("x/1").payload == b"hello"


def test_restart_comes_back_on_the_same_port_with_persistence(
    broker_factory: Callable[..., Mosquitto],
) -> None:
    broker = broker_factory(persistence=True)
    port = broker.port
    with Probe(broker, client_id="a") as client:
        client.publish("kept", b"retained", retain=True)
    broker.stop()
    assert not broker.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass

    broker.start()
    assert broker.port == port
    with Probe(broker, client_id="b") as client:
        client.subscribe("kept")
        assert client.expect("kept").payload == b"retained"
    broker.restart()
    assert broker.running
    broker.stop()
    broker.stop()  # idempotent


def test_client_sees_the_broker_go_down(broker_factory: Callable[..., Mosquitto]) -> None:
    broker = broker_factory()
    client = Probe(broker, client_id="watcher")
    client.connect()
    try:
        broker.kill()
        client.wait_disconnected()
    finally:
        client.close()


def test_users_turn_anonymous_access_off(broker_factory: Callable[..., Mosquitto]) -> None:
    broker = broker_factory(users={"u": "p"}, acl="user u\ntopic readwrite t/#\n")
    assert Probe(broker, client_id="anon").connect().is_failure
    with Probe(broker, "u", "p") as client:
        assert not client.publish("t/1", b"ok").is_failure
        assert client.publish("other", b"no").is_failure


def test_tls_broker_serves_its_ca(broker_factory: Callable[..., Mosquitto]) -> None:
    broker = broker_factory(tls=True)
    assert broker.tls_url == f"mqtts://127.0.0.1:{broker.tls_port}"
    assert broker.ca_file is not None and broker.ca_file.exists()
    with Probe(broker, "anyone", tls=True) as client:
        assert not client.publish("t", b"over-tls").is_failure


def test_a_broker_that_cannot_start_says_why(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, extra_config="no_such_option true")
    with pytest.raises(BrokerError, match="no_such_option"):
        broker.start()
    assert not broker.running
