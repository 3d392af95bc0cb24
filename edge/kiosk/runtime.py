"""What the kiosk's request handlers share: config, store, live hub and the side effects
that follow a commit (waking the spooler and the journal tail)."""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from edge import protocol
from edge.config import StationConfig
from edge.kiosk import documents, packing
from edge.kiosk.auth import Throttle
from edge.kiosk.checkout import InFlight
from edge.kiosk.errors import ApiError
from edge.kiosk.live import LiveHub
from edge.kiosk.metrics import Metrics
from edge.kiosk.payments import CardTerminal, Charge, PaymentError, SimulatedTerminal
from edge.store import Store, catalog, journal, orders, print_jobs, scans, stock
from edge.store.group import GroupCommitter
from edge.store.notify import poke

log = logging.getLogger(__name__)

BADGE_TOKEN_TTL_S = 30.0


@dataclass
class Runtime:
    config: StationConfig
    store: Store
    live: LiveHub = field(default_factory=LiveHub)
    logins: LiveHub = field(default_factory=lambda: LiveHub(max_listeners=4))
    customers: LiveHub = field(default_factory=lambda: LiveHub(max_listeners=4))
    metrics: Metrics = field(default_factory=Metrics)
    inflight: InFlight = field(default_factory=InFlight)
    throttle: Throttle = field(default_factory=Throttle)
    terminal: CardTerminal | None = None
    writes: GroupCommitter = field(init=False)
    _badges: dict[str, tuple[dict[str, Any], float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.writes = GroupCommitter(self.store)
        if self.terminal is None and self.config.kiosk.card_terminal == "simulated":
            self.terminal = SimulatedTerminal(
                self.runtime_dir / "card-terminal.json", timeout_s=self.config.kiosk.card_timeout_s
            )

    @property
    def runtime_dir(self) -> Path:
        return self.config.runtime_dir

    @property
    def base_url(self) -> str:
        return self.config.kiosk_url

    def after_commit(self) -> None:
        """Wake the spooler (new jobs) and the journal tail (live screens)."""
        poke(self.runtime_dir, "spooler")
        poke(self.runtime_dir, "kiosk")
        poke(self.runtime_dir, "sync")

    def scan(self, scan: packing.Scan, rejected: str | None = None) -> packing.ScanResult:
        """Apply a scan (or record one the scanner service refused) and tell the screens."""
        started = time.perf_counter()
        scanner = self.config.scanners.get(scan.source)
        if scanner is not None and scanner.purpose == "kiosk" and rejected is None:
            return self._customer_scan(scan)
        with self.store.write() as conn:
            if rejected is not None:
                result = packing.refused(conn, scan, rejected)
            else:
                result = packing.handle_scan(conn, self.config, scan, self.base_url)
        if result.outcome == "duplicate":
            return result
        if result.jobs:
            poke(self.runtime_dir, "spooler")
        poke(self.runtime_dir, "sync")
        if result.staff is not None:
            self.logins.publish("badge", {"token": self._badge_token(result.staff)})
        self.live.publish("scan", result.to_json())
        self.metrics.scan(result.outcome, time.perf_counter() - started)
        log.info(
            "scan %r from %s: %s %s", scan.code[:64], scan.source, result.outcome, result.message
        )
        return result

    def _customer_scan(self, scan: packing.Scan) -> packing.ScanResult:
        """A scan at the customer screen: a product goes to the cart, a ticket shows its order."""
        with self.store.write() as conn:
            order = orders.by_number(conn, packing.order_number_in(scan.code))
            product = None if order else catalog.find_by_code(conn, scan.gtin or scan.code)
            outcome = "order_status" if order else "product" if product else "unknown_code"
            scans.record(
                conn,
                scan.code,
                scan.source,
                outcome,
                event_id=scan.event_id,
                order_id=order["id"] if order else None,
                sku=product["sku"] if product else None,
            )
        if order:
            self.customers.publish("order", {"number": order["number"]})
        elif product:
            sellable = stock.sellable(self.store.conn(), product["sku"])
            self.customers.publish("product", {"product": {**product, "sellable": sellable}})
        else:
            self.customers.publish("unknown", {"code": scan.code})
        return packing.ScanResult(
            outcome,
            scan.code,
            outcome != "unknown_code",
            scan.code,
            sku=product["sku"] if product else None,
        )

    def take_card_payment(self, key: str, amount: Decimal) -> Charge:
        """Charge the card for a checkout; a failure is journaled and nothing else is written."""
        if self.terminal is None:
            raise ApiError(422, "payment_unsupported", "this station takes pay-at-counter orders")
        if not self.inflight.claim(key):
            raise ApiError(409, "payment_in_progress", "this payment is already under way")
        try:
            return self.terminal.charge(amount, key)
        except PaymentError as err:
            self.inflight.release(key)
            with self.store.write() as conn:
                journal.append(
                    conn,
                    protocol.PAYMENT_FAILED,
                    {"checkout": key, "amount": str(amount), "reason": err.code},
                )
            log.warning("card payment for checkout %s failed: %s", key, err)
            raise ApiError(err.status, err.code, str(err)) from err

    def void(self, charge: Charge) -> None:
        if self.terminal is not None:
            self.terminal.void(charge)

    def queue_ticket(self, conn: sqlite3.Connection, order: dict[str, Any]) -> None:
        printer = self.config.printer_for("receipt")
        if printer:
            print_jobs.enqueue(
                conn,
                printer,
                "ticket",
                documents.ticket(self.config, order, self.base_url),
                order_id=order["id"],
            )

    def _badge_token(self, member: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._badges = {k: v for k, v in self._badges.items() if v[1] > now}
            self._badges[token] = (member, now + BADGE_TOKEN_TTL_S)
        return token

    def redeem_badge(self, token: str) -> dict[str, Any] | None:
        """One use per token, within its lifetime."""
        with self._lock:
            found = self._badges.pop(token, None)
        if found and found[1] > time.monotonic():
            return found[0]
        return None

    def preview_path(self, job_id: int) -> Path:
        return self.config.station.data_dir / "previews" / f"{job_id}.png"
