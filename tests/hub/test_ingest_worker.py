"""The ingest worker over a real broker: reordered batches wait for the missing one, and the
hub's MQTT socket sends without Nagle's delay."""

from __future__ import annotations

import json
import socket
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from cloud.db import read_only
from cloud.ingest_worker import IngestWorker
from cloud.schema import inbox
from edge import protocol, wire
from tests.cloud.factories import Journal
from tests.hub.conftest import wait

pytestmark = pytest.mark.slow


class FakeStation:
    """A plain MQTT client publishing hand-made up batches as ``st-01`` and recording the
    hub's acks."""

    def __init__(self, port: int):
        self.topics = wire.topics("test", "st-01")
        self.acks: list[dict] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5
        )
        self.client.on_connect = lambda c, *_: c.subscribe(self.topics.up_ack, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10)

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.acks.append(json.loads(msg.payload))

    def send(self, batch: wire.Batch) -> None:
        self.client.publish(self.topics.up, batch.to_bytes(), qos=1).wait_for_publish(5)

    def top(self) -> int:
        with self._lock:
            return max((a["upto"] for a in self.acks), default=0)

    def resends(self) -> list[int]:
        with self._lock:
            return [a["resend_from"] for a in self.acks if a.get("resend_from") is not None]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # paho leaves the wake-up socket pair of loop_start() open; close it here so no
        # ResourceWarning surfaces in a later test.
        self.client._reset_sockets()


def worker_of(hub) -> IngestWorker:
    return next(p for p in hub.parts if isinstance(p, IngestWorker))


def journal(n: int) -> Journal:
    j = Journal("st-01")
    for i in range(n):
        j.add(protocol.STAFF_LOGIN, {"staff": f"s{i}"})
    return j


def inbox_seqs(engine) -> list[int]:
    with read_only(engine) as conn:
        rows = conn.execute(
            select(inbox.c.seq).where(inbox.c.station == "st-01").order_by(inbox.c.seq)
        )
        return [r[0] for r in rows]


def test_a_reordered_batch_waits_for_the_missing_one_and_applies_without_a_resend(hub, broker):
    worker = worker_of(hub)
    worker.gap_wait_s = 60.0  # far longer than the test: the missing batch always comes first
    station = FakeStation(broker.port)
    try:
        j = journal(4)
        station.send(j.seqs(3, 4))
        wait(lambda: worker.waiting == 1, what="the later batch held")
        assert inbox_seqs(hub.engine) == [] and station.acks == []

        station.send(j.seqs(1, 2))
        wait(lambda: station.top() == 4, what="both batches acked")
        assert station.resends() == []
        assert worker.waiting == 0
        assert inbox_seqs(hub.engine) == [1, 2, 3, 4]
    finally:
        station.close()


def test_a_batch_whose_predecessor_never_comes_asks_for_a_resend_after_the_wait(hub, broker):
    worker = worker_of(hub)
    worker.gap_wait_s = 0.2
    station = FakeStation(broker.port)
    try:
        j = journal(4)
        station.send(j.seqs(3, 4))
        wait(lambda: station.resends() == [1], what="an ack asking for a resend from seq 1")
        assert station.top() == 0 and inbox_seqs(hub.engine) == []

        station.send(j.seqs(1, 4))  # the station resends its window
        wait(lambda: station.top() == 4, what="the resend acked")
        assert inbox_seqs(hub.engine) == [1, 2, 3, 4]
    finally:
        station.close()


def test_the_hub_client_socket_has_tcp_nodelay(hub):
    worker = worker_of(hub)
    wait(worker.client.is_connected, what="the ingest worker connected")
    sock = worker.client.socket()
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_broker_configs_turn_off_nagle(broker):
    from tests.broker.mosquitto import HUB_CONF

    for text in (HUB_CONF.read_text(encoding="utf-8"), broker.config_file.read_text("utf-8")):
        assert "\nset_tcp_nodelay true\n" in text
