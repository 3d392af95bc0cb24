"""Allocation: which station packs a checked channel order.

The rule engine is described in ``docs/allocation.md``. :func:`allocate` is called by order
intake in the transaction that marks an order ``checked`` (and again when a person releases
an order from the exception queue).

In short: hard filters first (the station is online, or offline for less than
``[allocation] offline_timeout_s`` and the order is not urgent; its store can give every
line from the station's remaining allotment plus the store's unallotted stock; a carrier
covers the destination at the order's service level), then a score from the weights in
``[allocation]`` (region, load, stock already at the station, offline penalty); the
highest score wins, ties by station id. The order's missing units are granted to the
winner as allotment in the same transaction, so the station's pack records the sale.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, exists, select, update

from cloud import carriers, stock, waybills
from cloud.allocation_rules import (
    ALLOCATABLE,
    UNSTARTED,
    Pending,
    candidates,
    destination,
    is_urgent,
    lines_of,
    product_rows,
    recheck,
    weight_of,
)
from cloud.config import HubConfig
from cloud.errors import InvalidInput, InvariantViolation, NotFound
from cloud.orders import add_timeline
from cloud.outbox import enqueue_dn
from cloud.schema import orders, stations
from cloud.schema_allocation import allocation_decisions, allocation_reservations, stores
from cloud.text import clean, is_token
from edge.protocol import ORDER_ASSIGNED, ORDER_REVOKED, format_time, utc_now

log = logging.getLogger(__name__)


def _order_row(conn: Connection, order_id: str) -> Any:
    row = conn.execute(select(orders).where(orders.c.id == order_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no order with id {order_id}")
    return row


def _record(
    conn: Connection,
    order_id: str,
    at: str,
    station: str | None,
    previous: str | None,
    reason: str,
    candidates: list[dict[str, Any]],
    source: str,
) -> None:
    conn.execute(
        allocation_decisions.insert().values(
            order_id=order_id,
            at=at,
            station=station,
            previous=previous,
            reason=reason,
            candidates=candidates,
            source=source,
        )
    )


def last_decision(conn: Connection, order_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(allocation_decisions)
            .where(allocation_decisions.c.order_id == order_id)
            .order_by(allocation_decisions.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def decisions(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """Every allocation decision of the order, oldest first."""
    return [
        dict(r)
        for r in conn.execute(
            select(allocation_decisions)
            .where(allocation_decisions.c.order_id == order_id)
            .order_by(allocation_decisions.c.id)
        ).mappings()
    ]


def _assigned_body(row: Any, data: dict[str, Any], names: dict[str, Any]) -> dict[str, Any]:
    """The order as the station's ``order.assigned`` handler takes it."""
    lines = []
    for line in data.get("lines") or []:
        known = names.get(line["sku"])
        lines.append(
            {
                "sku": line["sku"],
                "qty": int(line["qty"]),
                "name": line.get("name") or (known.name if known else line["sku"]),
                "name_en": line.get("name_en") or (known.name_en if known else ""),
                "unit_price": str(
                    line.get("unit_price")
                    or line.get("price")
                    or (known.price if known else "0.00")
                ),
            }
        )
    body = {
        "id": row.id,
        "number": row.number,
        "channel": row.channel,
        "lines": lines,
        "priority": 1 if is_urgent(data) else 0,
        "total": row.total,
    }
    for key in ("external_id", "fulfilment", "payment", "customer_name", "phone", "address"):
        if isinstance(data.get(key), str):
            body[key] = data[key]
    raw = data.get("customer")
    customer: dict[str, Any] = raw if isinstance(raw, dict) else {}
    for key, field in (("customer_name", "name"), ("phone", "phone")):
        if key not in body and isinstance(customer.get(field), str):
            body[key] = customer[field]
    if isinstance(data.get("paid"), bool):
        body["paid"] = data["paid"]
    elif isinstance(data.get("payment_status"), str):
        body["paid"] = data["payment_status"] == "paid"
    for key in ("carrier", "service_level", "sort_code"):
        if data.get(key):
            body[key] = data[key]
    return body


