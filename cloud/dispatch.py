"""The dn dispatcher: sends each station the hub events it has not acked, and keeps the
hub's presence. One dispatcher runs per hub (in the ``web``/``all`` process).

A station's events are sent from its last ack when it (re)connects — a new presence
session — or when no ack came for ``dn_ack_timeout_s``; at most one window of events is
in flight. Offline stations get nothing until their birth.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine, and_, select

from cloud import allocation, commands
from cloud.alerts import OpsHousekeeping
from cloud.config import HubConfig
from cloud.db import read_only, retrying, transaction
from cloud.ingest import alert_stale_gaps
from cloud.mqtt import make_client
from cloud.outbox import pending_dn
from cloud.schema import stations, stream_state
from edge import protocol, wire

log = logging.getLogger(__name__)
WINDOW_BATCHES = 4
HOUSEKEEPING_S = 10.0
GAP_ALERT_S = 60


class Dispatcher:
    def __init__(self, config: HubConfig, engine: Engine):
        self.config, self.engine = config, engine
        self.client, self.host, self.port = make_client(config.mqtt, "dispatch")
        self.client.on_connect = self._on_connect
        self.tenants = list(config.hub.tenants)
        if self.tenants:
            self.client.will_set(
                wire.hub_state_topic(self.tenants[0]), wire.presence(False, 0), qos=1, retain=True
            )
        self.connected = threading.Event()
        self.wake = threading.Event()
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dispatch", daemon=True)
        self._sent: dict[str, int] = {}
        self._progress: dict[str, float] = {}
        self._sessions: dict[str, int] = {}
        self._acked: dict[str, int] = {}
        self._announced: set[str] = set()
        self._last_housekeeping = 0.0
        # alert rules, telemetry history and webhook notices: see cloud.alerts
        self.ops = OpsHousekeeping(config, engine)

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=True)
        self.client.loop_start()
        self._thread.start()
        self.ops.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self.ops.stop()
        self._halt.set()
        self.wake.set()
        self._thread.join(timeout=10)
        for tenant in self._announced:
            self.client.publish(
                wire.hub_state_topic(tenant), wire.presence(False, 0), qos=1, retain=True
            ).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the dispatcher: %s", reason)
            return
        self._announced.clear()
        self._sent.clear()
        self.connected.set()
        self.wake.set()

    def _announce(self, tenant: str) -> None:
        if tenant not in self._announced:
            self.client.publish(
                wire.hub_state_topic(tenant),
                wire.presence(True, 0, at=protocol.utc_now()),
                qos=1,
                retain=True,
            )
            self._announced.add(tenant)

    def _run(self) -> None:
        while not self._halt.is_set():
            self.wake.wait(0.1)
            self.wake.clear()
            if not self.connected.is_set() or not self.client.is_connected():
                continue
            try:
                for tenant in self.tenants:
                    self._announce(tenant)
                self._round()
                if time.monotonic() - self._last_housekeeping > HOUSEKEEPING_S:
                    self._housekeeping()
            except Exception:
                log.exception("dispatch round failed; continuing")
                self._halt.wait(1)

    def _housekeeping(self) -> None:
        """Expire commands past their deadline; alert on gaps that did not fill in a minute."""
        self._last_housekeeping = time.monotonic()
        older = protocol.format_time(datetime.now(UTC) - timedelta(seconds=GAP_ALERT_S))
        with transaction(self.engine) as conn:
            expired = commands.expire_commands(conn)
            alert_stale_gaps(conn, older)
        if expired:
            log.info("%d commands expired before their station took them", expired)
        # Orders of stations offline past [allocation] offline_timeout_s move elsewhere;
        # checked orders no station could take are tried again.
        moved = retrying(
            self.engine, lambda conn: allocation.sweep(conn, self.config, protocol.utc_now())
        )
        if any(moved.values()):
            log.info(
                "allocation sweep: %(moved)d moved, %(placed)d placed, "
                "%(waybill_blocks)d waybill blocks granted",
                moved,
            )

    def _round(self) -> None:
        with read_only(self.engine) as conn:
            rows = conn.execute(
                select(
                    stations.c.id,
                    stations.c.tenant,
                    stations.c.online,
                    stations.c.session,
                    stream_state.c.seq,
                    stream_state.c.acked,
                ).join(
                    stream_state,
                    and_(stream_state.c.station == stations.c.id, stream_state.c.stream == "dn"),
                )
            ).all()
        now = time.monotonic()
        for station, tenant, online, session, last, acked in rows:
            self._announce(tenant)
            if not online:
                self._sent.pop(station, None)
                continue
            if self._sessions.get(station) != session:
                self._sessions[station] = session
                self._sent[station] = acked  # a new connection: start from its last ack
            if acked != self._acked.get(station):
                self._acked[station] = acked
                self._progress[station] = now
            sent = max(self._sent.get(station, acked), acked)
            if (
                sent > acked
                and now - self._progress.get(station, now) > self.config.hub.dn_ack_timeout_s
            ):
                log.warning(
                    "station %s has not acked dn %d..%d; sending again", station, acked + 1, sent
                )
                sent, self._progress[station] = acked, now
            window = WINDOW_BATCHES * self.config.hub.dn_batch_events
            if sent >= last or sent - acked >= window:
                self._sent[station] = sent
                continue
            events = pending_dn(self.engine, station, sent, self.config.hub.dn_batch_events)
            if not events:
                continue
            if sent == acked:
                self._progress[station] = now
            batch = wire.Batch(station, "dn", tuple(events))
            info = self.client.publish(wire.topics(tenant, station).dn, batch.to_bytes(), qos=1)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self._sent[station] = events[-1].seq
