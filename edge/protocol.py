"""The wire protocol shared by stations and the hub.

Everything both sides must agree on lives here: the topic layout, the event envelope, the
event kinds and the hash chain that makes each stream tamper-evident. The hub imports this
module and nothing else from ``edge``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
GENESIS_HASH = "0" * 64
TOPIC_ROOT = "ps/v1"


class ProtocolError(Exception):
    """A payload that does not follow the protocol."""


# Event kinds written by a station (``up`` stream).
ORDER_CREATED = "order.created"
ORDER_STATUS = "order.status"
ORDER_ITEM_PACKED = "order.item_packed"
ORDER_EXCEPTION = "order.exception"
STOCK_MOVED = "stock.moved"
PRINT_JOB_QUEUED = "print_job.queued"
PRINT_JOB_STATE = "print_job.state"
SCAN_REJECTED = "scan.rejected"
STAFF_LOGIN = "staff.login"
ORDER_FEEDBACK = "order.feedback"
COUPON_REDEEMED = "coupon.redeemed"
LOYALTY_MOVED = "loyalty.moved"
PAYMENT_FAILED = "payment.failed"

COMMAND_RESULT = "command.result"
STOCK_TOPUP_REQUEST = "stock.topup_request"
DN_REJECTED = "dn.rejected"
WAYBILL_USED = "waybill.used"
RETURN_REQUESTED = "return.requested"
RETURN_INSPECTED = "return.inspected"

# Event kinds written by the hub for one station (``dn`` stream).
CATALOG_UPSERT = "catalog.upsert"
STOCK_ALLOTMENT = "stock.allotment"
ORDER_ASSIGNED = "order.assigned"
COMMAND = "command"
ORDER_REVOKED = "order.revoked"
WAYBILL_POOL = "waybill.pool"
RETURN_EXPECTED = "return.expected"

HUB_EVENT_KINDS = frozenset(
    {
        CATALOG_UPSERT,
        STOCK_ALLOTMENT,
        ORDER_ASSIGNED,
        COMMAND,
        ORDER_REVOKED,
        WAYBILL_POOL,
        RETURN_EXPECTED,
    }
)

STATION_EVENT_KINDS = frozenset(
    {
        ORDER_CREATED,
        ORDER_STATUS,
        ORDER_ITEM_PACKED,
        ORDER_EXCEPTION,
        STOCK_MOVED,
        PRINT_JOB_QUEUED,
        PRINT_JOB_STATE,
        SCAN_REJECTED,
        STAFF_LOGIN,
        ORDER_FEEDBACK,
        COUPON_REDEEMED,
        LOYALTY_MOVED,
        PAYMENT_FAILED,
        COMMAND_RESULT,
        STOCK_TOPUP_REQUEST,
        DN_REJECTED,
        WAYBILL_USED,
        RETURN_REQUESTED,
        RETURN_INSPECTED,
    }
)


def station_topic(tenant: str, station: str, leaf: str) -> str:
    """Topic of a station stream, e.g. ``ps/v1/acme/st/st-01/up``."""
    return f"{TOPIC_ROOT}/{tenant}/st/{station}/{leaf}"


def utc_now() -> str:
    """Current UTC time as an ISO 8601 string with milliseconds and a ``Z``."""
    return format_time(datetime.now(UTC))


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event_id() -> str:
    """A globally unique event id, generated where the event happened."""
    return uuid.uuid4().hex


def printable(text: str, limit: int = 64) -> str:
    """A safe excerpt of untrusted text for screens and logs: control characters escaped."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Event:
    """One event of a stream; ``hash`` chains it to the event before it."""

    seq: int
    id: str
    kind: str
    at: str
    data: dict[str, Any]
    prev_hash: str
    hash: str = field(default="")

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.id, "kind": self.kind, "at": self.at, "data": self.data}

    def to_wire(self) -> dict[str, Any]:
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_wire(cls, raw: Any) -> Event:
        """An event as received; each field must have its JSON type (a float, a boolean or a
        numeric string is not a ``seq``), since anything coerced would hash differently from
        what the sender sealed."""
        if not isinstance(raw, dict):
            raise ProtocolError("event must be a JSON object")
        fields: dict[str, Any] = {name: raw.get(name) for name in _EVENT_FIELDS}
        for name, value in fields.items():
            wanted = _EVENT_FIELDS[name]
            if type(value) is not wanted:
                raise ProtocolError(
                    f"malformed event: '{name}' must be a JSON {_JSON_NAMES[wanted]}"
                )
        if fields["seq"] < 1:
            raise ProtocolError(f"event seq must be ≥ 1, got {fields['seq']}")
        return cls(**fields)


