"""The scan event: one accepted code from one scanner, as delivered to the kiosk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4


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

    def to_json(self) -> dict[str, Any]:
        """The JSON body posted to the kiosk's ``POST /api/v1/scans``."""
        return {
            "code": self.code,
            "source": self.source,
            "symbology": self.symbology,
            "gs1": self.gs1,
            "scanned_at": self.at.astimezone(UTC).isoformat(timespec="milliseconds"),
        }
