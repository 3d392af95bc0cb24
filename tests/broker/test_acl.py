"""The production broker set-up (firmware_config/mosquitto: hub.conf, acl, add-station.sh,
make-certs.sh) against a real mosquitto: no anonymous access, each station confined to its
own topics, the hub's shared subscription, presence with a Will, and TLS."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from tests.broker.client import Probe
from tests.broker.mosquitto import CONFIG_DIR, Mosquitto

pytestmark = pytest.mark.timeout(30)

ADD_STATION = CONFIG_DIR / "add-station.sh"
TENANT = "acme"
NOT_AUTHORIZED = 0x87
BAD_CREDENTIALS = (0x86, NOT_AUTHORIZED)


def topic(station: str, leaf: str) -> str:
    return f"ps/v1/{TENANT}/st/{station}/{leaf}"


@dataclass(frozen=True)
class Accounts:
    """Users made by the production add-station.sh: passwords by username."""

    password_file: Path
    passwords: dict[str, str]


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    password_file = tmp_path / "creds" / "passwd"
    secrets = tmp_path / "creds" / "stations"
    users = [("st-a", []), ("st-b", []), ("hub", ["-H"])]
    for name, flags in users:
        subprocess.run(
            ["bash", str(ADD_STATION), "-p", str(password_file), "-s", str(secrets), *flags, name],
            check=True,
            capture_output=True,
            timeout=30,
        )
    passwords = {
        name: (secrets / f"{name}.password").read_text(encoding="utf-8").strip()
        for name, _ in users
    }
    return Accounts(password_file, passwords)


@pytest.fixture
def hub_broker(broker_factory: Callable[..., Mosquitto], accounts: Accounts) -> Mosquitto:
    """The production hub.conf + acl, option A (passwords over TLS)."""
    return broker_factory(production=True, password_file=accounts.password_file)


@pytest.fixture
def connect(hub_broker: Mosquitto, accounts: Accounts) -> Iterator[Callable[..., Probe]]:
    """``connect(user, **probe_options) -> Probe``, connected with the user's password."""
    probes: list[Probe] = []

    def make(user: str, **options: object) -> Probe:
        probe = Probe(hub_broker, user, accounts.passwords[user], **options)  # type: ignore[arg-type]
        probes.append(probe)
        code = probe.connect()
        assert not code.is_failure, f"{user}: {code}"
        return probe

    yield make
    for probe in probes:
        probe.close()


def assert_accepted(code: ReasonCode | None) -> None:
    # 0x10 "No matching subscribers" is a success code too.
    assert code is not None
    assert not code.is_failure, f"expected success, got {code}"


def assert_refused(code: ReasonCode | None) -> None:
    assert code is not None
    assert code.value == NOT_AUTHORIZED, f"expected 'Not authorized', got {code}"


# -- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_anonymous_connect_is_refused(hub_broker: Mosquitto, tls: bool) -> None:
    probe = Probe(hub_broker, tls=tls, client_id="anonymous")
    code = probe.connect()
    assert code.is_failure
    assert code.value == NOT_AUTHORIZED


@pytest.mark.parametrize(
    ("user", "password"),
    [("st-a", "wrong"), ("st-a", ""), ("nobody", "wrong")],
    ids=["wrong-password", "empty-password", "unknown-user"],
)
def test_bad_credentials_are_refused(hub_broker: Mosquitto, user: str, password: str) -> None:
    code = Probe(hub_broker, user, password).connect()
    assert code.is_failure
    # mosquitto 2.0 answers "Not authorized" (0x87); 0x86 would be as good.
    assert code.value in BAD_CREDENTIALS


# -- station to hub ---------------------------------------------------------------------------


