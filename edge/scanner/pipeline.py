"""The pure path from what a scanner sent to an accepted `ScanEvent`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from edge.scanner.codes import CodeRules, check_code
from edge.scanner.debounce import Debouncer
from edge.scanner.errors import CodeRejected
from edge.scanner.event import ScanEvent, utc_now

_REJECTED = "\x00rejected:"
"""Debounce key prefix for rejected codes (NUL never starts an accepted code)."""


@dataclass(frozen=True, slots=True)
class RawScan:
    """What a source read: the text as sent (framing and AIM id included) and when."""

    text: str
    at: datetime = field(default_factory=utc_now)
    symbology: str | None = None
    """A hint from sources that know the symbology (the camera decoder)."""


class ScanPipeline:
    """Hygiene, GS1 parsing and debounce for one scanner.

    `process` returns the event to deliver, or None for a debounced duplicate, and raises
    `CodeRejected` for a code that fails hygiene. A rejected code seen again within the
    debounce window (a damaged label held in front of a camera) is dropped quietly too.
    """

    def __init__(self, source: str, rules: CodeRules, debouncer: Debouncer) -> None:
        self.source = source
        self._rules = rules
        self._debouncer = debouncer

    def process(self, raw: RawScan) -> ScanEvent | None:
        try:
            checked = check_code(raw.text, symbology=raw.symbology, rules=self._rules)
        except CodeRejected:
            if self._debouncer.is_duplicate(self.source, _REJECTED + raw.text):
                return None
            raise
        if self._debouncer.is_duplicate(self.source, checked.code):
            return None
        return ScanEvent(
            code=checked.code,
            source=self.source,
            symbology=checked.symbology,
            gs1=checked.gs1,
            at=raw.at,
        )
