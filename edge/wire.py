"""Messages of the sync protocol: event batches, cumulative acks, presence, telemetry, and
the receiver's plan for a batch (what to apply, what is a duplicate, where a gap is).

Both sides use this module; see docs/protocol.md for the rules (P1…) it implements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from edge.protocol import (
    SCHEMA_VERSION,
    TOPIC_ROOT,
    Event,
    ProtocolError,
    chain_hash,
    station_topic,
)

MAX_BATCH_EVENTS = 200
MAX_PAYLOAD_BYTES = 256 * 1024
STREAMS = ("up", "dn")


class Topics(NamedTuple):
    up: str
    up_ack: str
    dn: str
    dn_ack: str
    state: str
    tele: str


def topics(tenant: str, station: str) -> Topics:
    t = (tenant, station)
    return Topics(
        station_topic(*t, "up"),
        station_topic(*t, "up/ack"),
        station_topic(*t, "dn"),
        station_topic(*t, "dn/ack"),
        station_topic(*t, "state"),
        station_topic(*t, "tele"),
    )


def hub_state_topic(tenant: str) -> str:
    return f"{TOPIC_ROOT}/{tenant}/hub/state"


def parse_topic(topic: str) -> tuple[str, str, str] | None:
    """``ps/v1/{t}/st/{s}/{leaf}`` → (tenant, station, leaf), else None."""
    parts = topic.split("/")
    if len(parts) < 6 or "/".join(parts[:2]) != TOPIC_ROOT or parts[3] != "st":
        return None
    return parts[2], parts[4], "/".join(parts[5:])


def _load(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ProtocolError(f"payload is not JSON: {err}") from err
    if not isinstance(data, dict):
        raise ProtocolError("payload must be a JSON object")
    if data.get("v") != SCHEMA_VERSION:
        raise ProtocolError(f"unsupported schema version {data.get('v')!r}")
    return data


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(
        {"v": SCHEMA_VERSION, **data}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


@dataclass(frozen=True)
class Batch:
    """Events of one stream, in ``seq`` order."""

    station: str
    stream: str
    events: tuple[Event, ...]

    def to_bytes(self) -> bytes:
        return _dump(
            {
                "station": self.station,
                "stream": self.stream,
                "events": [e.to_wire() for e in self.events],
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes, *, station: str, stream: str) -> Batch:
        """Parse and check a batch received on ``station``'s ``stream`` topic."""
        data = _load(raw)
        if data.get("station") != station or data.get("stream") != stream:
            raise ProtocolError(
                f"batch for {data.get('station')!r}/{data.get('stream')!r} on "
                f"{station}/{stream}'s topic"
            )
        events = data.get("events")
        if not isinstance(events, list) or not 0 < len(events) <= MAX_BATCH_EVENTS:
            raise ProtocolError(f"a batch holds 1 to {MAX_BATCH_EVENTS} events")
        parsed = tuple(sorted((Event.from_wire(e) for e in events), key=lambda e: e.seq))
        if len({e.seq for e in parsed}) != len(parsed):
            raise ProtocolError("a batch repeats a seq")
        return cls(station, stream, parsed)


@dataclass(frozen=True)
class Ack:
    """Cumulative: every event with ``seq ≤ upto`` is committed (applied or rejected) by the
    receiver; ``resend_from`` asks the sender to send again from that seq."""

    upto: int
    rejected: tuple[tuple[int, str], ...] = ()
    resend_from: int | None = None

    def to_bytes(self) -> bytes:
        return _dump(
            {
                "upto": self.upto,
                "rejected": [{"seq": s, "reason": r} for s, r in self.rejected],
                "resend_from": self.resend_from,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Ack:
        data = _load(raw)
        upto: Any = data.get("upto")
        resend: Any = data.get("resend_from")
        rejected: Any = data.get("rejected", [])
        if not _is_int(upto) or not (resend is None or _is_int(resend)):
            raise ProtocolError("malformed ack: 'upto' and 'resend_from' must be integers")
        if not isinstance(rejected, list) or not all(
            isinstance(r, dict) and _is_int(r.get("seq")) and isinstance(r.get("reason"), str)
            for r in rejected
        ):
            raise ProtocolError("malformed ack: 'rejected' must list {seq, reason} objects")
        return cls(upto, tuple((r["seq"], r["reason"]) for r in rejected), resend)


def _is_int(value: Any) -> bool:
    return type(value) is int


def presence(online: bool, session: int, **extra: Any) -> bytes:
    return _dump({"online": online, "session": session, **extra})


def parse_presence(raw: bytes) -> dict[str, Any]:
    data = _load(raw)
    if not isinstance(data.get("online"), bool):
        raise ProtocolError("presence needs 'online'")
    return data


def telemetry(data: dict[str, Any]) -> bytes:
    return _dump(data)


def parse_telemetry(raw: bytes) -> dict[str, Any]:
    return _load(raw)


@dataclass
class Plan:
    """What a receiver does with a batch, given what it has applied so far."""

    apply: list[Event] = field(default_factory=list)
    duplicates: int = 0
    gap_from: int | None = None
    broken: list[int] = field(default_factory=list)


def plan(events: tuple[Event, ...] | list[Event], applied: int, last_hash: str) -> Plan:
    """Events to apply, in order: those after ``applied`` without a gap. Events at or below
    ``applied`` are duplicates; a missing seq stops the plan and asks for a resend from it.
    An event whose hash does not verify, or does not chain to the one before, is listed in
    ``broken`` (the receiver alerts) and still applied, so a damaged journal never blocks
    the stream."""
    out = Plan()
    expected, prev = applied + 1, last_hash
    for event in sorted(events, key=lambda e: e.seq):
        if event.seq < expected:
            out.duplicates += 1
            continue
        if event.seq > expected:
            out.gap_from = expected
            break
        if event.prev_hash != prev or chain_hash(event.prev_hash, event.body()) != event.hash:
            out.broken.append(event.seq)
        out.apply.append(event)
        expected, prev = event.seq + 1, event.hash
    return out
