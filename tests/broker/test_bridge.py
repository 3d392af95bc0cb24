"""The optional station bridge (station-bridge.conf): a local broker on the station that
carries exactly this station's topics to the production hub broker over TLS."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.broker.client import Probe
from tests.broker.mosquitto import CONFIG_DIR, Mosquitto

pytestmark = pytest.mark.timeout(30)

BRIDGE_CONF = CONFIG_DIR / "station-bridge.conf"
PASSWORDS = {"st-01": "station-secret", "hub": "hub-secret"}
ROOT = "ps/v1/acme/st/st-01"


def station_broker(tmp_path: Path, hub: Mosquitto) -> Mosquitto:
    """A local broker running station-bridge.conf, pointed at ``hub`` instead of the example."""
    local = Mosquitto(tmp_path / "station-broker")
    text = BRIDGE_CONF.read_text(encoding="utf-8")
    swaps = {
        "\nlistener 1883 127.0.0.1\n": f"\nlistener {local.port} 127.0.0.1\n",
        # localhost: the name in the test server certificate, checked by the bridge.
        "\naddress hub.example.com:8883\n": f"\naddress localhost:{hub.tls_port}\n",
        "\nremote_password CHANGE-ME\n": f"\nremote_password {PASSWORDS['st-01']}\n",
        "\nbridge_cafile /etc/printstation/ca.crt\n": f"\nbridge_cafile {hub.ca_file}\n",
    }
    for old, new in swaps.items():
        assert old in text, f"station-bridge.conf no longer has {old.strip()!r}"
        text = text.replace(old, new)
    if os.geteuid() == 0:
        text = "user root\n" + text
    local.use_config(text)
    return local.start()


def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_station_bridge_carries_only_this_stations_topics(
    broker_factory: Callable[..., Mosquitto], tmp_path: Path
) -> None:
    hub_broker = broker_factory(production=True, users=PASSWORDS)
    local = station_broker(tmp_path, hub_broker)
    try:
        with (
            Probe(hub_broker, "hub", PASSWORDS["hub"], client_id="hub-ingest-1") as hub,
            Probe(local, client_id="sync-agent") as agent,
        ):
            # The bridge's local notification: retained "0" until it is connected, then "1".
            agent.subscribe("$SYS/broker/connection/st-01/state")
            until(lambda: agent.expect("$SYS/broker/connection/st-01/state").payload == b"1")
            hub.subscribe("$share/ingest/ps/v1/+/st/+/up")
            hub.subscribe("ps/v1/+/st/+/state")
            for leaf in ("dn", "up/ack"):
                agent.subscribe(f"{ROOT}/{leaf}")
            agent.subscribe("ps/v1/acme/hub/state")

            # Station to hub: the agent publishes locally, the hub receives.
            agent.publish(f"{ROOT}/up", b"batch-1")
            agent.publish(f"{ROOT}/state", b'{"online": true}', retain=True)
            assert hub.expect(f"{ROOT}/up").payload == b"batch-1"
            assert hub.expect(f"{ROOT}/state").payload == b'{"online": true}'

            # Hub to station (resent until the bridge's remote subscription is in place).
            hub.publish("ps/v1/acme/hub/state", b'{"online": true}', retain=True)
            assert agent.expect("ps/v1/acme/hub/state").payload == b'{"online": true}'

            def dn_arrived() -> bool:
                hub.publish(f"{ROOT}/dn", b"events")
                return any(m.topic == f"{ROOT}/dn" for m in agent.received(0.2))

            until(dn_arrived)
            hub.publish(f"{ROOT}/up/ack", b'{"upto": 1}')
            assert agent.expect(f"{ROOT}/up/ack").payload == b'{"upto": 1}'

            # Another station's topic is not bridged at all.
            agent.publish("ps/v1/acme/st/st-02/up", b"not-mine")
            assert [m.topic for m in hub.received(0.3)] == []
    finally:
        local.stop()
