"""A small synchronous MQTT v5 client for broker tests, on paho-mqtt 2.x.

Each call waits for the broker's answer and returns its reason code(s), so a test reads as
"connect → refused", "publish → PUBACK not authorized", "subscribe → SUBACK granted QoS 1":

    with Probe(broker, "st-a", "secret") as st_a:
        assert st_a.publish("ps/v1/acme/st/st-a/up", b"{}").value == 0
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType

from paho.mqtt.client import CallbackAPIVersion, Client, MQTTMessage
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.broker.mosquitto import Mosquitto

TIMEOUT = 5.0


class ProbeError(AssertionError):
    """The broker did not answer in time, or the connection was refused."""


class Probe:
    """One paho client. ``tls=True`` connects to the broker's TLS listener and verifies its
    certificate against ``ca_file`` (default: the broker's CA); ``cert``/``key`` present a
    client certificate."""

    def __init__(
        self,
        broker: Mosquitto,
        username: str | None = None,
        password: str | None = None,
        *,
        client_id: str = "",
        tls: bool = False,
        ca_file: Path | None = None,
        cert: Path | None = None,
        key: Path | None = None,
        will: tuple[str, bytes, int, bool] | None = None,
    ):
        self.broker = broker
        self.tls = tls
        self.client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or (username or ""),
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls:
            context = ssl.create_default_context(cafile=str(ca_file or broker.ca_file))
            if cert is not None:
                context.load_cert_chain(str(cert), str(key) if key else None)
            self.client.tls_set_context(context)
        if will is not None:
            topic, payload, qos, retain = will
            self.client.will_set(topic, payload, qos, retain)
        self.messages: queue.Queue[MQTTMessage] = queue.Queue()
        self.connack: ReasonCode | None = None
        self.disconnect_reason: ReasonCode | None = None
        self._connected = threading.Event()
        self._disconnected = threading.Event()
        self._acks: dict[int, queue.Queue[object]] = {}
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_ack
        self.client.on_subscribe = self._on_subscribe

    # -- calls ----------------------------------------------------------------------------

    def connect(self, *, clean_start: bool = True, timeout: float = TIMEOUT) -> ReasonCode:
        """Connect and return the CONNACK reason code; a refused client is closed again."""
        port = self.broker.tls_port if self.tls else self.broker.port
        assert port is not None, "the broker has no TLS listener (tls=True)"
        self.client.connect(self.broker.host, port, keepalive=30, clean_start=clean_start)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            self.close()
            raise ProbeError(f"no CONNACK within {timeout} s\n{self.broker.log_tail()}")
        if self.connack is None:
            self.close()
            raise ProbeError(f"connection closed before CONNACK: {self.disconnect_reason}")
        if self.connack.is_failure:
            self.close()
        return self.connack

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        properties: Properties | None = None,
        timeout: float = TIMEOUT,
    ) -> ReasonCode | None:
        """Publish and return the PUBACK reason code (None for QoS 0, once it is sent)."""
        info = self.client.publish(topic, payload, qos, retain, properties)
        if qos == 0:
            info.wait_for_publish(timeout)
            return None
        code = self._wait(info.mid, timeout, f"PUBACK for {topic}")
        assert isinstance(code, ReasonCode)
        return code

    def subscribe(self, topic: str, *, qos: int = 1, timeout: float = TIMEOUT) -> ReasonCode:
        """Subscribe and return the SUBACK reason code for the one filter."""
        result, mid = self.client.subscribe(topic, qos)
        assert mid is not None, f"subscribe {topic}: {result}"
        codes = self._wait(mid, timeout, f"SUBACK for {topic}")
        assert isinstance(codes, list)
        return codes[0]

    def expect(self, topic: str, timeout: float = TIMEOUT) -> MQTTMessage:
        """The next message on ``topic`` (messages on other topics are skipped)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if message.topic == topic:
                return message
        raise ProbeError(f"nothing received on {topic} within {timeout} s")

    def received(self, wait: float = 0.5) -> list[MQTTMessage]:
        """Every message that arrives within ``wait`` seconds (and any already queued)."""
        got: list[MQTTMessage] = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.messages.get(timeout=left))
            except queue.Empty:
                break
        while not self.messages.empty():
            got.append(self.messages.get_nowait())
        return got

    @property
    def dropped(self) -> bool:
        """The connection was closed (by the broker, or by :meth:`close`)."""
        return self._disconnected.is_set()

    def wait_disconnected(self, timeout: float = TIMEOUT) -> ReasonCode | None:
        """Wait until the broker closed the connection; return its DISCONNECT reason."""
        if not self._disconnected.wait(timeout):
            raise ProbeError(f"still connected after {timeout} s")
        return self.disconnect_reason

    def close(self) -> None:
        """DISCONNECT (a clean close: no Will) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Probe:
        code = self.connect()
        if code.is_failure:
            raise ProbeError(f"connection refused: {code}")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- paho callbacks (network thread) --------------------------------------------------

    def _wait(self, mid: int, timeout: float, what: str) -> object:
        # The answer may already be there: both sides use the atomic dict.setdefault, and no
        # lock of ours is held while paho holds its own (that would deadlock).
        answer = self._acks.setdefault(mid, queue.Queue())
        try:
            return answer.get(timeout=timeout)
        except queue.Empty:
            raise ProbeError(f"no {what} within {timeout} s") from None
        finally:
            self._acks.pop(mid, None)

    def _on_connect(
        self,
        client: Client,
        userdata: object,
        flags: object,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connack = reason_code
        self._connected.set()

    def _on_disconnect(
        self,
        client: Client,
        userdata: object,
        flags: object,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.disconnect_reason = reason_code
        self._disconnected.set()
        self._connected.set()
        if reason_code.is_failure:
            # Refused or dropped by the broker: stay down instead of paho's auto-reconnect.
            client.disconnect()

    def _on_message(self, client: Client, userdata: object, message: MQTTMessage) -> None:
        self.messages.put(message)

    def _on_ack(
        self,
        client: Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._acks.setdefault(mid, queue.Queue()).put(reason_code)

    def _on_subscribe(
        self,
        client: Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._acks.setdefault(mid, queue.Queue()).put(list(reason_codes))
