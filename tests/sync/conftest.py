from __future__ import annotations

import pytest

from edge.sample import seed
from edge.store import Store
from edge.sync.agent import SyncAgent
from tests.sync.peer import HubPeer


@pytest.fixture
def agent_for(station_config, broker):
    """``agent_for(extra_toml) -> (agent, peer)``: a started sync agent and its hub peer."""
    made = []

    def make(extra: str = ""):
        config = station_config(
            """
[sync]
ack_timeout_s = 1.0
telemetry_interval_s = 0.5
reconnect_min_s = 0.2
reconnect_max_s = 1.0
"""
            + extra,
            mqtt_url=broker.url,
        )
        store = Store(config.db_path)
        with store.write() as conn:
            seed(conn, config.station.id, order_count=2)
        peer = HubPeer(broker.port, config.station.tenant, config.station.id)
        agent = SyncAgent(config, store)
        agent.start()
        made.append((agent, peer, store))
        assert agent.connected.wait(10), "the agent did not connect"
        return agent, peer

    yield make
    for agent, peer, store in made:
        agent.stop()
        peer.close()
        store.close()
