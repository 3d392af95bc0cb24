"""Faults that must not lose or double anything (real mosquitto, real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from cloud import alerts
from cloud import stock as hub_stock
from cloud.db import make_engine, read_only, transaction
from cloud.schema import inbox
from edge import protocol, wire
from edge.store import Conflict, journal, outbox, stock
from tests.conftest import REPO
from tests.hub.conftest import hub_toml, wait
from tests.hub.test_sync_e2e import known

pytestmark = pytest.mark.slow


def inbox_seqs(engine, station: str) -> list[int]:
    with read_only(engine) as conn:
        return [
            r[0]
            for r in conn.execute(
                select(inbox.c.seq).where(inbox.c.station == station).order_by(inbox.c.seq)
            )
        ]


def fill(agent, n: int) -> int:
    with agent.store.write() as conn:
        for i in range(n):
            journal.append(conn, protocol.STAFF_LOGIN, {"staff": f"s{i}"})
    return journal.last_seq(agent.store.conn())


def exactly_once(engine, station: str, last: int) -> None:
    assert inbox_seqs(engine, station) == list(range(1, last + 1))


def test_station_offline_for_10000_events_then_back(hub, station_factory, broker):
    agent = station_factory("st-01")
    wait(lambda: outbox.depth(agent.store.conn()) == 0, what="initial sync")
    broker.stop()
    last = fill(agent, 10_000)
    broker.restart()
    wait(lambda: outbox.depth(agent.store.conn()) == 0, timeout=120, what="10,000 events drained")
    exactly_once(hub.engine, "st-01", last)


@pytest.mark.allow_errors
def test_malformed_payloads_are_refused_and_the_stream_goes_on(hub, station_factory, broker):
    agent = station_factory("st-01")
    wait(lambda: outbox.depth(agent.store.conn()) == 0, what="initial sync")
    topic = wire.topics("test", "st-01").up
    bad = [
        b"not json",
        json.dumps({"v": 99, "events": []}).encode(),
        b'{"v": 1, "station": "st-01", "stream": "up", "events": [{"seq": "x"}]}',
        b"{" + b" " * (300 * 1024) + b"}",
    ]
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    for payload in bad:
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()

    def alerted() -> int:
        with read_only(hub.engine) as conn:
            return len(alerts.open_alerts(conn, station="st-01", kind="bad_payload"))

    wait(lambda: alerted() >= 4, what="an alert per refused payload")
    last = fill(agent, 20)
    wait(lambda: outbox.depth(agent.store.conn()) == 0, what="the stream goes on")
    exactly_once(hub.engine, "st-01", last)


def test_two_stations_selling_the_last_units_offline_cannot_oversell(hub, station_factory, broker):
    a = station_factory("st-a", seed_orders=1)
    b = station_factory("st-b", seed_orders=1)
    wait(lambda: known(hub, "st-a") and known(hub, "st-b"), what="both stations known")
    with transaction(hub.engine) as conn:
        hub_stock.receive(conn, "test", "store-01", "DRK-001", 10)
        hub_stock.grant(conn, "st-a", "DRK-001", 5)
        hub_stock.grant(conn, "st-b", "DRK-001", 5)
    wait(lambda: stock.sellable(a.store.conn(), "DRK-001") == 5, what="a granted")
    wait(lambda: stock.sellable(b.store.conn(), "DRK-001") == 5, what="b granted")
    broker.stop()
    sold = {}
    for agent, name in ((a, "st-a"), (b, "st-b")):
        count = 0
        for _ in range(7):  # both try to sell more than they were granted
            try:
                with agent.store.write() as conn:
                    stock.move(conn, "DRK-001", -1, "sale", f"o-{name}-{count}")
                count += 1
            except Conflict:
                break
        sold[name] = count
    assert sold == {"st-a": 5, "st-b": 5}
    broker.restart()
    wait(
        lambda: outbox.depth(a.store.conn()) == 0 and outbox.depth(b.store.conn()) == 0,
        timeout=30,
        what="both synced",
    )
    with read_only(hub.engine) as conn:
        view = hub_stock.stock_view(conn, "test", "DRK-001")
        assert hub_stock.check_invariants(conn) == []
    per = {s["station"]: (s["allotted"], s["sold"], s["remaining"]) for s in view["stations"]}
    assert per == {"st-a": (5, 5, 0), "st-b": (5, 5, 0)}
    assert view["on_hand"] == 0


def test_sync_agent_killed_mid_batch(hub, station_factory, broker, tmp_path):
    agent = station_factory("st-01")
    wait(lambda: outbox.depth(agent.store.conn()) == 0, what="initial sync")
    agent.stop()  # from here the agent runs as its own process, killed at will
    last = fill(agent, 4000)
    config = agent.config.station.data_dir / "station.toml"

    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "sync", "--config", str(config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PRINTSTATION_LOG": "WARNING"},
        )

    proc = start()
    wait(lambda: 0 < len(inbox_seqs(hub.engine, "st-01")) < last, timeout=30, what="mid-sync")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc = start()
    try:
        wait(lambda: outbox.depth(agent.store.conn()) == 0, timeout=60, what="drained after kill")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    exactly_once(hub.engine, "st-01", last)


def test_hub_killed_between_commit_and_ack(tmp_path, broker, station_factory, db_url):
    """The hub process is SIGKILLed again and again while a backlog drains: some kills land
    after a commit and before its ack, so the station resends what is already there."""
    config = hub_toml(tmp_path / "hub", db_url, broker.url)

    def start():
        return subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "hub", "--config", str(config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PRINTSTATION_LOG": "WARNING"},
        )

    proc = start()
    agent = station_factory("st-01")
    engine = make_engine(db_url)
    try:
        wait(lambda: outbox.depth(agent.store.conn()) == 0, timeout=30, what="initial sync")
        last = fill(agent, 3000)
        for _ in range(4):
            time.sleep(0.4)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            proc = start()
        wait(lambda: outbox.depth(agent.store.conn()) == 0, timeout=90, what="drained")
        exactly_once(engine, "st-01", last)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        engine.dispose()