class _Cache:
    """What a batch of allocations reads once: each tenant's carrier table and known
    provinces, and the (station, carrier) pools already found well stocked."""

    def __init__(self) -> None:
        self.tenants: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
        self.pools_ok: set[tuple[str, str]] = set()
        self.pending: dict[str, Pending] = {}

    def pending_of(self, conn: Connection, tenant: str) -> Pending:
        if tenant not in self.pending:
            self.pending[tenant] = Pending(conn, tenant)
        return self.pending[tenant]

    def tenant(self, conn: Connection, tenant: str) -> tuple[list[dict[str, Any]], list[str]]:
        if tenant not in self.tenants:
            table = carriers.list_carriers(conn, tenant)
            known = [p for c in table for p in c["zones"]]
            known += list(
                conn.execute(select(stores.c.province).where(stores.c.tenant == tenant)).scalars()
            )
            self.tenants[tenant] = (table, [carriers.province_key(p) for p in known])
        return self.tenants[tenant]


def _place(
    conn: Connection,
    config: HubConfig,
    row: Any,
    at: str,
    source: str,
    exclude: set[str],
    previous: str | None,
    cache: _Cache | None = None,
) -> dict[str, Any]:
    cache = cache or _Cache()
    data = dict(row.data)
    need = lines_of(data)
    tenant = row.tenant
    table, known = cache.tenant(conn, tenant)
    dest = destination(data, known)
    found = product_rows(conn, tenant, list(need))
    urgent = is_urgent(data)
    level = data.get("service_level")
    service_level = level if isinstance(level, str) else "standard"
    choice, carrier_note = None, "no carrier table: the station chooses the carrier"
    if table and data.get("fulfilment", "delivery") == "delivery":
        weight = weight_of(found, need, config.allocation.unit_weight_g)
        choice, carrier_note = carriers.choose(table, dest["province"], service_level, weight)
    now = datetime.fromisoformat(at) if at else datetime.now(UTC)
    needs_carrier = bool(table) and data.get("fulfilment", "delivery") == "delivery"
    verdicts: list[dict[str, Any]] = []
    winner = None
    if needs_carrier and choice is None:
        reason = carrier_note
    else:
        pending = cache.pending_of(conn, tenant)
        verdicts = candidates(conn, config, tenant, need, dest, urgent, exclude, now, pending)
        fit = sorted((v for v in verdicts if v["ok"]), key=lambda v: (-v["score"], v["station"]))
        # Scores were read without locks: lock the best station's stock items and check
        # again; if a concurrent allocation took the units, try the next one.
        for verdict in fit:
            grant = recheck(conn, tenant, verdict["store"], verdict["station"], need)
            if grant is not None:
                verdict["grant"] = grant
                winner = verdict
                break
            verdict.update(ok=False, why="its store's stock was taken meanwhile")
        if winner is None:
            reasons = "; ".join(f"{v['station']}: {v['why']}" for v in verdicts) or "no stations"
            reason = f"no station can take it ({reasons})"
        else:
            reason = (
                f"{winner['station']} scored {winner['score']} "
                f"(region {winner['region']}, load {winner['load']}"
                f"{'' if winner['online'] else ', offline'}) of {len(fit)} candidate(s); "
                f"{carrier_note}"
            )
    if winner is None:
        # A retry that fails for the same reason is not recorded again.
        earlier = last_decision(conn, row.id)
        if row.status != "checked" or row.station is not None:
            conn.execute(
                update(orders)
                .where(orders.c.id == row.id)
                .values(status="checked", station=None, updated_at=at)
            )
        if earlier is None or earlier["reason"] != reason or row.status != "checked":
            _record(conn, row.id, at, None, previous, reason, verdicts, source)
            add_timeline(conn, row.id, at, "checked", f"not allocated: {reason}", "hub")
            log.info("order %s not allocated: %s", row.number, reason)
        return {"order_id": row.id, "station": None, "reason": reason, "candidates": verdicts}
    station = winner["station"]
    for sku, qty in sorted(winner["grant"].items()):
        stock.grant(conn, station, sku, qty)
    cache.pending_of(conn, tenant).add(station, need)
    conn.execute(
        allocation_reservations.insert(),
        [{"order_id": row.id, "sku": k, "station": station, "qty": v} for k, v in need.items()],
    )
    if choice is not None:
        data.update(
            carrier=choice.carrier,
            zone=choice.zone,
            sort_code=choice.sort_code,
            shipping_price=str(choice.price),
        )
    data.update(service_level=service_level, destination=dest, granted=winner["grant"])
    if choice is not None and (station, choice.carrier) not in cache.pools_ok:
        rules = config.allocation
        waybills.top_up(
            conn, tenant, station, choice.carrier, rules.waybill_low_water, rules.waybill_block
        )
        if rules.waybill_block >= rules.waybill_low_water:
            cache.pools_ok.add((station, choice.carrier))  # numbers are used only when printing
    conn.execute(
        update(orders)
        .where(orders.c.id == row.id)
        .values(station=station, status="allocated", data=data, updated_at=at)
    )
    enqueue_dn(conn, station, ORDER_ASSIGNED, {"order": _assigned_body(row, data, found)})
    _record(conn, row.id, at, station, previous, reason, verdicts, source)
    note = (
        f"to {station}: {reason}"
        if previous is None
        else f"moved from {previous} to {station}: {reason}"
    )
    add_timeline(conn, row.id, at, "allocated", note, "hub", {"station": station})
    log.info("order %s allocated to %s", row.number, station)
    return {"order_id": row.id, "station": station, "reason": reason, "candidates": verdicts}