def test_station_up_reaches_the_hub_through_a_shared_subscription(
    connect: Callable[..., Probe],
) -> None:
    hub = connect("hub", client_id="hub-ingest-1")
    assert not hub.subscribe("$share/ingest/ps/v1/+/st/+/up").is_failure
    st_a = connect("st-a")

    assert_accepted(st_a.publish(topic("st-a", "up"), b'{"events": []}'))

    message = hub.expect(topic("st-a", "up"))
    assert message.payload == b'{"events": []}'


def test_station_publishing_as_another_station_is_refused_and_never_delivered(
    connect: Callable[..., Probe],
) -> None:
    hub = connect("hub", client_id="hub-ingest-1")
    hub.subscribe("$share/ingest/ps/v1/+/st/+/up")
    hub.subscribe("ps/v1/+/st/+/#")
    st_a = connect("st-a")

    # MQTT v5, QoS 1: mosquitto 2.0 answers the PUBACK with 0x87 and drops the message.
    assert_refused(st_a.publish(topic("st-b", "up"), b"forged"))
    assert_refused(st_a.publish(topic("st-b", "state"), b'{"online": false}', retain=True))
    # QoS 0 has no PUBACK: the broker drops it silently.
    assert st_a.publish(topic("st-b", "tele"), b"{}", qos=0) is None
    assert hub.received(0.3) == []

    # The connection stays usable: the station's own stream continues.
    assert_accepted(st_a.publish(topic("st-a", "up"), b"own"))
    assert [m.payload for m in hub.received(0.3)] == [b"own", b"own"]


@pytest.mark.parametrize(
    "target",
    [
        topic("st-a", "dn"),
        topic("st-a", "up/ack"),
        f"ps/v1/{TENANT}/hub/state",
        topic("st-b", "tele"),
        topic("st-b", "dn/ack"),
        "ps/v1/acme/st/st-a",
        "$SYS/broker/uptime",
        "other/topic",
    ],
)
def test_station_cannot_publish_outside_its_own_topics(
    connect: Callable[..., Probe], target: str
) -> None:
    st_a = connect("st-a")
    assert_refused(st_a.publish(target, b"x"))


@pytest.mark.parametrize("leaf", ["up", "dn/ack", "state", "tele"])
def test_station_may_publish_its_own_topics(connect: Callable[..., Probe], leaf: str) -> None:
    hub = connect("hub", client_id="hub-1")
    hub.subscribe(topic("+", leaf))
    st_a = connect("st-a")
    qos = 0 if leaf == "tele" else 1
    code = st_a.publish(topic("st-a", leaf), b"{}", qos=qos)
    assert code is None or not code.is_failure
    assert hub.expect(topic("st-a", leaf)).payload == b"{}"


# -- hub to station ---------------------------------------------------------------------------


def test_hub_dn_and_up_ack_reach_only_their_station(connect: Callable[..., Probe]) -> None:
    st_a = connect("st-a")
    st_b = connect("st-b")
    for name, station in (("st-a", st_a), ("st-b", st_b)):
        for leaf in ("dn", "up/ack"):
            assert not station.subscribe(topic(name, leaf)).is_failure
    hub = connect("hub", client_id="hub-api")

    assert_accepted(hub.publish(topic("st-a", "dn"), b'{"batch": 1}'))
    assert_accepted(hub.publish(topic("st-a", "up/ack"), b'{"upto": 7}'))

    assert st_a.expect(topic("st-a", "dn")).payload == b'{"batch": 1}'
    assert st_a.expect(topic("st-a", "up/ack")).payload == b'{"upto": 7}'
    assert st_b.received(0.2) == []