_EVENT_FIELDS: dict[str, type] = {
    "seq": int,
    "id": str,
    "kind": str,
    "at": str,
    "data": dict,
    "prev_hash": str,
    "hash": str,
}
_JSON_NAMES = {int: "integer", str: "string", dict: "object"}


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """Hash of one event: SHA-256 over the previous hash and the canonical event body."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_json(body).encode("utf-8"))
    return digest.hexdigest()


def seal(
    seq: int,
    kind: str,
    data: dict[str, Any],
    prev_hash: str,
    *,
    at: str | None = None,
    event_id: str | None = None,
) -> Event:
    """Make a new event chained to ``prev_hash``."""
    unsealed = Event(
        seq=seq,
        id=event_id or new_event_id(),
        kind=kind,
        at=at or utc_now(),
        data=data,
        prev_hash=prev_hash,
    )
    return Event(**{**unsealed.__dict__, "hash": chain_hash(prev_hash, unsealed.body())})


def verify_chain(events: list[Event], prev_hash: str) -> int | None:
    """Return the seq of the first event whose chain is broken, or None when all verify."""
    expected_prev = prev_hash
    for event in events:
        if (
            event.prev_hash != expected_prev
            or chain_hash(event.prev_hash, event.body()) != event.hash
        ):
            return event.seq
        expected_prev = event.hash
    return None


S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def waybill_check_digit(scheme: str, serial: int) -> int:
    """The check digit of a waybill serial: ``mod7`` is the serial modulo 7; ``s10`` is
    the UPU S10 digit (8 serial digits weighted 8 6 4 2 3 5 9 7, 11 − sum mod 11, with
    10 → 0 and 11 → 5) that EMS and other postal carriers print."""
    if serial < 0:
        raise ValueError("a waybill serial cannot be negative")
    if scheme == "mod7":
        return serial % 7
    if scheme == "s10":
        if serial >= 10**8:
            raise ValueError("an S10 serial has 8 digits")
        digits = f"{serial:08d}"
        check = 11 - sum(int(d) * w for d, w in zip(digits, S10_WEIGHTS, strict=True)) % 11
        return {10: 0, 11: 5}.get(check, check)
    raise ValueError(f"unknown check digit scheme {scheme!r}")


def waybill_number(prefix: str, serial: int, width: int, scheme: str, suffix: str = "") -> str:
    """A printable waybill number: prefix, zero-padded serial, check digit, suffix."""
    if serial >= 10**width:
        raise ValueError(f"serial {serial} does not fit in {width} digits")
    return f"{prefix}{serial:0{width}d}{waybill_check_digit(scheme, serial)}{suffix}"


def search_keys(name: str) -> tuple[str, str]:
    """Full pinyin and pinyin initials of a product name, lower case, letters and digits only:
    可口可乐 330ml → ("kekoukele330ml", "kkkl330ml"). The hub sends them with every product of
    a ``catalog.upsert`` (``pinyin``, ``initials``), so stations need not load pypinyin."""
    if name.isascii():  # nothing to transliterate
        return compact_key(name), compact_key(name)
    from pypinyin import Style, lazy_pinyin  # its phrase tables take ~55 MB: load on first use

    full = "".join(lazy_pinyin(name, errors="default"))
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"))
    return compact_key(full), compact_key(initials)


def compact_key(text: str) -> str:
    """Lower case ASCII letters and digits only: how names and queries are compared."""
    return "".join(c for c in text.lower() if c.isalnum() and c.isascii())
