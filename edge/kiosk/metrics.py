"""Prometheus metrics of the kiosk process (``GET /metrics``)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

PAPER_STATES = ("ok", "low", "out", "unknown")


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
        self.outbox_depth = Gauge(
            "printstation_outbox_depth",
            "Journal events not yet acknowledged by the hub",
            registry=self.registry,
        )
        self.printer_online = Gauge(
            "printstation_printer_online",
            "1 when the printer answers, 0 when not (absent: not known yet)",
            ["printer"],
            registry=self.registry,
        )
        self.printer_paper = Gauge(
            "printstation_printer_paper",
            "1 for the printer's current paper state (ok, low, out, unknown)",
            ["printer", "paper"],
            registry=self.registry,
        )
        self.printed = Gauge(
            "printstation_printer_jobs_printed",
            "Jobs printed by each printer since the spooler started",
            ["printer"],
            registry=self.registry,
        )
        self.scanner_connected = Gauge(
            "printstation_scanner_connected",
            "1 when the scanner is connected",
            ["scanner"],
            registry=self.registry,
        )
        self.disk_free = Gauge(
            "printstation_disk_free_bytes",
            "Free space where the station keeps its data",
            registry=self.registry,
        )

    def scan(self, outcome: str, seconds: float) -> None:
        self.scans.labels(outcome).inc()
        self.scan_seconds.observe(seconds)

    def observe(self, snapshot: dict[str, Any]) -> None:
        """Set the gauges from a station snapshot (the telemetry the sync agent sends)."""
        self.outbox_depth.set(snapshot["outbox_depth"])
        self.journal_seq.set(snapshot["journal_seq"])
        for printer, waiting in snapshot["print_queue"].items():
            self.queue_depth.labels(printer).set(waiting)
        self.disk_free.set(snapshot["disk_free_mb"] * 2**20)
        for name, printer in snapshot["printers"].items():
            if printer.get("online") is not None:
                self.printer_online.labels(name).set(1 if printer["online"] else 0)
            for paper in PAPER_STATES:
                self.printer_paper.labels(name, paper).set(printer.get("paper") == paper)
            self.printed.labels(name).set(int(printer.get("printed", 0)))
        for name, scanner in snapshot["scanners"].items():
            self.scanner_connected.labels(name).set(1 if scanner.get("connected") else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