def test_station_cannot_read_another_stations_topics(connect: Callable[..., Probe]) -> None:
    st_a = connect("st-a")
    filters = [
        topic("st-b", "dn"),
        topic("st-b", "up/ack"),
        topic("st-b", "state"),
        topic("st-b", "up"),
        "ps/v1/+/st/+/#",
        "$share/ingest/ps/v1/+/st/+/up",
        "#",
    ]
    for sub in filters:
        # mosquitto 2.0's ACL file grants every SUBSCRIBE and checks read access on each
        # delivery instead; a broker that refuses the SUBACK is just as good.
        code = st_a.subscribe(sub)
        assert code.value in (0, 1, NOT_AUTHORIZED), f"{sub}: {code}"
    st_b = connect("st-b")
    st_b.subscribe(topic("st-b", "dn"))
    hub = connect("hub", client_id="hub-api")
    hub.subscribe("$share/other/ps/v1/+/st/+/up")

    st_b.publish(topic("st-b", "state"), b'{"online": true}', retain=True)
    st_b.publish(topic("st-b", "up"), b"b-events")
    hub.publish(topic("st-b", "dn"), b"for-b")
    hub.publish(topic("st-b", "up/ack"), b"ack-b")

    # st-b and the hub got theirs, so the messages existed; st-a saw none of them.
    assert st_b.expect(topic("st-b", "dn")).payload == b"for-b"
    assert hub.expect(topic("st-b", "up")).payload == b"b-events"
    assert st_a.received(0.3) == []
    # Nor does a retained message leak to a late subscriber.
    st_a.subscribe(topic("st-b", "state"))
    assert st_a.received(0.3) == []


def test_hub_state_is_retained_and_readable_by_stations(connect: Callable[..., Probe]) -> None:
    hub = connect("hub", client_id="hub-api")
    state = f"ps/v1/{TENANT}/hub/state"
    assert_accepted(hub.publish(state, b'{"online": true}', retain=True))
    st_a = connect("st-a")
    st_a.subscribe(f"ps/v1/{TENANT}/hub/state")
    message = st_a.expect(state)
    assert message.payload == b'{"online": true}'
    assert message.retain


def test_hub_cannot_publish_in_a_stations_name(connect: Callable[..., Probe]) -> None:
    hub = connect("hub", client_id="hub-api")
    assert_refused(hub.publish(topic("st-a", "up"), b"forged"))
    assert_refused(hub.publish(topic("st-a", "state"), b"forged"))


# -- presence ---------------------------------------------------------------------------------

# A station process with a Will on its retained state topic, killed with SIGKILL below.
STATION = """
import sys, time
from paho.mqtt.client import CallbackAPIVersion, Client
from paho.mqtt.enums import MQTTProtocolVersion

port, user, password, state = sys.argv[1:5]
client = Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=user,
                protocol=MQTTProtocolVersion.MQTTv5)
client.username_pw_set(user, password)
client.will_set(state, b'{"online": false, "session": 1}', qos=1, retain=True)
client.connect("127.0.0.1", int(port), keepalive=30)
client.loop_start()
client.publish(state, b'{"online": true, "session": 1}', qos=1, retain=True)
time.sleep(60)
"""


