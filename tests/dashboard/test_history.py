"""Telemetry history: one sample per station heard from lately, pruned by age, and the
overview's scans per minute from the newest sample at least a minute old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from cloud import registry
from cloud.db import read_only, transaction
from cloud.schema import stations
from cloud.schema_ops import telemetry_history
from cloud.web.dashboard import data
from edge.protocol import format_time

from .conftest import hub_config

OLD = "2000-01-01T00:00:00.000Z"


def _tele(scans: int) -> dict:
    return {
        "outbox_depth": 3,
        "print_queue": {"label": 2, "receipt": 1},
        "scanners": {"a": {"scans": scans}, "b": {"scans": 1}},
        "printers": {"label": {"online": True, "paper": "low"}},
    }


def test_samples_prune_and_scan_rate(engine, tmp_path):
    with transaction(engine) as conn:
        for sid in ("st-01", "st-02", "st-03"):
            registry.on_presence(conn, "test", sid, {"online": True, "session": 1})
            registry.on_telemetry(conn, "test", sid, _tele(10))
        registry.on_presence(conn, "test", "st-03", {"online": False, "session": 1})
        conn.execute(
            update(stations)
            .where(stations.c.id == "st-03")
            .values(updated_at=format_time(datetime.now(UTC) - timedelta(days=2)))
        )
        assert registry.sample_history(conn) == 2  # st-03: offline for two days
        # pretend that sample is two minutes old, then the scanners counted 30 more
        conn.execute(
            update(telemetry_history).values(
                at=format_time(datetime.now(UTC) - timedelta(minutes=2))
            )
        )
        registry.on_telemetry(conn, "test", "st-01", _tele(40))
        registry.sample_history(conn)
    with read_only(engine) as conn:
        points = registry.history(conn, "st-01", OLD)
        view = data.overview(conn, hub_config(tmp_path))
    assert [p["scans"] for p in points] == [11, 41]
    assert points[0]["print_queue"] == 3 and points[0]["printers"]["label"]["paper"] == "low"
    rates = {s["id"]: s["scans_per_min"] for s in view["stations"]}
    assert 14 <= rates["st-01"] <= 15  # 30 scans in about two minutes
    assert rates["st-02"] == 0 and rates["st-03"] is None
    by_id = {s["id"]: s for s in view["stations"]}
    assert by_id["st-01"]["paper"] == "low" and by_id["st-01"]["print_queue"] == 3
    assert not by_id["st-03"]["online"] and view["summary"]["offline"] == 1
    with transaction(engine) as conn:
        cutoff = format_time(datetime.now(UTC) - timedelta(minutes=1))
        assert registry.prune_history(conn, cutoff) == 2
        assert len(registry.history(conn, "st-01", OLD)) == 1
