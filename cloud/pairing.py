"""First-boot pairing: a new station gets its broker credentials once an operator vouches
for it.

The flow:

1. A new station (no MQTT password, no certificate) makes up a one-time code, shows it on
   its screen and on a printed ticket (with a QR code), and calls :func:`poll` through
   ``POST /api/v1/pairing/poll`` every few seconds with its id, tenant, store and that code. The
   first poll records a pending request; the hub keeps only the code's SHA-256.
2. An operator who stands at the station types the station id and the code into the hub
   (dashboard form or ``POST /api/v1/pairing/claim``), which calls :func:`claim`. The hub
   makes a random MQTT password, adds ``station:hash`` to the broker's password file (the
   ``mosquitto_passwd`` format, PBKDF2-SHA512) and keeps the password on the request.
3. The station's next :func:`poll` with the same code answers ``paired`` with the broker URL,
   username, password and CA certificate; the station saves them and reconnects. The
   password is cleared from the hub's database once it has been fetched and
   :data:`DELIVERY_GRACE_S` has passed (so an answer lost on the way can be fetched again).

Only someone who knows the code gets the credentials: a poll with another code is a
separate, unclaimed request. Codes not polled for ``[pairing] code_ttl_min`` expire.

The broker reads its password file on SIGHUP. On a hub installed by ``install.sh --hub``, the
``printstation-broker-reload.path`` unit watches the file and reloads mosquitto when it
changes, so a claimed station can log in within a second or two.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update

from cloud.config import HubConfig
from cloud.errors import HubError, InvalidInput, NotFound
from cloud.schema_pairing import pairing_requests

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CODE_RE = re.compile(r"^[0-9A-Z]{8}$")
PBKDF2_ITERATIONS = 101  # what mosquitto_passwd uses for $7$ hashes
DELIVERY_GRACE_S = 600
MAX_PENDING_PER_STATION = 10


class PairingDisabled(HubError):
    """The hub has no ``[pairing] station_mqtt_url``: it pairs no station."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def normalise_code(code: Any) -> str:
    """The code as stations show it, without the dash and spaces people type."""
    if not isinstance(code, str):
        raise InvalidInput("code must be a string")
    cleaned = re.sub(r"[\s-]", "", code).upper()
    if not CODE_RE.match(cleaned):
        raise InvalidInput("code must be 8 letters or digits, as shown on the station")
    return cleaned


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def _check_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise InvalidInput(f"{name} must match {ID_RE.pattern}")
    return value


def _expire(conn: Connection, config: HubConfig, now: datetime) -> None:
    """Forget unclaimed codes nobody polled lately, and passwords fetched a while ago."""
    stale = _iso(now - timedelta(minutes=config.pairing.code_ttl_min))
    conn.execute(
        delete(pairing_requests).where(
            and_(pairing_requests.c.claimed_at.is_(None), pairing_requests.c.last_poll_at < stale)
        )
    )
    fetched = _iso(now - timedelta(seconds=DELIVERY_GRACE_S))
    conn.execute(
        update(pairing_requests)
        .where(
            and_(
                pairing_requests.c.delivered_at.is_not(None),
                pairing_requests.c.delivered_at < fetched,
                pairing_requests.c.password.is_not(None),
            )
        )
        .values(password=None)
    )


def poll(
    conn: Connection, config: HubConfig, station: Any, tenant: Any, store: Any, code: Any
) -> dict[str, Any]:
    """A new station asking whether its code was claimed (unauthenticated).

    Returns ``{"status": "pending"}`` until an operator claimed this station's code, then
    ``{"status": "paired", "mqtt": {...}}`` with the credentials, and ``{"status": "spent"}``
    once they were fetched more than :data:`DELIVERY_GRACE_S` ago (the station then makes a
    new code and is paired again). Raises
    :class:`InvalidInput` for malformed fields (including a tenant this hub does not serve)
    and :class:`PairingDisabled` when pairing is off.
    """
    if config.pairing.station_mqtt_url is None:
        raise PairingDisabled("pairing is off on this hub ([pairing] station_mqtt_url)")
    station = _check_id("station_id", station)
    tenant = _check_id("tenant", tenant)
    store = _check_id("store", store)
    digest = code_hash(normalise_code(code))
    if config.hub.tenants and tenant not in config.hub.tenants:
        raise InvalidInput(f"this hub does not serve tenant {tenant!r}")
    now = _now()
    _expire(conn, config, now)
    where = and_(pairing_requests.c.station == station, pairing_requests.c.code_hash == digest)
    row = conn.execute(select(pairing_requests).where(where)).mappings().first()
    if row is None:
        pending = conn.execute(
            select(pairing_requests.c.id)
            .where(pairing_requests.c.station == station)
            .order_by(pairing_requests.c.id.desc())
        ).all()
        if len(pending) >= MAX_PENDING_PER_STATION:
            oldest = [r.id for r in pending[MAX_PENDING_PER_STATION - 1 :]]
            conn.execute(delete(pairing_requests).where(pairing_requests.c.id.in_(oldest)))
        conn.execute(
            pairing_requests.insert().values(
                station=station,
                tenant=tenant,
                store=store,
                code_hash=digest,
                created_at=_iso(now),
                last_poll_at=_iso(now),
            )
        )
        return {"status": "pending"}
    conn.execute(
        update(pairing_requests)
        .where(pairing_requests.c.id == row["id"])
        .values(last_poll_at=_iso(now))
    )
    if row["claimed_at"] is None:
        return {"status": "pending"}
    if row["password"] is None:  # fetched long ago: this code is spent, show a new one
        return {"status": "spent"}
    if row["delivered_at"] is None:
        conn.execute(
            update(pairing_requests)
            .where(pairing_requests.c.id == row["id"])
            .values(delivered_at=_iso(now))
        )
    ca = None
    if config.pairing.ca_file is not None:
        ca = config.pairing.ca_file.read_text(encoding="ascii")
    return {
        "status": "paired",
        "station_id": station,
        "mqtt": {
            "url": config.pairing.station_mqtt_url,
            "username": station,
            "password": row["password"],
            "ca_pem": ca,
        },
    }