def allocate(conn: Connection, config: HubConfig, order_id: str, at: str) -> dict[str, Any]:
    """Pick the station for a checked order, record the decision with its reason, and send
    the order ``dn`` to that station; returns the decision. An order no station can take
    stays ``checked`` with the reason recorded, to be retried."""
    return _allocate(conn, config, order_id, at, _Cache())


def _allocate(
    conn: Connection, config: HubConfig, order_id: str, at: str, cache: _Cache
) -> dict[str, Any]:
    row = _order_row(conn, order_id)
    if row.status not in ALLOCATABLE:
        raise InvalidInput(f"order {row.number} is {row.status}; only checked orders are allocated")
    return _place(conn, config, row, at, "hub", set(), None, cache)


def _revoke(conn: Connection, row: Any, at: str, why: str) -> None:
    """Take the order back from its station: ``order.revoked`` dn, and the units granted
    for it released (what the station already sold stays with it)."""
    station = row.station
    conn.execute(
        delete(allocation_reservations).where(allocation_reservations.c.order_id == row.id)
    )
    enqueue_dn(
        conn, station, ORDER_REVOKED, {"order_id": row.id, "number": row.number, "reason": why}
    )
    granted = (row.data or {}).get("granted") or {}
    for sku, qty in sorted(granted.items()):
        allotted, sold = stock.allotment(conn, station, sku)
        give_back = min(int(qty), allotted - sold)
        if give_back > 0:
            try:
                stock.release(conn, station, sku, give_back)
            except InvariantViolation as err:  # pragma: no cover - guarded by the min above
                log.warning("could not release %s from %s: %s", sku, station, err)
    add_timeline(
        conn, row.id, at, "revoked", f"taken from {station}: {why}", "hub", {"station": station}
    )


def reallocate(
    conn: Connection, config: HubConfig, order_id: str, by: str, at: str, why: str = ""
) -> dict[str, Any]:
    """Move an order its station has not started on to another station (``by`` names who
    asked: a person, or ``sweep``). Refused once packing started."""
    row = _order_row(conn, order_id)
    if row.status == "checked" and row.station is None:
        return _place(conn, config, row, at, by, set(), None)
    if row.status not in UNSTARTED or row.station is None:
        raise InvalidInput(f"order {row.number} is {row.status}; it can no longer be moved")
    if "granted" not in (row.data or {}):
        raise InvalidInput(f"order {row.number} was not allocated by the hub; it stays")
    by, why = clean(by, 200), clean(why, 300)
    previous = row.station
    _revoke(conn, row, at, why or f"moved by {by}")
    data = {k: v for k, v in row.data.items() if k != "granted"}
    conn.execute(update(orders).where(orders.c.id == row.id).values(data=data))
    return _place(conn, config, _order_row(conn, order_id), at, by, {previous}, previous)