def test_station_killed_without_disconnect_goes_offline_through_its_will(
    hub_broker: Mosquitto, accounts: Accounts, connect: Callable[..., Probe]
) -> None:
    hub = connect("hub", client_id="hub-registry")
    hub.subscribe("ps/v1/+/st/+/state")
    state = topic("st-a", "state")
    station = subprocess.Popen(
        [
            sys.executable,
            "-c",
            STATION,
            str(hub_broker.port),
            "st-a",
            accounts.passwords["st-a"],
            state,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        birth = hub.expect(state)
    finally:
        # SIGKILL: the socket closes without DISCONNECT, so the broker publishes the Will.
        station.kill()
        station.wait(5)
    assert json.loads(birth.payload) == {"online": True, "session": 1}

    will = hub.expect(state)
    assert json.loads(will.payload) == {"online": False, "session": 1}
    # Retained: whoever subscribes later learns the station is offline.
    late = connect("hub", client_id="hub-dashboard")
    late.subscribe(state)
    message = late.expect(state)
    assert json.loads(message.payload)["online"] is False
    assert message.retain


def test_a_station_cannot_take_over_another_stations_session(
    connect: Callable[..., Probe],
) -> None:
    """On the station (TLS) listener the client id is the username, so st-a claiming st-b's
    client id neither disconnects st-b nor gets its session."""
    st_b = connect("st-b", tls=True)
    st_b.subscribe(topic("st-b", "dn"))
    impostor = connect("st-a", tls=True, client_id="st-b")
    hub = connect("hub", client_id="hub-api")

    hub.publish(topic("st-b", "dn"), b"for-b")

    assert st_b.expect(topic("st-b", "dn")).payload == b"for-b"
    assert impostor.received(0.2) == []
    assert not st_b.dropped


# -- TLS --------------------------------------------------------------------------------------


def test_tls_station_verifies_the_hub_and_is_confined_by_the_acl(
    hub_broker: Mosquitto, connect: Callable[..., Probe]
) -> None:
    hub = connect("hub", client_id="hub-ingest-1")
    hub.subscribe("$share/ingest/ps/v1/+/st/+/up")
    st_a = connect("st-a", tls=True)
    assert_accepted(st_a.publish(topic("st-a", "up"), b"over-tls"))
    assert_refused(st_a.publish(topic("st-b", "up"), b"forged"))
    assert [m.payload for m in hub.received(0.3)] == [b"over-tls"]


def tls_session(
    broker: Mosquitto,
    ca_file: Path,
    cert: Path | None = None,
    key: Path | None = None,
    *,
    timeout: float = 5.0,
) -> bytes:
    """A bare TLS handshake with the broker, then one read (the broker's answer to nothing):
    paho 2.2 leaks its socket when a handshake fails, so refusals are tested without it."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    assert broker.tls_port is not None
    with (
        socket.create_connection((broker.host, broker.tls_port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=broker.host) as tls,
    ):
        return tls.recv(1)


def test_tls_client_refuses_a_broker_signed_by_another_ca(
    hub_broker: Mosquitto, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca"
    subprocess.run(
        ["bash", str(CONFIG_DIR / "make-certs.sh"), "-d", str(other), "ca"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    assert hub_broker.ca_file is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_session(hub_broker, other / "ca.crt")


@pytest.fixture
def cert_broker(broker_factory: Callable[..., Mosquitto], accounts: Accounts) -> Mosquitto:
    """Option B: the production hub.conf with client certificates required on TLS."""
    return broker_factory(
        production=True, password_file=accounts.password_file, client_certificates=True
    )


def test_client_certificate_cn_is_the_username_and_the_acl_still_confines_it(
    cert_broker: Mosquitto, accounts: Accounts
) -> None:
    cert, key = cert_broker.client_cert("st-a")
    with (
        Probe(cert_broker, "hub", accounts.passwords["hub"], client_id="hub-1") as hub,
        # No password; even a claimed username of st-b is replaced by the CN st-a.
        Probe(cert_broker, "st-b", None, tls=True, cert=cert, key=key) as st_a,
    ):
        hub.subscribe("$share/ingest/ps/v1/+/st/+/up")
        assert_accepted(st_a.publish(topic("st-a", "up"), b"by-cert"))
        assert_refused(st_a.publish(topic("st-b", "up"), b"forged"))
        assert [m.payload for m in hub.received(0.3)] == [b"by-cert"]
    assert "as st-a (p5" in cert_broker.log()


def test_client_certificate_mode_refuses_a_client_without_certificate(
    cert_broker: Mosquitto,
) -> None:
    assert cert_broker.ca_file is not None
    # TLS 1.3 completes the client's side of the handshake, then the broker's alert arrives.
    with pytest.raises(ssl.SSLError, match=r"CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE"):
        tls_session(cert_broker, cert_broker.ca_file)
    cert, key = cert_broker.client_cert("st-a")
    with pytest.raises(TimeoutError):
        # With a certificate the broker waits for CONNECT: the read times out.
        tls_session(cert_broker, cert_broker.ca_file, cert, key, timeout=0.3)
