"""The packing workflow driven by scans (CONTRACT "Packing by scans").

Scanning an order's code opens it; each product scan counts one unit of a matching line;
a scan that matches no open line is rejected and nothing is counted; when every line is
complete the order becomes ``packed`` and its label (or, for pickup, its receipt) is queued
in the same transaction. The station has one packing bench: the open order is kept in
``kv`` under ``packing.order_id``.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from edge.config import StationConfig
from edge.kiosk import documents
from edge.store import (
    Conflict,
    NotFound,
    catalog,
    kv,
    orders,
    print_jobs,
    scans,
    staff,
    stock,
    waybills,
)
from edge.sync.apply import HUB_ORDER

OPEN_ORDER = "packing.order_id"
MAX_CODE = 512
_CONTROL = re.compile(r"[\x00-\x1c\x1e\x1f\x7f]")


@dataclass
class ScanResult:
    """What a scan did; ``outcome`` is one of :data:`edge.store.scans.OUTCOMES`."""

    outcome: str
    message: str
    ok: bool
    code: str
    order: dict[str, Any] | None = None
    sku: str | None = None
    jobs: list[int] = field(default_factory=list)
    staff: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "message": self.message,
            "ok": self.ok,
            "code": self.code,
            "order": self.order,
            "sku": self.sku,
            "jobs": self.jobs,
        }


def clean_code(code: str) -> str:
    """Strip framing whitespace; reject control characters and over-long input."""
    code = code.strip("\r\n\t ")
    if not code:
        raise ValueError("empty scan")
    if len(code) > MAX_CODE:
        raise ValueError(f"scan longer than {MAX_CODE} characters")
    if _CONTROL.search(code):
        raise ValueError("scan contains control characters")
    return code


def order_number_in(code: str) -> str:
    """The order number a code names: the number itself, or the last segment of a ticket URL."""
    if "://" in code:
        path = urlsplit(code).path.rstrip("/")
        return unquote(path.rsplit("/", 1)[-1])
    return code


def open_order_id(conn: sqlite3.Connection) -> str | None:
    value = kv.get(conn, OPEN_ORDER)
    return str(value) if value else None


@dataclass(frozen=True)
class Scan:
    """One scan as it arrived: the cleaned code, where from, and the scanner's event id."""

    code: str
    source: str
    event_id: str | None = None
    gtin: str | None = None


def _outcome(
    conn: sqlite3.Connection,
    scan: Scan,
    outcome: str,
    message: str,
    *,
    order: dict[str, Any] | None = None,
    sku: str | None = None,
    jobs: list[int] | None = None,
    member: dict[str, Any] | None = None,
) -> ScanResult:
    """Log the scan with what came of it, and say so."""
    scans.record(
        conn,
        scan.code,
        scan.source,
        outcome,
        order_id=order["id"] if order else None,
        sku=sku,
        message=message,
        event_id=scan.event_id,
    )
    ok = outcome not in scans.REJECTIONS
    return ScanResult(
        outcome, message, ok, scan.code, order=order, sku=sku, jobs=jobs or [], staff=member
    )


def handle_scan(
    conn: sqlite3.Connection, config: StationConfig, scan: Scan, base_url: str
) -> ScanResult:
    """Apply one scan; must run inside a write transaction.

    A scan whose event id was seen before (a delivery retried after a lost answer) changes
    nothing and answers ``duplicate``.
    """
    if scan.event_id and (seen := scans.by_event_id(conn, scan.event_id)):
        ok = seen["outcome"] not in scans.REJECTIONS
        return ScanResult("duplicate", seen["outcome"], ok, scan.code)
    badge = staff.by_badge(conn, scan.code)
    if badge:
        return _outcome(conn, scan, "badge", badge["name"], member=badge)
    order = orders.by_number(conn, order_number_in(scan.code))
    if order:
        return _open(conn, order, scan)
    current = orders.get(conn, cur) if (cur := open_order_id(conn)) else None
    product = catalog.find_by_code(conn, scan.gtin or scan.code)
    if product is None:
        return _outcome(conn, scan, "unknown_code", "unknown barcode", order=current)
    if current is None:
        return _outcome(conn, scan, "no_open_order", "scan an order first", sku=product["sku"])
    return _count(conn, config, current, product, scan, base_url)


def _open(conn: sqlite3.Connection, order: dict[str, Any], scan: Scan) -> ScanResult:
    if order["status"] == "pending_payment" and order["payment"] == "counter":
        paid = orders.mark_paid(conn, order["id"], f"paid at the counter (scan at {scan.source})")
        return _outcome(conn, scan, "order_paid", paid["number"], order=paid)
    if order["status"] not in orders.PACKABLE:
        message = f"order {order['number']} is {order['status']}"
        return _outcome(conn, scan, "not_packable", message, order=order)
    previous = open_order_id(conn)
    if previous and previous != order["id"]:
        prev = orders.get(conn, previous)
        if prev["status"] == "packing":
            orders.transition(conn, previous, "open", "put back: another order was scanned")
    if order["status"] != "packing":
        order = orders.transition(conn, order["id"], "packing", f"opened by scan at {scan.source}")
    kv.put(conn, OPEN_ORDER, order["id"])
    return _outcome(conn, scan, "order_opened", order["number"], order=order)