def claim(
    conn: Connection, config: HubConfig, station_id: str, code: str, by: str
) -> dict[str, Any]:
    """Vouch for a station: the operator read ``code`` off the station ``station_id``.

    Call it inside a transaction, from the dashboard's pairing form or the API, with the
    station id and code as typed (case, spaces and the dash do not matter) and ``by`` the
    name of the hub user doing it. On success it returns
    ``{"station_id", "tenant", "store", "claimed_at", "claimed_by"}``; the station picks its
    credentials up on its next poll (within ``[pairing] poll_s`` of the station, 5 s by
    default). It gives the station a new MQTT password in the broker's password file (an
    earlier one for the same station id stops working once the broker reloads).

    Raises :class:`InvalidInput` for a malformed id or code or a code already used,
    :class:`NotFound` when no station with that id has shown that code lately (wrong code,
    or more than ``[pairing] code_ttl_min`` since the station last asked), and
    :class:`PairingDisabled` when pairing is off. Nothing is changed when it raises. (The
    broker entry is written before the caller's transaction commits; should the commit fail,
    the entry holds a password nobody knows and the next claim replaces it.)
    """
    if config.pairing.station_mqtt_url is None:
        raise PairingDisabled("pairing is off on this hub ([pairing] station_mqtt_url)")
    station_id = _check_id("station_id", station_id)
    digest = code_hash(normalise_code(code))
    if not isinstance(by, str) or not by.strip():
        raise InvalidInput("by: the name of who pairs the station is required")
    now = _now()
    _expire(conn, config, now)
    row = (
        conn.execute(
            select(pairing_requests).where(
                and_(
                    pairing_requests.c.station == station_id,
                    pairing_requests.c.code_hash == digest,
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"station {station_id} has not shown this code lately; check both")
    if row["claimed_at"] is not None:
        raise InvalidInput(f"this code was already used (by {row['claimed_by']})")
    password = secrets.token_hex(24)
    set_broker_password(config.pairing.broker_password_file, station_id, password)
    conn.execute(
        update(pairing_requests)
        .where(pairing_requests.c.id == row["id"])
        .values(claimed_at=_iso(now), claimed_by=by.strip()[:80], password=password)
    )
    return {
        "station_id": station_id,
        "tenant": row["tenant"],
        "store": row["store"],
        "claimed_at": _iso(now),
        "claimed_by": by.strip()[:80],
    }


def pending(conn: Connection, config: HubConfig) -> list[dict[str, Any]]:
    """Stations waiting to be paired (newest poll first), for the dashboard; no codes."""
    _expire(conn, config, _now())
    rows = conn.execute(
        select(
            pairing_requests.c.station,
            pairing_requests.c.tenant,
            pairing_requests.c.store,
            pairing_requests.c.created_at,
            pairing_requests.c.last_poll_at,
        )
        .where(pairing_requests.c.claimed_at.is_(None))
        .order_by(pairing_requests.c.last_poll_at.desc())
    ).mappings()
    return [dict(r) for r in rows]


def password_hash(password: str, salt: bytes | None = None) -> str:
    """``password`` hashed as ``mosquitto_passwd`` does (``$7$``: PBKDF2-SHA512, 101 rounds)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def check_password_hash(password: str, hashed: str) -> bool:
    """Whether ``password`` matches a ``$7$`` password-file entry."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    salt = base64.b64decode(parts[3])
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
    return hmac.compare_digest(base64.b64encode(digest).decode(), parts[4])


def set_broker_password(path: Path, username: str, password: str) -> None:
    """Add or replace ``username`` in a Mosquitto password file, in place.

    The file is rewritten through its existing inode (the broker's directory is not the
    hub's to write), under an exclusive lock so concurrent claims do not lose entries.
    """
    line = f"{username}:{password_hash(password)}\n"
    flags = os.O_RDWR | os.O_CREAT
    try:
        fd = os.open(path, flags, 0o640)
    except OSError as err:
        raise HubError(f"cannot open the broker password file {path}: {err.strerror}") from err
    with os.fdopen(fd, "r+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        kept = [
            entry
            for entry in fh.read().splitlines(keepends=True)
            if entry.split(":", 1)[0] != username
        ]
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
        fh.seek(0)
        fh.write("".join(kept) + line)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())
