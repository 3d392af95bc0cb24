"""Prometheus metrics of the kiosk process (``GET /metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.scans = Counter(
            "printstation_scans", "Scans handled, by outcome", ["outcome"], registry=self.registry
        )
        self.scan_seconds = Histogram(
            "printstation_scan_seconds",
            "Time to apply a scan, commit included",
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.requests = Counter(
            "printstation_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "printstation_print_queue_depth",
            "Print jobs waiting per printer",
            ["printer"],
            registry=self.registry,
        )
        self.orders = Gauge(
            "printstation_orders", "Orders by status", ["status"], registry=self.registry
        )
        self.journal_seq = Gauge(
            "printstation_journal_seq", "Last journal sequence number", registry=self.registry
        )

    def scan(self, outcome: str, seconds: float) -> None:
        self.scans.labels(outcome).inc()
        self.scan_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
