"""The sync agent over TLS, with a password and with a client certificate, against a broker
that runs the production ACL."""

from __future__ import annotations

from edge.config import load_config
from edge.sample import seed
from edge.store import Store, outbox
from edge.sync.agent import SyncAgent
from tests.broker.mosquitto import PRODUCTION_ACL, Mosquitto
from tests.conftest import write_config
from tests.sync.peer import HubPeer


def run_agent(tmp_path, broker, mqtt_extra: str, hub_port: int) -> None:
    path = write_config(
        tmp_path / "st-01",
        "\n[sync]\nreconnect_min_s = 0.2\n",
        station_id="st-01",
        mqtt_url=broker.tls_url,
    )
    text = path.read_text(encoding="utf-8").replace(
        f'url = "{broker.tls_url}"', f'url = "{broker.tls_url}"\n{mqtt_extra}'
    )
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    store = Store(config.db_path)
    with store.write() as conn:
        seed(conn, "st-01", order_count=1)
    agent = SyncAgent(config, store)
    peer = HubPeer(hub_port, "test", "st-01", username="hub", password="hub-pw")
    agent.start()
    try:
        assert agent.connected.wait(10), "the agent did not connect over TLS"
        peer.wait(lambda: outbox.depth(store.conn()) == 0, what="events acked over TLS")
    finally:
        agent.stop()
        peer.close()
        store.close()


def test_tls_with_a_password(tmp_path):
    broker = Mosquitto(
        tmp_path / "broker", users={"st-01": "pw", "hub": "hub-pw"}, acl=PRODUCTION_ACL, tls=True
    )
    broker.start()
    try:
        (tmp_path / "pw").write_text("pw", encoding="utf-8")
        run_agent(
            tmp_path,
            broker,
            f'password_file = "{tmp_path / "pw"}"\nca_file = "{broker.ca_file}"',
            broker.port,
        )
    finally:
        broker.stop()


def test_tls_with_a_client_certificate(tmp_path):
    broker = Mosquitto(
        tmp_path / "broker", users={"hub": "hub-pw"}, acl=PRODUCTION_ACL, require_certificate=True
    )
    broker.start()
    try:
        cert, key = broker.client_cert("st-01")
        run_agent(
            tmp_path,
            broker,
            f'ca_file = "{broker.ca_file}"\ncert_file = "{cert}"\nkey_file = "{key}"',
            broker.port,
        )
    finally:
        broker.stop()
