"""Order flow figures and the hub's metrics, from orders and timelines written here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from cloud import orders as hub_orders
from cloud import registry
from cloud.db import read_only, transaction
from cloud.metrics import HubCollector
from cloud.web.dashboard import data
from edge.protocol import format_time

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)


def _order(conn, n: int, station: str, channel: str, minutes_to_pack: int | None) -> None:
    created = NOW - timedelta(hours=2)
    at = format_time(created)
    status = "packed" if minutes_to_pack is not None else "exception"
    hub_orders.insert(
        conn,
        "test",
        {
            "id": f"o{n}",
            "number": f"N{n}",
            "station": station,
            "channel": channel,
            "status": status,
            "total": "1.00",
        },
        at,
    )
    if minutes_to_pack is None:
        hub_orders.add_timeline(conn, f"o{n}", at, "exception", "address", "hub")
    else:
        done = format_time(created + timedelta(minutes=minutes_to_pack))
        hub_orders.add_timeline(conn, f"o{n}", done, "packed", "", "station")


def test_order_flow_and_metrics(engine):
    with transaction(engine) as conn:
        registry.register(conn, "test", "st-01", "store-01")
        registry.register(conn, "test", "st-02", "store-01")
        for n, minutes in enumerate([1, 2, 3, 4, 10], start=1):
            _order(conn, n, "st-01", "kiosk", minutes)
        _order(conn, 6, "st-02", "taobao", 30)
        _order(conn, 7, "st-02", "taobao", None)
    with read_only(engine) as conn:
        flow = data.order_flow(conn, NOW)
    by_station = {r["key"]: r for r in flow["processing"]["by_station"]}
    assert by_station["st-01"]["count"] == 5
    assert (by_station["st-01"]["p50"], by_station["st-01"]["p90"]) == (180.0, 600.0)
    assert by_station["st-02"]["p99"] == 1800.0
    hour = format_time(NOW - timedelta(hours=2)).replace(":30:00.000Z", ":00:00Z")
    assert flow["orders_per_hour"]["by_channel"] == {"kiosk": {hour: 5}, "taobao": {hour: 2}}
    assert flow["orders_per_hour"]["by_station"]["st-02"] == {hour: 2}
    assert flow["rates"]["orders"] == 7 and flow["rates"]["exceptions"] == 1
    assert abs(flow["rates"]["exception_rate"] - 1 / 7) < 1e-3

    scrape = CollectorRegistry()
    scrape.register(HubCollector(engine, 90))
    text = generate_latest(scrape).decode()
    assert 'printstation_hub_orders{channel="kiosk",status="packed"} 5.0' in text
    assert 'printstation_hub_orders{channel="taobao",status="exception"} 1.0' in text
    assert 'printstation_hub_order_processing_seconds_bucket{le="300.0"} 4.0' in text
    assert 'printstation_hub_order_processing_seconds_bucket{le="+Inf"} 6.0' in text
    assert "printstation_hub_stations 2.0" in text
    assert "printstation_hub_stations_online 0.0" in text
