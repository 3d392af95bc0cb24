"""An ingest worker: takes station messages from a shared subscription, commits them, and
acks after the commit. Any number of workers run side by side; each message goes to one."""

from __future__ import annotations

import logging
import queue
import threading
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

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            topic, payload = item
            try:
                self.handle(topic, payload)
                self.handled += 1
            except Exception:
                log.exception("handling %s failed; continuing", topic)

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
            log.warning("refused a %s message from %s: %s", leaf, station, err)
            with transaction(self.engine) as conn:
                registry.ensure_station(conn, tenant, station)
                alerts.raise_alert(conn, station, "bad_payload", f"{leaf}: {err}")
