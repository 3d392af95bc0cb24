"""Applying one hub event (``dn`` stream) to the station store. Pure over a connection: the
caller runs it in the transaction that also advances the stream position."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from edge import protocol
from edge.config import OVERRIDES, ConfigError, StationConfig, with_override
from edge.protocol import Event
from edge.store import (
    Conflict,
    NotFound,
    catalog,
    coupons,
    journal,
    kv,
    orders,
    print_jobs,
    returns,
    stock,
    waybills,
)


class NeverApplies(Exception):
    """The event can never be applied here (unknown kind, bad data); it is acked as rejected."""


@dataclass
class Outcome:
    """What the agent must do after the commit (``resync_from``: send ``up`` again from)."""

    resync_from: int | None = None


def _need(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise NeverApplies(f"'{key}' must be {kind.__name__}")
    return value


def apply(conn: sqlite3.Connection, event: Event, config: StationConfig) -> Outcome:
    handler = HANDLERS.get(event.kind)
    if handler is None:
        raise NeverApplies(f"unknown event kind {event.kind!r}")
    try:
        return handler(conn, event, config)
    except (Conflict, NotFound, KeyError, TypeError, ValueError) as err:
        raise NeverApplies(f"{event.kind}: {err}") from err


def _catalog(conn: sqlite3.Connection, event: Event, config: StationConfig) -> Outcome:
    catalog.upsert(conn, _need(event.data, "products", list))
    if "coupons" in event.data:
        coupons.upsert(conn, _need(event.data, "coupons", list))
    return Outcome()


def _allotment(conn: sqlite3.Connection, event: Event, config: StationConfig) -> Outcome:
    sku, qty = _need(event.data, "sku", str), _need(event.data, "qty", int)
    if catalog.get(conn, sku) is None:
        raise NeverApplies(f"allotment for unknown SKU {sku}")
    stock.move(conn, sku, qty, "allotment", f"dn:{event.seq}")
    return Outcome()


def _order(conn: sqlite3.Connection, event: Event, config: StationConfig) -> Outcome:
    order = _need(event.data, "order", dict)
    if orders.by_number(conn, order["number"]) is not None:
        return Outcome()  # already here (re-assigned back to this station)
    fields = {k: order[k] for k in orders.SHIPPING_FIELDS if k in order}
    orders.create(
        conn,
        station=config.station.id,
        channel=str(order.get("channel", "hub")),
        lines=order["lines"],
        number=order["number"],
        order_id=order["id"],
        status="open",
        **fields,
    )
    kv.put(conn, f"{HUB_ORDER}{order['id']}", 1)  # packing it records the sale
    return Outcome()


HUB_ORDER = "hub_order:"
#: An order the station has started on keeps it; a revoke of it is refused.
REVOCABLE = frozenset({"open", "exception", "pending_payment"})


def _revoke(conn: sqlite3.Connection, event: Event, config: StationConfig) -> Outcome:
    """The hub moved an order elsewhere: an untouched order is cancelled here without
    being reported back (the hub already recorded the move); one being picked, packed or
    already packed is kept and the revoke refused, so the hub raises an alert."""
    order_id = _need(event.data, "order_id", str)
    row = conn.execute("SELECT status, number FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        return Outcome()
    if row["status"] == "cancelled":
        return Outcome()
    if row["status"] not in REVOCABLE:
        raise NeverApplies(f"order {row['number']} is already {row['status']} here; kept")
    now = protocol.utc_now()
    note = f"moved by the hub: {event.data.get('reason') or 're-allocated'}"
    conn.execute(
        "UPDATE orders SET status = 'cancelled', updated_at = ? WHERE id = ?", (now, order_id)
    )
    conn.execute(
        "INSERT INTO order_timeline (order_id, at, status, note) VALUES (?,?,?,?)",
        (order_id, now, "cancelled", note),
    )
    kv.delete(conn, f"{HUB_ORDER}{order_id}")
    return Outcome()


def _waybill_pool(conn: sqlite3.Connection, event: Event, config: StationConfig) -> Outcome:
    waybills.add_block(conn, event.data)
    return Outcome()


def _return_expected(conn: sqlite3.Connection, event: Event, config: StationConfig) -> Outcome:
    returns.expect(conn, _need(event.data, "return", dict))
    return Outcome()


def _command(conn: sqlite3.Connection, event: Event, config: StationConfig) -> Outcome:
    command_id = _need(event.data, "command_id", str)
    name, args = _need(event.data, "name", str), event.data.get("args") or {}
    outcome, ok = Outcome(), True
    result: dict[str, Any] = {}
    expires = event.data.get("expires_at")
    if expires and protocol.utc_now() > expires:
        ok, result = False, {"error": "expired before it reached the station"}
    elif name == "reprint":
        job = print_jobs.reprint(conn, int(args["job_id"]))
        result = {"job_id": job["id"]}
    elif name in ("pause_printer", "resume_printer"):
        paused = print_jobs.set_paused(conn, str(args["printer"]), name == "pause_printer")
        result = {"paused": sorted(paused)}
    elif name == "set_config":
        ok, result = _set_config(config, str(args["key"]), args.get("value"))
    elif name == "resync":
        outcome.resync_from = max(1, int(args.get("from_seq", 1)))
        result = {"from_seq": outcome.resync_from}
    else:
        ok, result = False, {"error": f"unknown command {name!r}"}
    journal.append(
        conn,
        protocol.COMMAND_RESULT,
        {"command_id": command_id, "name": name, "ok": ok, "result": result},
    )
    return outcome


def _set_config(config: StationConfig, key: str, value: Any) -> tuple[bool, dict[str, Any]]:
    """Validate one setting pushed from the hub and keep it next to the database; the
    station services pick it up when they next start."""
    path = config.station.data_dir / OVERRIDES
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    try:
        with_override(config, key, value)
    except ConfigError as err:
        return False, {"error": "; ".join(f"{p}: {m}" for p, m in err.problems)}
    current[key] = value
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)
    return True, {"key": key, "value": value, "applies": "when the station services next start"}


HANDLERS = {
    protocol.CATALOG_UPSERT: _catalog,
    protocol.STOCK_ALLOTMENT: _allotment,
    protocol.ORDER_ASSIGNED: _order,
    protocol.COMMAND: _command,
    protocol.ORDER_REVOKED: _revoke,
    protocol.WAYBILL_POOL: _waybill_pool,
    protocol.RETURN_EXPECTED: _return_expected,
}
