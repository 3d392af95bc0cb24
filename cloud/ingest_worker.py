"""An ingest worker: takes station messages from a shared subscription, commits them, and
acks after the commit. Any number of workers run side by side; each message goes to one.

Group commit: the worker thread takes everything queued (at most ``MAX_GROUP`` messages)
and ingests all the ``up`` batches among them in one transaction, then publishes each
batch's ack. A batch that finds a gap before anything it could apply is held up to
``GAP_WAIT_S`` and offered again with the next group (every ``RETRY_S`` at least): QoS 1
over several workers of a shared subscription reorders, and the missing batch is usually
being committed by another worker. Only then does its ack ask the station to resend.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine

from cloud import alerts, ingest, outbox, registry
from cloud.apply import TopupPolicy
from cloud.config import HubConfig
from cloud.db import transaction
from cloud.mqtt import make_client
from edge import wire
from edge.protocol import ProtocolError

log = logging.getLogger(__name__)
LEAVES = ("up", "dn/ack", "state", "tele")
MAX_GROUP = 50  # messages taken from the queue for one group commit
GAP_WAIT_S = 0.1  # how long a batch after a gap waits for the missing one
RETRY_S = 0.005  # how often held batches are offered again when nothing else comes


@dataclass
class _Up:
    """An up batch received, with when it may stop waiting for a missing predecessor."""

    delivery: ingest.Delivery
    deadline: float


class IngestWorker:
    def __init__(self, config: HubConfig, engine: Engine):
        self.config, self.engine = config, engine
        self.client, self.host, self.port = make_client(config.mqtt, "ingest")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.topup = TopupPolicy(low_water=config.allotment.low_water, batch=config.allotment.batch)
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=10_000)
        self._thread = threading.Thread(target=self._work, name="ingest", daemon=True)
        self.handled = 0
        self.gap_wait_s = GAP_WAIT_S
        self._held: list[_Up] = []

    def start(self) -> None:
        self._thread.start()
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=True)
        self.client.loop_start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the ingest worker: %s", reason)
            return
        group = self.config.hub.ingest_group
        client.subscribe([(f"$share/{group}/ps/v1/+/st/+/{leaf}", 1) for leaf in LEAVES])
        log.info("ingest worker subscribed (group %s)", group)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._queue.put_nowait((msg.topic, bytes(msg.payload)))
        except queue.Full:
            log.warning("ingest queue full; %s dropped (the station resends)", msg.topic)

    @property
    def waiting(self) -> int:
        """Up batches held back, waiting for a missing predecessor."""
        return len(self._held)

    def _work(self) -> None:
        running = True
        while running:
            try:
                first = self._queue.get(timeout=RETRY_S if self._held else None)
            except queue.Empty:
                first = ("", b"")  # nothing new: offer the held batches again
            items = [first]
            while len(items) < MAX_GROUP:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            ups = list(self._held)
            for item in items:
                if item is None:
                    running = False
                elif item[0]:
                    up = self._take(*item)
                    if up is not None:
                        ups.append(up)
            self._held = self._ingest(ups) if ups else []

    def _take(self, topic: str, payload: bytes) -> _Up | None:
        """An up batch to ingest with the group; any other message is handled at once."""
        try:
            parsed = wire.parse_topic(topic)
            if parsed is not None and parsed[2] == "up" and self._allowed(parsed[0]):
                tenant, station, _leaf = parsed
                try:
                    batch = wire.Batch.from_bytes(payload, station=station, stream="up")
                except ProtocolError as err:
                    self._refused(tenant, station, "up", err)
                else:
                    delivery = ingest.Delivery(tenant, batch, may_wait=True)
                    return _Up(delivery, time.monotonic() + self.gap_wait_s)
            else:
                self.handle(topic, payload)
            self.handled += 1
        except Exception:
            log.exception("handling %s failed; continuing", topic)
        return None

    def _ingest(self, ups: list[_Up]) -> list[_Up]:
        """Ingest the group, publish the acks after its commit; returns the batches held."""
        now = time.monotonic()
        for up in ups:
            if up.deadline <= now:  # waited long enough: ask for the resend
                up.delivery = ingest.Delivery(up.delivery.tenant, up.delivery.batch)
        try:
            results = ingest.ingest_group(self.engine, [u.delivery for u in ups], topup=self.topup)
        except Exception:
            log.exception("ingesting a group of %d batches failed; continuing", len(ups))
            return []
        held = []
        for up, result in zip(ups, results, strict=True):
            tenant, batch = up.delivery.tenant, up.delivery.batch
            if result is None:
                held.append(up)
            elif isinstance(result, Exception):
                log.error("ingesting a batch of %s failed: %r", batch.station, result)
            else:
                topic = wire.topics(tenant, batch.station).up_ack
                self.client.publish(topic, result.to_bytes(), qos=1)
                self.handled += 1
        return held

    def _allowed(self, tenant: str) -> bool:
        return not self.config.hub.tenants or tenant in self.config.hub.tenants

    def handle(self, topic: str, payload: bytes) -> None:
        parsed = wire.parse_topic(topic)
        if parsed is None or not self._allowed(parsed[0]):
            log.warning("ignored a message on %s", topic)
            return
        tenant, station, leaf = parsed
        try:
            if leaf == "up":
                batch = wire.Batch.from_bytes(payload, station=station, stream="up")
                ack = ingest.ingest(self.engine, tenant, batch, topup=self.topup)
                self.client.publish(wire.topics(tenant, station).up_ack, ack.to_bytes(), qos=1)
            elif leaf == "dn/ack":
                outbox.record_dn_ack(self.engine, station, wire.Ack.from_bytes(payload))
            elif leaf == "state" and payload:
                with transaction(self.engine) as conn:
                    registry.on_presence(conn, tenant, station, wire.parse_presence(payload))
            elif leaf == "tele":
                with transaction(self.engine) as conn:
                    registry.on_telemetry(conn, tenant, station, wire.parse_telemetry(payload))
        except ProtocolError as err:
            self._refused(tenant, station, leaf, err)

    def _refused(self, tenant: str, station: str, leaf: str, err: ProtocolError) -> None:
        log.warning("refused a %s message from %s: %s", leaf, station, err)
        with transaction(self.engine) as conn:
            registry.ensure_station(conn, tenant, station)
            alerts.raise_alert(conn, station, "bad_payload", f"{leaf}: {err}")
