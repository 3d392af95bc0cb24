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
from edge.store import Conflict, NotFound, catalog, kv, orders, print_jobs, scans, staff

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


def handle_scan(
    conn: sqlite3.Connection,
    config: StationConfig,
    code: str,
    source: str,
    base_url: str,
    gtin: str | None = None,
) -> ScanResult:
    """Apply one scan; must run inside a write transaction."""
    badge = staff.by_badge(conn, code)
    if badge:
        scans.record(conn, code, source, "badge", message=badge["name"])
        return ScanResult("badge", badge["name"], True, code, staff=badge)
    order = orders.by_number(conn, order_number_in(code))
    if order:
        return _open(conn, order, code, source)
    current = open_order_id(conn)
    product = catalog.find_by_code(conn, gtin or code)
    if product is None:
        scans.record(
            conn, code, source, "unknown_code", order_id=current, message="unknown barcode"
        )
        return ScanResult(
            "unknown_code",
            "unknown barcode",
            False,
            code,
            order=orders.get(conn, current) if current else None,
        )
    if current is None:
        scans.record(
            conn, code, source, "no_open_order", sku=product["sku"], message="scan an order first"
        )
        return ScanResult("no_open_order", "scan an order first", False, code, sku=product["sku"])
    return _count(conn, config, current, product, code, source, base_url)


def _open(conn: sqlite3.Connection, order: dict[str, Any], code: str, source: str) -> ScanResult:
    if order["status"] not in orders.PACKABLE:
        message = f"order {order['number']} is {order['status']}"
        scans.record(conn, code, source, "not_packable", order_id=order["id"], message=message)
        return ScanResult("not_packable", message, False, code, order=order)
    previous = open_order_id(conn)
    if previous and previous != order["id"]:
        prev = orders.get(conn, previous)
        if prev["status"] == "packing":
            orders.transition(conn, previous, "open", "put back: another order was scanned")
    if order["status"] != "packing":
        order = orders.transition(conn, order["id"], "packing", f"opened by scan at {source}")
    kv.put(conn, OPEN_ORDER, order["id"])
    scans.record(conn, code, source, "order_opened", order_id=order["id"])
    return ScanResult("order_opened", order["number"], True, code, order=order)


def _count(
    conn: sqlite3.Connection,
    config: StationConfig,
    order_id: str,
    product: dict[str, Any],
    code: str,
    source: str,
    base_url: str,
) -> ScanResult:
    sku = product["sku"]
    try:
        _line, complete = orders.pack_unit(conn, order_id, sku)
    except NotFound:
        scans.record(
            conn,
            code,
            source,
            "wrong_item",
            order_id=order_id,
            sku=sku,
            message=f"{sku} is not in this order",
        )
        return ScanResult(
            "wrong_item",
            f"{product['name']} ({sku})",
            False,
            code,
            order=orders.get(conn, order_id),
            sku=sku,
        )
    except Conflict as err:
        scans.record(conn, code, source, "over_scan", order_id=order_id, sku=sku, message=str(err))
        return ScanResult(
            "over_scan",
            f"{product['name']} ({sku})",
            False,
            code,
            order=orders.get(conn, order_id),
            sku=sku,
        )
    if not complete:
        scans.record(conn, code, source, "item_packed", order_id=order_id, sku=sku)
        return ScanResult(
            "item_packed", product["name"], True, code, order=orders.get(conn, order_id), sku=sku
        )
    order = orders.transition(conn, order_id, "packed", "every item scanned")
    kv.delete(conn, OPEN_ORDER)
    jobs = [j["id"] for j in print_for_packed(conn, config, order, base_url)]
    scans.record(conn, code, source, "order_packed", order_id=order_id, sku=sku)
    return ScanResult("order_packed", order["number"], True, code, order=order, sku=sku, jobs=jobs)


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
