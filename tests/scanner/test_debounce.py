"""Debounce of repeated reads, and the pure pipeline from raw scan to event."""

from __future__ import annotations

import pytest

from edge.scanner.codes import CodeRules
from edge.scanner.debounce import Debouncer
from edge.scanner.errors import CodeRejected
from edge.scanner.pipeline import RawScan, ScanPipeline
from tests.scanner.fakes import FakeClock


def test_same_code_within_window_is_dropped(clock: FakeClock) -> None:
    debouncer = Debouncer(300, clock=clock)
    assert not debouncer.is_duplicate("front", "A")
    clock.advance(0.1)
    assert debouncer.is_duplicate("front", "A")
    clock.advance(0.299)
    assert debouncer.is_duplicate("front", "A"), "each sighting restarts the window"
    clock.advance(0.301)
    assert not debouncer.is_duplicate("front", "A")


def test_other_code_or_other_source_passes(clock: FakeClock) -> None:
    debouncer = Debouncer(300, clock=clock)
    assert not debouncer.is_duplicate("front", "A")
    assert not debouncer.is_duplicate("front", "B")
    assert not debouncer.is_duplicate("back", "A")
    assert debouncer.is_duplicate("front", "A")


def test_zero_window_never_drops(clock: FakeClock) -> None:
    debouncer = Debouncer(0, clock=clock)
    assert not debouncer.is_duplicate("s", "A")
    assert not debouncer.is_duplicate("s", "A")


def test_memory_stays_bounded(clock: FakeClock) -> None:
    debouncer = Debouncer(1000, clock=clock, capacity=10)
    for n in range(100):
        debouncer.is_duplicate("s", str(n))
    assert len(debouncer._seen) <= 10
    assert debouncer.is_duplicate("s", "99")


def test_negative_window_is_an_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        Debouncer(-1)


def test_pipeline_cleans_parses_and_debounces(clock: FakeClock) -> None:
    pipeline = ScanPipeline("front", CodeRules(), Debouncer(300, clock=clock))
    event = pipeline.process(RawScan("]C10109504000059101\x1d10LOT\r\n"))
    assert event is not None
    assert (event.code, event.source, event.symbology) == (
        "0109504000059101\x1d10LOT",
        "front",
        "Code128",
    )
    assert event.gs1 is not None and event.gs1["batch"] == "LOT"
    assert pipeline.process(RawScan("]C10109504000059101\x1d10LOT\r\n")) is None
    with pytest.raises(CodeRejected):
        pipeline.process(RawScan("4006381333932"))
    assert pipeline.process(RawScan("4006381333932")) is None, "repeated rejection is quiet"
    clock.advance(1.0)
    with pytest.raises(CodeRejected):
        pipeline.process(RawScan("4006381333932"))