def _count(
    conn: sqlite3.Connection,
    config: StationConfig,
    order: dict[str, Any],
    product: dict[str, Any],
    scan: Scan,
    base_url: str,
) -> ScanResult:
    sku, name, order_id = product["sku"], f"{product['name']} ({product['sku']})", order["id"]
    try:
        _line, complete = orders.pack_unit(conn, order_id, sku)
    except NotFound:
        return _outcome(conn, scan, "wrong_item", name, order=order, sku=sku)
    except Conflict:
        return _outcome(conn, scan, "over_scan", name, order=order, sku=sku)
    if not complete:
        return _outcome(
            conn, scan, "item_packed", product["name"], order=orders.get(conn, order_id), sku=sku
        )
    _finish_hub_order(conn, order)
    packed = orders.transition(conn, order_id, "packed", "every item scanned")
    kv.delete(conn, OPEN_ORDER)
    jobs = [j["id"] for j in print_for_packed(conn, config, packed, base_url)]
    return _outcome(conn, scan, "order_packed", packed["number"], order=packed, sku=sku, jobs=jobs)


def _finish_hub_order(conn: sqlite3.Connection, order: dict[str, Any]) -> None:
    """An order the hub assigned: its units are sold from the allotment granted for it,
    and a delivery with a carrier takes the next waybill number of that carrier's pool."""
    if not kv.get(conn, f"{HUB_ORDER}{order['id']}"):
        return
    for line in order["lines"]:
        qty = min(int(line["qty"]), stock.sellable(conn, line["sku"]))
        if qty > 0:
            stock.move(conn, line["sku"], -qty, "sale", order["id"])
    kv.delete(conn, f"{HUB_ORDER}{order['id']}")
    carrier = order.get("carrier")
    if carrier and not order.get("tracking_number") and order.get("fulfilment") != "pickup":
        number = waybills.take(conn, carrier, order["id"])
        if number:
            orders.set_fields(conn, order["id"], tracking_number=number)


def refused(conn: sqlite3.Connection, scan: Scan, reason: str) -> ScanResult:
    """A code the scanner service refused (bad check digit, garbage): logged and shown."""
    return _outcome(conn, scan, "rejected", reason[:200], order=None)


def print_for_packed(
    conn: sqlite3.Connection, config: StationConfig, order: dict[str, Any], base_url: str
) -> list[dict[str, Any]]:
    """Queue the shipping label (delivery) or the receipt (pickup) of a packed order."""
    if not config.packing.auto_print:
        return []
    if order["fulfilment"] == "pickup":
        printer = config.printer_for("receipt")
        kind, payload = "ticket", documents.ticket(config, order, base_url)
    else:
        printer = config.printer_for(config.packing.label_role) or config.printer_for("receipt")
        kind, payload = "label", documents.shipping_label(config, order)
    if printer is None:
        return []
    return [print_jobs.enqueue(conn, printer, kind, payload, order_id=order["id"])]


def close_order(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """Put the open order back in the queue (its counted units stay counted)."""
    current = open_order_id(conn)
    if current is None:
        return None
    kv.delete(conn, OPEN_ORDER)
    order = orders.get(conn, current)
    if order["status"] == "packing":
        order = orders.transition(conn, current, "open", "put back by packer")
    return order


def flag(conn: sqlite3.Connection, order_id: str, reason: str) -> dict[str, Any]:
    """Move an order to the exception list; it leaves the bench if it was open there."""
    if open_order_id(conn) == order_id:
        kv.delete(conn, OPEN_ORDER)
    return orders.flag_exception(conn, order_id, reason)


def start_batch(
    conn: sqlite3.Connection, config: StationConfig, order_ids: list[str]
) -> tuple[str, dict[str, Any] | None]:
    """Mark the orders as being picked and queue one pick list for all of them."""
    batch_id = uuid.uuid4().hex[:10]
    picked = []
    for order_id in order_ids:
        order = orders.get(conn, order_id)
        if order["status"] != "open":
            raise Conflict(f"order {order['number']} is {order['status']}, not open")
        orders.transition(conn, order_id, "picking", f"pick list {batch_id}")
        orders.set_fields(conn, order_id, batch_id=batch_id)
        picked.append(order)
    bins = {
        l["sku"]: (catalog.get(conn, l["sku"]) or {}).get("bin", "")
        for o in picked
        for l in o["lines"]
    }
    printer = config.printer_for("picklist") or config.printer_for("receipt")
    job = None
    if printer:
        job = print_jobs.enqueue(
            conn, printer, "picklist", documents.pick_list(config, batch_id, picked, bins)
        )
    return batch_id, job
