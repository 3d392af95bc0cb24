"""The hub's MQTT v5 clients: one per worker, with credentials and TLS from ``[mqtt]``."""

from __future__ import annotations

import contextlib
import socket
import ssl
import uuid
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cloud.config import MqttSection


def make_client(settings: MqttSection, role: str) -> tuple[mqtt.Client, str, int]:
    """A paho client (not connected) and the broker's host and port."""
    parts = urlsplit(settings.url)
    tls = parts.scheme == "mqtts"
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"ps-hub-{role}-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )
    client.max_inflight_messages_set(50)
    client.on_socket_open = no_delay
    if settings.password_file:
        password = settings.password_file.read_text(encoding="utf-8").strip()
        client.username_pw_set(settings.username, password)
    elif settings.username:
        client.username_pw_set(settings.username)
    if tls:
        client.tls_set(
            ca_certs=str(settings.ca_file) if settings.ca_file else None,
            certfile=str(settings.cert_file) if settings.cert_file else None,
            keyfile=str(settings.key_file) if settings.key_file else None,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client, parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883)


def no_delay(_client: mqtt.Client, _userdata: object, sock: object) -> None:
    """Send each packet at once (``TCP_NODELAY``): with Nagle's algorithm an ack published
    right after a ``PUBACK`` waits for the broker's delayed ACK, about 40 ms on Linux."""
    # Not a TCP socket (a Unix socket, a websocket wrapper): nothing to tune.
    with contextlib.suppress(AttributeError, OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]
