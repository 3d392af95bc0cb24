"""A scripted hub peer for the sync agent's protocol tests: it receives ``up`` batches,
keeps each event once by seq, acks cumulatively (or not, when told), and sends ``dn``
batches it seals itself. It speaks the wire protocol through edge.wire like the hub does."""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge import protocol, wire


class HubPeer:
    def __init__(
        self,
        port: int,
        tenant: str,
        station: str,
        *,
        username: str | None = None,
        password: str | None = None,
    ):
        self.topics = wire.topics(tenant, station)
        self.station = station
        self.events: dict[int, protocol.Event] = {}
        self.deliveries = 0
        self.presence: list[dict[str, Any]] = []
        self.telemetry: list[dict[str, Any]] = []
        self.dn_acks: list[wire.Ack] = []
        self.acking = True
        self.dn_seq, self.dn_hash = 0, protocol.GENESIS_HASH
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"peer-{station}",
            protocol=mqtt.MQTTv5,
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe(
            [
                (self.topics.up, 1),
                (self.topics.state, 1),
                (self.topics.tele, 0),
                (self.topics.dn_ack, 1),
            ]
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    @property
    def applied(self) -> int:
        """Highest seq with no gap below it."""
        n = 0
        while n + 1 in self.events:
            n += 1
        return n

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        payload = bytes(msg.payload)
        if msg.topic == self.topics.up:
            batch = wire.Batch.from_bytes(payload, station=self.station, stream="up")
            with self._lock:
                self.deliveries += 1
                for event in batch.events:
                    self.events.setdefault(event.seq, event)
                upto = self.applied
            if self.acking:
                self.client.publish(self.topics.up_ack, wire.Ack(upto).to_bytes(), qos=1)
        elif msg.topic == self.topics.state and payload:
            self.presence.append(wire.parse_presence(payload))
        elif msg.topic == self.topics.tele:
            self.telemetry.append(wire.parse_telemetry(payload))
        elif msg.topic == self.topics.dn_ack:
            self.dn_acks.append(wire.Ack.from_bytes(payload))

    def seal(self, kind: str, data: dict[str, Any]) -> protocol.Event:
        self.dn_seq += 1
        event = protocol.seal(self.dn_seq, kind, data, self.dn_hash)
        self.dn_hash = event.hash
        return event

    def send_dn(self, *events: protocol.Event) -> None:
        batch = wire.Batch(self.station, "dn", tuple(events))
        self.client.publish(self.topics.dn, batch.to_bytes(), qos=1).wait_for_publish(5)

    def ack_now(self) -> None:
        self.client.publish(self.topics.up_ack, wire.Ack(self.applied).to_bytes(), qos=1)

    def wait(self, predicate: Any, timeout: float = 10.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what or predicate}")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
