"""The sync agent: publishes the journal ``up`` until the hub acks it, applies the hub's
``dn`` events exactly once in order, announces presence and sends telemetry.

Threads: *network* (connects with jittered backoff and runs the MQTT client loop), *publisher*
(the only one that publishes batches), *receiver* (handles what arrived: acks, dn batches,
hub presence) and *wakeups* (pokes from the other station processes). MQTT callbacks only
put messages on the receiver's queue: they never block and never raise.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from edge import __version__, protocol, wire
from edge.config import StationConfig
from edge.store import Store, inbox, journal, kv, outbox, stock
from edge.store.notify import Listener
from edge.sync.apply import NeverApplies, apply
from edge.sync.client import make_client
from edge.sync.telemetry import gather

log = logging.getLogger(__name__)

SESSION = "sync.session"


class SyncAgent:
    def __init__(self, config: StationConfig, store: Store | None = None):
        self.config, self.settings = config, config.sync
        self.store = store or Store(config.db_path)
        self.station, self.tenant = config.station.id, config.station.tenant
        self.topics = wire.topics(self.tenant, self.station)
        self.hub_topic = wire.hub_state_topic(self.tenant)
        self.client, self.endpoint = make_client(config)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.connected = threading.Event()
        self.wake = threading.Event()
        self.hub_online: bool | None = None
        self.sent_upto = 0
        self.last_progress = time.monotonic()
        self.started = time.monotonic()
        self._received: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=10_000)
        self._halt = threading.Event()
        self._listener = Listener(config.runtime_dir, "sync")
        self._threads = [
            threading.Thread(target=self._network, name="mqtt", daemon=True),
            threading.Thread(target=self._publisher, name="publisher", daemon=True),
            threading.Thread(target=self._receiver, name="receiver", daemon=True),
            threading.Thread(target=self._wakeups, name="wakeups", daemon=True),
        ]
        self._refused_logged = False

    # -- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        with self.store.write() as conn:
            kv.put(conn, stock.LOW_WATER, self.settings.topup_low_water)
        self.sent_upto = outbox.acked(self.store.conn())
        for thread in self._threads:
            thread.start()

    def is_alive(self) -> bool:
        return all(t.is_alive() for t in self._threads)

    def stop(self) -> None:
        self._halt.set()
        self.wake.set()
        if self.client.is_connected():
            session = int(kv.get(self.store.conn(), SESSION, 0))
            info = self.client.publish(
                self.topics.state, wire.presence(False, session), qos=1, retain=True
            )
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                info.wait_for_publish(2)
            self.client.disconnect()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    # -- network ------------------------------------------------------------------------
    def _next_session(self) -> int:
        with self.store.write() as conn:
            session = int(kv.get(conn, SESSION, 0)) + 1
            kv.put(conn, SESSION, session)
        return session

    def _network(self) -> None:
        delay, linked = self.settings.reconnect_min_s, False
        while not self._halt.is_set():
            if not linked:  # no socket yet, or the last one dropped
                session = self._next_session()
                self.client.will_set(
                    self.topics.state, wire.presence(False, session), qos=1, retain=True
                )
                try:
                    self.client.connect(
                        self.endpoint.host,
                        self.endpoint.port,
                        keepalive=self.settings.keepalive_s,
                        clean_start=True,
                    )
                    linked = True
                except (OSError, ValueError) as err:
                    if delay == self.settings.reconnect_min_s:
                        log.warning(
                            "broker %s:%s unreachable: %s; retrying",
                            self.endpoint.host,
                            self.endpoint.port,
                            err,
                        )
                    self._halt.wait(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
                    delay = min(delay * 2, self.settings.reconnect_max_s)
                    continue
            rc = self.client.loop(timeout=0.1)
            if rc == mqtt.MQTT_ERR_SUCCESS:
                if self.connected.is_set():
                    delay = self.settings.reconnect_min_s
                continue
            linked = False
            self.connected.clear()
            self._halt.wait(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter
            delay = min(delay * 2, self.settings.reconnect_max_s)

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            if not self._refused_logged:
                log.error(
                    "broker refused the connection: %s — check [mqtt] username and "
                    "password_file, or the certificate",
                    reason,
                )
                self._refused_logged = True
            return
        self._refused_logged = False
        client.subscribe([(self.topics.up_ack, 1), (self.topics.dn, 1), (self.hub_topic, 1)])

    def _on_subscribe(self, client: mqtt.Client, _u: Any, _mid: Any, reasons: Any, _p: Any) -> None:
        session = int(kv.get(self.store.conn(), SESSION, 0))
        client.publish(
            self.topics.state,
            wire.presence(
                True,
                session,
                version=__version__,
                store=self.config.station.store,
                at=protocol.utc_now(),
            ),
            qos=1,
            retain=True,
        )
        self.sent_upto = outbox.acked(self.store.conn())  # resend whatever was unacked
        self.last_progress = time.monotonic()
        self.connected.set()
        self.wake.set()
        log.info("connected to the broker (session %d)", session)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self.connected.is_set() and not self._halt.is_set():
            log.warning("disconnected from the broker: %s", reason)
        self.connected.clear()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._received.put_nowait((msg.topic, bytes(msg.payload)))
        except queue.Full:
            log.warning("receive queue full; %s dropped (the sender resends)", msg.topic)

    # -- up -----------------------------------------------------------------------------
    def _publisher(self) -> None:
        last_tele = 0.0
        while not self._halt.is_set():
            self.wake.wait(0.2)
            self.wake.clear()
            if not self.connected.is_set():
                continue
            try:
                self._send_pending()
                if time.monotonic() - last_tele >= self.settings.telemetry_interval_s:
                    last_tele = time.monotonic()
                    self.client.publish(
                        self.topics.tele,
                        wire.telemetry(
                            gather(self.config, self.store, self.started, self.hub_online)
                        ),
                        qos=0,
                    )
            except Exception:
                log.exception("publisher failed; continuing")
                self._halt.wait(1)

    def _send_pending(self) -> None:
        conn = self.store.conn()
        acked = outbox.acked(conn)
        now = time.monotonic()
        if self.sent_upto > acked and now - self.last_progress > self.settings.ack_timeout_s:
            log.warning(
                "no ack for %d events in %.0f s; sending them again",
                self.sent_upto - acked,
                self.settings.ack_timeout_s,
            )
            self.sent_upto, self.last_progress = acked, now
        while self.connected.is_set():
            room = self.settings.window_events - (self.sent_upto - acked)
            if room <= 0:
                return
            events = outbox.pending(conn, self.sent_upto, min(self.settings.batch_events, room))
            if not events:
                return
            payload = wire.Batch(self.station, "up", tuple(events)).to_bytes()
            while len(payload) > wire.MAX_PAYLOAD_BYTES and len(events) > 1:
                events = events[: len(events) // 2]
                payload = wire.Batch(self.station, "up", tuple(events)).to_bytes()
            if self.sent_upto == acked:
                self.last_progress = time.monotonic()
            info = self.client.publish(self.topics.up, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return
            self.sent_upto = events[-1].seq

    # -- received -----------------------------------------------------------------------
    def _receiver(self) -> None:
        while not self._halt.is_set():
            try:
                topic, payload = self._received.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._handle(topic, payload)
            except protocol.ProtocolError as err:
                log.warning("ignored a malformed message on %s: %s", topic, err)
            except Exception:
                log.exception("handling a message on %s failed; continuing", topic)

    def _handle(self, topic: str, payload: bytes) -> None:
        if topic == self.topics.up_ack:
            ack = wire.Ack.from_bytes(payload)
            with self.store.write() as conn:
                acked = outbox.record_ack(conn, ack.upto)
            self.last_progress = time.monotonic()
            self.sent_upto = max(self.sent_upto, acked)
            for seq, reason in ack.rejected:
                log.error("the hub rejected event %d: %s", seq, reason)
            if ack.resend_from is not None:
                self.sent_upto = min(self.sent_upto, ack.resend_from - 1)
            self.wake.set()
        elif topic == self.topics.dn:
            self._apply_dn(wire.Batch.from_bytes(payload, station=self.station, stream="dn"))
        elif topic == self.hub_topic:
            online = bool(wire.parse_presence(payload)["online"]) if payload else False
            if online and self.hub_online is False:
                self.sent_upto = outbox.acked(self.store.conn())
                self.wake.set()
            if online != self.hub_online:
                log.info("hub is %s", "online" if online else "offline")
            self.hub_online = online

    def _apply_dn(self, batch: wire.Batch) -> None:
        applied, last_hash = inbox.position(self.store.conn())
        plan = wire.plan(batch.events, applied, last_hash)
        rejected: list[tuple[int, str]] = []
        for seq in plan.broken:
            log.error("hub event %d does not chain to the one before it", seq)
        for event in plan.apply:
            try:
                with self.store.write() as conn:
                    outcome = apply(conn, event, self.config)
                    inbox.advance(conn, event)
            except NeverApplies as err:
                with self.store.write() as conn:
                    inbox.advance(conn, event)
                    journal.append(
                        conn,
                        protocol.DN_REJECTED,
                        {"seq": event.seq, "kind": event.kind, "reason": str(err)},
                    )
                rejected.append((event.seq, str(err)))
                log.error("hub event %d (%s) rejected: %s", event.seq, event.kind, err)
                continue
            if outcome.resync_from is not None:
                self.sent_upto = outcome.resync_from - 1
        upto, _ = inbox.position(self.store.conn())
        ack = wire.Ack(upto, tuple(rejected), plan.gap_from)
        self.client.publish(self.topics.dn_ack, ack.to_bytes(), qos=1)
        if plan.apply:
            self.wake.set()

    def _wakeups(self) -> None:
        while not self._halt.is_set():
            if self._listener.wait(1.0):
                self.wake.set()


def build(config: StationConfig) -> SyncAgent:
    return SyncAgent(config)
