"""What each station event does at the hub: one function per kind.

Effects work on the batch's :class:`~cloud.changeset.ChangeSet` (orders and stock read
once, written once; its connection for the rare effect that writes directly). Every
effect first checks its data and what it refers to, raising NeverApplies before it
changes anything, so a rejected event leaves no trace but its inbox row and alert.
Kinds with no effect of their own (print jobs, scans, logins, feedback, coupons,
loyalty, payment failures) are kept in the inbox with their data, so nothing is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cloud import commands, outbox, returns, stock, waybills
from cloud.alerts import raise_alert
from cloud.changeset import ChangeSet
from cloud.errors import NeverApplies
from cloud.text import clean, is_seq, is_token
from edge import protocol
from edge.protocol import Event, printable

log = logging.getLogger(__name__)

STOCK_REASONS = frozenset({"sale", "return", "release", "receipt", "adjustment", "allotment"})
_POSITIVE = frozenset({"return", "release", "receipt"})


@dataclass(frozen=True)
class TopupPolicy:
    """How the hub answers a ``stock.topup_request``: grant up to ``batch`` units when the
    station's remaining allotment is below ``low_water`` and the store has stock."""

    low_water: int = 5
    batch: int = 20


@dataclass(frozen=True)
class Context:
    tenant: str
    station: str
    event: Event
    topup: TopupPolicy | None


def _need(data: dict[str, Any], key: str, kind: str) -> str:
    value = data.get(key)
    if not is_token(value):
        raise NeverApplies(f"{kind}: '{key}' must be a non-empty printable string")
    return str(value)


