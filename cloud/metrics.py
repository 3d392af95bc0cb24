"""The hub's Prometheus metrics (``GET /metrics``).

Everything here is computed from the database at scrape time by one custom collector,
not counted in memory: ingest runs in separate processes (``printstation hub --role
ingest``, as many as needed) whose in-memory counters the web process cannot see, and
prometheus_client's multiprocess mode would need a shared directory and bookkeeping in
every ingest worker. The database already holds the exact figures — each station's last
applied seq counts its ingested events, the inbox keeps each event's time and arrival —
so the scrape reads a handful of aggregate queries (a few milliseconds with 1,000
stations; see ``bench/dashboard.py``) and ingest does no extra work at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, func, select

from cloud.db import read_only
from cloud.schema import alerts, inbox, order_timeline, orders, stations, stream_state
from edge.protocol import format_time

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
PROCESSING_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time as the protocol writes it (``…Z``), timezone-aware."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _buckets(values: list[float], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    out = [(str(b), float(sum(1 for v in values if v <= b))) for b in bounds]
    return [*out, ("+Inf", float(len(values)))]


def processing_seconds(engine: Engine, since: str) -> list[float]:
    """Seconds from received (``created_at``) to packed for orders packed since ``since``."""
    packed = (
        select(order_timeline.c.order_id, func.min(order_timeline.c.at).label("packed_at"))
        .where(order_timeline.c.status == "packed", order_timeline.c.at >= since)
        .group_by(order_timeline.c.order_id)
        .subquery()
    )
    with read_only(engine) as conn:
        rows = conn.execute(
            select(orders.c.created_at, packed.c.packed_at).join(
                packed, packed.c.order_id == orders.c.id
            )
        ).all()
    out = []
    for created, done in rows:
        try:
            out.append(max(0.0, (parse_time(done) - parse_time(created)).total_seconds()))
        except ValueError:
            continue
    return out


class HubCollector(Collector):
    """Reads the hub's figures from the database on every scrape."""

    def __init__(self, engine: Engine, offline_after_s: float):
        self.engine, self.offline_after_s = engine, offline_after_s

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        stale = format_time(now - timedelta(seconds=self.offline_after_s))
        with read_only(self.engine) as conn:
            online = conn.execute(
                select(func.count())
                .select_from(stations)
                .where(stations.c.online.is_(True), stations.c.last_seen >= stale)
            ).scalar_one()
            total = conn.execute(select(func.count()).select_from(stations)).scalar_one()
            ingested = conn.execute(
                select(func.coalesce(func.sum(stream_state.c.seq), 0)).where(
                    stream_state.c.stream == "up"
                )
            ).scalar_one()
            dn = conn.execute(
                select(func.coalesce(func.sum(stream_state.c.seq - stream_state.c.acked), 0)).where(
                    stream_state.c.stream == "dn"
                )
            ).scalar_one()
            by_status = conn.execute(
                select(orders.c.channel, orders.c.status, func.count()).group_by(
                    orders.c.channel, orders.c.status
                )
            ).all()
            open_alerts = conn.execute(
                select(alerts.c.kind, func.count())
                .where(alerts.c.cleared_at.is_(None))
                .group_by(alerts.c.kind)
            ).all()
            latest = conn.execute(
                select(inbox.c.at, inbox.c.received_at).join(
                    stream_state,
                    and_(
                        stream_state.c.station == inbox.c.station,
                        stream_state.c.seq == inbox.c.seq,
                        stream_state.c.stream == "up",
                    ),
                )
            ).all()
        yield GaugeMetricFamily(
            "printstation_hub_stations_online", "Stations online (presence and recent)", online
        )
        yield GaugeMetricFamily("printstation_hub_stations", "Stations registered", total)
        yield CounterMetricFamily(
            "printstation_hub_ingest_events",
            "Station events ingested (sum of every station's last applied up seq)",
            value=float(ingested),
        )
        yield GaugeMetricFamily(
            "printstation_hub_dn_queue_depth", "Hub events not yet acked by stations", dn
        )
        family = GaugeMetricFamily(
            "printstation_hub_orders", "Orders by channel and status", labels=["channel", "status"]
        )
        for channel, status, count in by_status:
            family.add_metric([channel, status], count)
        yield family
        family = GaugeMetricFamily("printstation_hub_alerts_open", "Open alerts", labels=["kind"])
        for kind, count in open_alerts:
            family.add_metric([kind], count)
        yield family
        delays = []
        for at, received in latest:
            try:
                delays.append(max(0.0, (parse_time(received) - parse_time(at)).total_seconds()))
            except ValueError:
                continue
        histogram = GaugeHistogramMetricFamily(
            "printstation_hub_ingest_latency_seconds",
            "Event time to hub commit of each station's last ingested batch",
        )
        histogram.add_metric([], _buckets(delays, LATENCY_BUCKETS), sum(delays))
        yield histogram
        done = processing_seconds(self.engine, format_time(now - timedelta(days=1)))
        histogram = GaugeHistogramMetricFamily(
            "printstation_hub_order_processing_seconds",
            "Received to packed, orders packed in the last 24 hours",
        )
        histogram.add_metric([], _buckets(done, PROCESSING_BUCKETS), sum(done))
        yield histogram