def allocate_pending(
    conn: Connection, config: HubConfig, at: str, limit: int = 500
) -> list[dict[str, Any]]:
    """Allocate up to ``limit`` checked orders, urgent first, then oldest first (urgency
    is looked for among the ``10 × limit`` oldest waiting orders)."""
    rows = conn.execute(
        select(orders.c.id, orders.c.data, orders.c.created_at)
        .where(orders.c.status == "checked", orders.c.station.is_(None))
        .order_by(orders.c.created_at, orders.c.id)
        .limit(10 * limit)
    ).all()
    ordered = sorted(rows, key=lambda r: (not is_urgent(r.data or {}), r.created_at, r.id))
    ordered = ordered[:limit]
    done, cache = [], _Cache()
    for r in ordered:
        try:
            done.append(_allocate(conn, config, r.id, at, cache))
        except InvalidInput as err:  # refused before anything was written
            log.warning("order %s cannot be allocated: %s", r.id, err)
    return done


def stranded(conn: Connection, config: HubConfig, at: str) -> list[str]:
    """Ids of orders allocated to a station offline past the timeout and not started."""
    cutoff = format_time(
        datetime.fromisoformat(at) - timedelta(seconds=config.allocation.offline_timeout_s)
    )
    query = (
        select(orders.c.id)
        .select_from(orders.join(stations, stations.c.id == orders.c.station))
        .where(orders.c.status.in_(UNSTARTED), stations.c.online.is_(False))
        .where((stations.c.last_seen.is_(None)) | (stations.c.last_seen < cutoff))
        # only orders the hub allocated (a station's own kiosk orders stay where they are)
        .where(
            exists().where(
                allocation_reservations.c.order_id == orders.c.id,
                allocation_reservations.c.station == orders.c.station,
            )
        )
        .order_by(orders.c.created_at, orders.c.id)
    )
    return list(conn.execute(query).scalars())


def set_store(conn: Connection, tenant: str, store: str, province: str, city: str = "") -> None:
    """Where a store is (its province decides which orders count as near it)."""
    for value, what in ((store, "store id"), (province, "province")):
        if not is_token(value) or len(value) > 100:
            raise InvalidInput(f"a {what} must be a printable string of 1 to 100 characters")
    if city != "" and (not is_token(city) or len(city) > 100):
        raise InvalidInput("a city must be a printable string of at most 100 characters")
    values = {"province": carriers.province_key(province), "city": city.strip()}
    now = utc_now()
    found = conn.execute(
        select(stores.c.id).where(stores.c.tenant == tenant, stores.c.id == store)
    ).first()
    if found is None:
        conn.execute(stores.insert().values(tenant=tenant, id=store, updated_at=now, **values))
    else:
        conn.execute(
            update(stores)
            .where(stores.c.tenant == tenant, stores.c.id == store)
            .values(updated_at=now, **values)
        )


def sweep(conn: Connection, config: HubConfig, at: str) -> dict[str, int]:
    """Housekeeping: move orders away from stations offline past the timeout, then
    retry checked orders that no station could take, and top up waybill pools running
    low. Returns counts."""
    moved = 0
    for order_id in stranded(conn, config, at):
        result = reallocate(conn, config, order_id, "sweep", at, "station offline past the timeout")
        moved += 1
        log.info("order %s moved after its station went offline: %s", order_id, result["reason"])
    placed = sum(1 for r in allocate_pending(conn, config, at) if r["station"])
    rules = config.allocation
    blocks = waybills.top_up_all(conn, rules.waybill_low_water, rules.waybill_block)
    return {"moved": moved, "placed": placed, "waybill_blocks": blocks}