def _int(data: dict[str, Any], key: str, kind: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > stock.MAX_QTY:
        raise NeverApplies(f"{kind}: '{key}' must be a whole number")
    return value


def _own_order(changes: ChangeSet, ctx: Context, order_id: str) -> dict[str, Any]:
    """The order an event refers to; it must exist and be this station's."""
    found = changes.order(order_id)
    if found is None:
        raise NeverApplies(f"{ctx.event.kind}: no order {printable(order_id)}")
    if found["station"] not in (None, ctx.station):
        raise NeverApplies(
            f"{ctx.event.kind}: order {found['number']} belongs to {found['station']}"
        )
    return found


def order_created(changes: ChangeSet, ctx: Context) -> None:
    order = ctx.event.data.get("order")
    kind, at = ctx.event.kind, ctx.event.at
    if not isinstance(order, dict):
        raise NeverApplies(f"{kind}: 'order' must be an object")
    order_id, number = _need(order, "id", kind), _need(order, "number", kind)
    status, channel = _need(order, "status", kind), _need(order, "channel", kind)
    if order.get("station") not in (None, ctx.station):
        raise NeverApplies(f"{kind}: order {printable(number)} names station {order['station']!r}")
    if not isinstance(order.get("lines", []), list):
        raise NeverApplies(f"{kind}: 'lines' must be a list")
    existing = changes.order(order_id)
    if existing is not None:
        if existing["station"] not in (None, ctx.station):
            raise NeverApplies(f"{kind}: order {order_id} belongs to {existing['station']}")
        return
    if changes.number_taken(number):
        raise NeverApplies(f"{kind}: order number {printable(number)} is taken by another order")
    data = {k: v for k, v in order.items() if k != "timeline"}
    changes.add_order(
        {
            "id": order_id,
            "number": number,
            "station": ctx.station,
            "channel": channel,
            "status": status,
            "total": clean(order.get("total", "0.00"), 40),
            "external_id": order["external_id"] if is_token(order.get("external_id")) else None,
            "data": {**data, "station": ctx.station},
            "created_at": clean(order.get("created_at") or at, 64),
            "updated_at": clean(order.get("updated_at") or at, 64),
        }
    )
    timeline = order.get("timeline")
    steps = [t for t in timeline if isinstance(t, dict)] if isinstance(timeline, list) else []
    for step in steps or [{"at": at, "status": status, "note": "created"}]:
        changes.add_timeline(
            order_id,
            clean(step.get("at") or at, 64),
            clean(step.get("status") or status, 64),
            clean(step.get("note") or ""),
        )


def order_status(changes: ChangeSet, ctx: Context) -> None:
    data, kind, at = ctx.event.data, ctx.event.kind, ctx.event.at
    order_id, status = _need(data, "order_id", kind), _need(data, "to", kind)
    note = clean(data["note"]) if isinstance(data.get("note"), str) else ""
    before = _own_order(changes, ctx, order_id)["status"]
    changes.change_order(order_id, at, status=status)
    changes.add_timeline(order_id, at, status, note, {"from": before})


def order_item_packed(changes: ChangeSet, ctx: Context) -> None:
    data, kind = ctx.event.data, ctx.event.kind
    order_id = _need(data, "order_id", kind)
    line_no, packed = _int(data, "line_no", kind), _int(data, "packed_qty", kind)
    body = dict(_own_order(changes, ctx, order_id)["data"])
    lines = [dict(l) if isinstance(l, dict) else l for l in body.get("lines", [])]
    for line in lines:
        if isinstance(line, dict) and line.get("line_no") == line_no:
            line["packed_qty"] = packed
    changes.change_order(order_id, ctx.event.at, data={**body, "lines": lines})


def order_exception(changes: ChangeSet, ctx: Context) -> None:
    data, kind, at = ctx.event.data, ctx.event.kind, ctx.event.at
    order_id = _need(data, "order_id", kind)
    if not isinstance(data.get("reason"), str) or not data["reason"]:
        raise NeverApplies(f"{kind}: 'reason' must be a non-empty string")
    reason = clean(data["reason"], 500)
    current = _own_order(changes, ctx, order_id)
    body = {**current["data"], "exception_reason": reason}
    if current["status"] == "exception":
        changes.change_order(order_id, at, data=body)
        return
    changes.change_order(order_id, at, data=body, status="exception")
    changes.add_timeline(order_id, at, "exception", reason)


def stock_moved(changes: ChangeSet, ctx: Context) -> None:
    data, kind = ctx.event.data, ctx.event.kind
    sku, qty = _need(data, "sku", kind), _int(data, "qty", kind)
    reason = data.get("reason")
    if reason not in STOCK_REASONS:
        raise NeverApplies(f"{kind}: unknown reason {printable(str(reason))}")
    if qty == 0 or (reason == "sale" and qty > 0) or (reason in _POSITIVE and qty < 0):
        raise NeverApplies(f"{kind}: a {reason} of {qty} has the wrong sign")
    if reason == "allotment":
        return  # the hub's own grant or release, echoed back: already counted
    if changes.store is None:
        raise NeverApplies(f"{kind}: station {ctx.station} has no store yet")
    ref = clean(data["ref"], 200) if isinstance(data.get("ref"), str) else None
    changes.load_stock([sku])
    if reason in {"sale", "return", "release"}:
        # Sold and on hand move together; remaining allotment moves with them.
        changes.move_stock(sku, qty, reason, ref, ctx.event.at, sold=-qty)
    else:
        # Received or counted at the station, which already sells it: its allotment too.
        changes.move_stock(sku, qty, reason, ref, ctx.event.at, allotted=qty)
    allotted, sold = changes.allotment(sku)
    if sold > allotted:
        raise_alert(
            changes.conn,
            ctx.station,
            "oversold",
            f"station {ctx.station} sold {sold} of {sku} but was allotted {allotted}",
            {"sku": sku, "allotted": allotted, "sold": sold, "seq": ctx.event.seq},
        )


def stock_topup_request(changes: ChangeSet, ctx: Context) -> None:
    data, kind = ctx.event.data, ctx.event.kind
    sku = _need(data, "sku", kind)
    wanted = _int(data, "qty", kind) if "qty" in data else None
    if ctx.topup is None:
        return
    if changes.store is None:
        log.info("top-up of %s for %s: the station has no store yet", sku, ctx.station)
        return
    batch = ctx.topup.batch if wanted is None or wanted <= 0 else min(wanted, ctx.topup.batch)
    changes.flush()
    granted = stock.topup_policy(changes.conn, ctx.station, sku, ctx.topup.low_water, batch)
    changes.reload_stock()
    log.info("top-up request of %s for %s: granted %d", sku, ctx.station, granted)


def command_result(changes: ChangeSet, ctx: Context) -> None:
    commands.record_result(changes.conn, ctx.station, ctx.event.data)


def dn_rejected(changes: ChangeSet, ctx: Context) -> None:
    data, kind = ctx.event.data, ctx.event.kind
    seq = data.get("seq")
    if not is_seq(seq):
        raise NeverApplies(f"{kind}: 'seq' must be a dn seq")
    reason = data.get("reason") if isinstance(data.get("reason"), str) else "no reason given"
    changes.flush()
    outbox.dn_rejected(changes.conn, ctx.station, seq, str(reason))
    changes.reload_stock()


def waybill_used(changes: ChangeSet, ctx: Context) -> None:
    """The station printed a waybill number: count it used and put it on the order."""
    data, kind = ctx.event.data, ctx.event.kind
    block_id, serial = _int(data, "block_id", kind), _int(data, "serial", kind)
    number, order_id = _need(data, "number", kind), _need(data, "order_id", kind)
    order = _own_order(changes, ctx, order_id)
    if waybills.record_used(changes.conn, ctx.station, block_id, serial) is None:
        raise NeverApplies(f"{kind}: serial {serial} is not in a block of {ctx.station}")
    body = {**order["data"], "tracking_number": clean(number, 64)}
    changes.change_order(order_id, ctx.event.at, data=body)


def return_requested(changes: ChangeSet, ctx: Context) -> None:
    kind = ctx.event.kind
    record = ctx.event.data.get("return")
    if not isinstance(record, dict):
        raise NeverApplies(f"{kind}: 'return' must be an object")
    for key in ("id", "number"):
        _need(record, key, kind)
    if record.get("order_id") != _need(ctx.event.data, "order_id", kind):
        raise NeverApplies(f"{kind}: the return is for another order")
    _own_order(changes, ctx, record["order_id"])
    if not isinstance(record.get("lines"), list) or not record["lines"]:
        raise NeverApplies(f"{kind}: 'lines' must be a non-empty list")
    changes.flush()
    returns.station_requested(changes.conn, changes.tenant, ctx.station, record)


def return_inspected(changes: ChangeSet, ctx: Context) -> None:
    data, kind = ctx.event.data, ctx.event.kind
    return_id, status = _need(data, "return_id", kind), _need(data, "status", kind)
    restocked = data.get("restocked")
    if status not in ("restocked", "rejected") or not isinstance(restocked, dict):
        raise NeverApplies(f"{kind}: needs a status restocked/rejected and 'restocked' units")
    changes.flush()
    if not returns.inspected(changes.conn, ctx.station, return_id, status, restocked):
        raise NeverApplies(f"{kind}: no return {printable(return_id)} at {ctx.station}")


def record_only(changes: ChangeSet, ctx: Context) -> None:
    """Kept in the inbox with its data; nothing else to do."""


EFFECTS: dict[str, Callable[[ChangeSet, Context], None]] = {
    protocol.ORDER_CREATED: order_created,
    protocol.ORDER_STATUS: order_status,
    protocol.ORDER_ITEM_PACKED: order_item_packed,
    protocol.ORDER_EXCEPTION: order_exception,
    protocol.STOCK_MOVED: stock_moved,
    protocol.STOCK_TOPUP_REQUEST: stock_topup_request,
    protocol.COMMAND_RESULT: command_result,
    protocol.DN_REJECTED: dn_rejected,
    protocol.WAYBILL_USED: waybill_used,
    protocol.RETURN_REQUESTED: return_requested,
    protocol.RETURN_INSPECTED: return_inspected,
    **{
        kind: record_only
        for kind in (
            protocol.PRINT_JOB_QUEUED,
            protocol.PRINT_JOB_STATE,
            protocol.SCAN_REJECTED,
            protocol.STAFF_LOGIN,
            protocol.ORDER_FEEDBACK,
            protocol.COUPON_REDEEMED,
            protocol.LOYALTY_MOVED,
            protocol.PAYMENT_FAILED,
        )
    },
}


def apply_event(changes: ChangeSet, ctx: Context) -> None:
    """Apply one station event to the batch's changes; raises NeverApplies (having
    changed nothing) when it never can be applied."""
    effect = EFFECTS.get(ctx.event.kind)
    if effect is None:
        raise NeverApplies(f"unknown event kind {printable(ctx.event.kind)}")
    effect(changes, ctx)


def references(events: list[Event]) -> tuple[set[str], set[str], set[str]]:
    """Order ids, order numbers and SKUs a batch refers to, to load them up front."""
    ids: set[str] = set()
    numbers: set[str] = set()
    skus: set[str] = set()
    for event in events:
        data = event.data
        if event.kind == protocol.ORDER_CREATED and isinstance(data.get("order"), dict):
            order = data["order"]
            if is_token(order.get("id")):
                ids.add(order["id"])
            if is_token(order.get("number")):
                numbers.add(order["number"])
        elif is_token(data.get("order_id")):
            ids.add(data["order_id"])
        if event.kind in (protocol.STOCK_MOVED, protocol.STOCK_TOPUP_REQUEST) and is_token(
            data.get("sku")
        ):
            skus.add(data["sku"])
    return ids, numbers, skus
