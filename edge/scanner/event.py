"""The scan event: one accepted code from one scanner, as delivered to the kiosk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from edge.protocol import printable


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """An accepted scan.

    `code` is the cleaned code without framing or AIM symbology identifier (GS1 element
    strings keep their group separators as ``\\x1d``). `gs1` holds the parsed GS1 data
    (``gtin``, ``batch``, ``expiry`` as an ISO date, ``serial``, and every AI under ``ais``)
    when the code is a GS1 element string, else None.
    """

    code: str
    source: str
    symbology: str | None = None
    gs1: dict[str, Any] | None = None
    at: datetime = field(default_factory=utc_now)
    id: str = field(default_factory=lambda: uuid4().hex, compare=False)
    """Unique per scan; sent as the ``Idempotency-Key`` header so a retried POST counts once."""
    rejected: str | None = None
    """Why the scanner service refused the code (then ``code`` is a printable excerpt), so the
    packing screen can tell the packer; None for an accepted scan."""

    def to_json(self) -> dict[str, Any]:
        """The JSON body posted to the kiosk's ``POST /api/v1/scans``."""
        return {
            "code": self.code,
            "source": self.source,
            "symbology": self.symbology,
            "gs1": self.gs1,
            **({"rejected": self.rejected} if self.rejected else {}),
            "scanned_at": self.at.astimezone(UTC).isoformat(timespec="milliseconds"),
        }


def rejection(source: str, text: str, reason: str, at: datetime | None = None) -> ScanEvent:
    """The notice sent to the kiosk when the scanner service refuses a code."""
    return ScanEvent(code=printable(text), source=source, at=at or utc_now(), rejected=reason)
