"""The MQTT v5 client of a station, from its ``[mqtt]`` config (TLS, credentials)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import StationConfig
from edge.secrets import read_secret

MAX_INFLIGHT = 20


class SyncConfigError(Exception):
    """The MQTT settings cannot be used (bad URL, unreadable secret or certificate)."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool


def endpoint(url: str) -> Endpoint:
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise SyncConfigError(f"MQTT URL {url!r} must look like mqtt://host:1883 or mqtts://host")
    return Endpoint(parts.hostname, parts.port or (8883 if tls else 1883), tls)


def make_client(config: StationConfig) -> tuple[mqtt.Client, Endpoint]:
    """A paho client set up for this station (not connected)."""
    station = config.station.id
    where = endpoint(config.mqtt.url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"ps-station-{station}",
        protocol=mqtt.MQTTv5,
    )
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(MAX_INFLIGHT * 5)
    client.on_socket_open = no_delay
    username = config.mqtt.username or station
    password = read_secret(config.mqtt.password_file) if config.mqtt.password_file else None
    if password is not None or config.mqtt.username:
        client.username_pw_set(username, password)
    if where.tls:
        try:
            client.tls_set(
                ca_certs=str(config.mqtt.ca_file) if config.mqtt.ca_file else None,
                certfile=str(config.mqtt.cert_file) if config.mqtt.cert_file else None,
                keyfile=str(config.mqtt.key_file) if config.mqtt.key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        except (OSError, ssl.SSLError, ValueError) as err:
            raise SyncConfigError(f"cannot use the TLS files of [mqtt]: {err}") from err
    return client, where


def no_delay(_client: mqtt.Client, _userdata: object, sock: object) -> None:
    """Send each packet at once (``TCP_NODELAY``): with Nagle's algorithm a ``dn/ack``
    published right after a ``PUBACK`` waits for the broker's delayed ACK (~40 ms)."""
    # Not a TCP socket (a Unix socket, a websocket wrapper): nothing to tune.
    with contextlib.suppress(AttributeError, OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]
