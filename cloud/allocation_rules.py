"""The allocation rules: which stations may take an order (hard filters) and how well
each fits (the score from the ``[allocation]`` weights). Pure reads; :mod:`cloud.allocation`
acts on the verdicts. The rules are described in ``docs/allocation.md``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from cloud import carriers, stock
from cloud.config import HubConfig
from cloud.errors import InvalidInput
from cloud.schema import allotments, orders, products, stations, stock_items
from cloud.schema_allocation import allocation_reservations, stores

ALLOCATABLE = frozenset({"checked"})
#: Hub statuses of an allocated order the station has not started on.
UNSTARTED = frozenset({"allocated", "open"})
#: Statuses that count as load at a station (allocated and not packed yet).
PENDING = ("allocated", "open", "picking", "packing")
URGENT_LEVELS = frozenset({"same_day", "next_day"})


def is_urgent(data: dict[str, Any]) -> bool:
    """Urgent: priority "urgent"/"high" or a number > 0, or a same/next-day service."""
    priority = data.get("priority")
    if isinstance(priority, str):
        urgent = priority.lower() in ("urgent", "high")
    else:
        urgent = isinstance(priority, int) and not isinstance(priority, bool) and priority > 0
    return urgent or data.get("service_level") in URGENT_LEVELS


def destination(data: dict[str, Any], provinces: list[str]) -> dict[str, str]:
    """{province, city} of the order: the intake's parsed ``address_parts`` when present,
    otherwise the first known province (a store's or a carrier zone's) named in the
    address text."""
    parts = data.get("address_parts")
    if isinstance(parts, dict) and isinstance(parts.get("province"), str) and parts["province"]:
        city = parts.get("city") if isinstance(parts.get("city"), str) else ""
        return {"province": carriers.province_key(parts["province"]), "city": city or ""}
    raw = data.get("address")
    address = raw if isinstance(raw, str) else ""
    for province in sorted(set(provinces), key=len, reverse=True):
        if province and province != "*" and province in address:
            return {"province": province, "city": ""}
    return {"province": "", "city": ""}


def lines_of(data: dict[str, Any]) -> dict[str, int]:
    need: dict[str, int] = {}
    for line in data.get("lines") or []:
        sku, qty = line.get("sku"), line.get("qty")
        if not isinstance(sku, str) or not isinstance(qty, int) or isinstance(qty, bool):
            raise InvalidInput(f"order line {line!r} needs a 'sku' and a whole 'qty'")
        if qty <= 0:
            raise InvalidInput(f"order line {sku} needs a positive 'qty'")
        need[sku] = need.get(sku, 0) + qty
    if not need:
        raise InvalidInput("an order needs at least one line to allocate")
    return need


def product_rows(conn: Connection, tenant: str, skus: list[str]) -> dict[str, Any]:
    """The catalog rows (name, name_en, price, data) of the order's SKUs."""
    return {
        r.sku: r
        for r in conn.execute(
            select(
                products.c.sku,
                products.c.name,
                products.c.name_en,
                products.c.price,
                products.c.data,
            ).where(products.c.tenant == tenant, products.c.sku.in_(sorted(skus)))
        )
    }


def weight_of(found: dict[str, Any], need: dict[str, int], unit_g: int) -> int:
    """Grams of the order: each product's ``weight_g``, or ``unit_g`` per unit without one."""
    total = 0
    for sku, qty in need.items():
        row = found.get(sku)
        grams = (row.data or {}).get("weight_g") if row is not None else None
        if isinstance(grams, int) and not isinstance(grams, bool) and grams > 0:
            total += qty * grams
        else:
            total += qty * unit_g
    return total


def _seconds_since(moment: str | None, now: datetime) -> float:
    if not moment:
        return float("inf")
    try:
        return (now - datetime.fromisoformat(moment)).total_seconds()
    except ValueError:
        return float("inf")


class Pending:
    """Load and reserved units per station of one tenant: read once for a batch of
    allocations and kept up to date as the batch allocates (for scoring only; the stock
    check that decides is :func:`recheck`, under lock)."""

    def __init__(self, conn: Connection, tenant: str):
        self.load: dict[str, int] = {
            r.station: int(r.n)
            for r in conn.execute(
                select(orders.c.station, func.count().label("n"))
                .where(orders.c.tenant == tenant, orders.c.status.in_(PENDING))
                .where(orders.c.station.is_not(None))
                .group_by(orders.c.station)
            )
        }
        self.reserved: dict[tuple[str, str], int] = {
            (r.station, r.sku): int(r.qty)
            for r in conn.execute(
                select(
                    allocation_reservations.c.station,
                    allocation_reservations.c.sku,
                    func.sum(allocation_reservations.c.qty).label("qty"),
                )
                .select_from(
                    allocation_reservations.join(
                        orders,
                        (orders.c.id == allocation_reservations.c.order_id)
                        & (orders.c.station == allocation_reservations.c.station),
                    )
                )
                .where(orders.c.tenant == tenant, orders.c.status.in_(PENDING))
                .group_by(allocation_reservations.c.station, allocation_reservations.c.sku)
            )
        }

    def add(self, station: str, need: dict[str, int]) -> None:
        self.load[station] = self.load.get(station, 0) + 1
        for sku, qty in need.items():
            self.reserved[(station, sku)] = self.reserved.get((station, sku), 0) + qty


def candidates(
    conn: Connection,
    config: HubConfig,
    tenant: str,
    need: dict[str, int],
    dest: dict[str, str],
    urgent: bool,
    exclude: set[str],
    now: datetime,
    pending: Pending,
) -> list[dict[str, Any]]:
    """Every station of the tenant with its verdict: ``ok`` and ``score``, or ``why`` not."""
    rules = config.allocation
    rows = conn.execute(
        select(
            stations.c.id,
            stations.c.store,
            stations.c.online,
            stations.c.last_seen,
            stations.c.telemetry,
            stores.c.province,
            stores.c.city,
        )
        .select_from(
            stations.outerjoin(
                stores, (stores.c.tenant == stations.c.tenant) & (stores.c.id == stations.c.store)
            )
        )
        .where(stations.c.tenant == tenant)
        .order_by(stations.c.id)
    ).all()
    store_ids = sorted({r.store for r in rows if r.store})
    skus = sorted(need)
    on_hand = {
        (r.store, r.sku): int(r.on_hand)
        for r in conn.execute(
            select(stock_items.c.store, stock_items.c.sku, stock_items.c.on_hand).where(
                stock_items.c.tenant == tenant,
                stock_items.c.store.in_(store_ids),
                stock_items.c.sku.in_(skus),
            )
        )
    }
    held: dict[tuple[str, str], int] = {}
    promised: dict[tuple[str, str], int] = {}
    for a in conn.execute(
        select(
            stations.c.id,
            stations.c.store,
            allotments.c.sku,
            allotments.c.allotted,
            allotments.c.sold,
        )
        .select_from(allotments.join(stations, stations.c.id == allotments.c.station))
        .where(stations.c.tenant == tenant, allotments.c.sku.in_(skus))
    ):
        remaining = int(a.allotted) - int(a.sold)
        held[(a.id, a.sku)] = remaining
        if a.store and remaining > 0:
            promised[(a.store, a.sku)] = promised.get((a.store, a.sku), 0) + remaining
    reserved, load = pending.reserved, pending.load
    verdicts = []
    for r in rows:
        verdict: dict[str, Any] = {"station": r.id, "store": r.store, "ok": False}
        verdicts.append(verdict)
        offline_for = 0.0 if r.online else _seconds_since(r.last_seen, now)
        if r.id in exclude:
            verdict["why"] = "excluded (the order is being moved away from it)"
            continue
        if r.store is None:
            verdict["why"] = "no store"
            continue
        if offline_for >= rules.offline_timeout_s:
            verdict["why"] = "offline past the timeout"
            continue
        if offline_for > 0 and urgent:
            verdict["why"] = "offline, and the order is urgent"
            continue
        short = []
        own = True
        grant: dict[str, int] = {}
        for sku, qty in need.items():
            mine = max(held.get((r.id, sku), 0) - reserved.get((r.id, sku), 0), 0)
            free = on_hand.get((r.store, sku), 0) - promised.get((r.store, sku), 0)
            if mine + max(free, 0) < qty:
                short.append(sku)
            own = own and mine >= qty
            grant[sku] = max(qty - mine, 0)
        if short:
            verdict["why"] = f"store {r.store} cannot give {', '.join(short)}"
            continue
        telemetry = r.telemetry if isinstance(r.telemetry, dict) else {}
        queue = telemetry.get("print_queue")
        printing = (
            sum(v for v in queue.values() if isinstance(v, int)) if isinstance(queue, dict) else 0
        )
        units = int(load.get(r.id, 0)) + printing
        province = carriers.province_key(r.province) if r.province else ""
        same_province = bool(dest["province"]) and province == dest["province"]
        same_city = same_province and bool(dest["city"]) and (r.city or "") == dest["city"]
        score = (
            rules.weight_province * same_province
            + rules.weight_city * same_city
            + rules.weight_stock * own
            - rules.weight_load * units
            - rules.weight_offline * (offline_for > 0)
        )
        verdict.update(
            ok=True,
            score=round(score, 3),
            load=units,
            region="city" if same_city else "province" if same_province else "other",
            online=offline_for == 0,
            grant={k: v for k, v in grant.items() if v},
        )
    return verdicts


def _reserved(conn: Connection, station: str, skus: list[str]) -> dict[str, int]:
    """Units of the station's allotment promised to its allocated, unpacked orders."""
    return {
        r.sku: int(r.qty)
        for r in conn.execute(
            select(
                allocation_reservations.c.sku,
                func.sum(allocation_reservations.c.qty).label("qty"),
            )
            .select_from(
                allocation_reservations.join(
                    orders,
                    (orders.c.id == allocation_reservations.c.order_id)
                    & (orders.c.station == allocation_reservations.c.station),
                )
            )
            .where(allocation_reservations.c.station == station)
            .where(allocation_reservations.c.sku.in_(skus), orders.c.status.in_(PENDING))
            .group_by(allocation_reservations.c.sku)
        )
    }


def recheck(
    conn: Connection, tenant: str, store: str, station: str, need: dict[str, int]
) -> dict[str, int] | None:
    """Lock the store's stock items of the order's SKUs and check again that the station
    can give every line; returns the units to grant it per SKU, or None."""
    skus = sorted(need)
    on_hand = stock.lock_items(conn, tenant, store, skus)
    remaining = allotments.c.allotted - allotments.c.sold
    mine: dict[str, int] = {}
    promised: dict[str, int] = {}
    for r in conn.execute(
        select(allotments.c.station, allotments.c.sku, remaining.label("left"))
        .select_from(allotments.join(stations, stations.c.id == allotments.c.station))
        .where(stations.c.tenant == tenant, stations.c.store == store)
        .where(allotments.c.sku.in_(skus))
    ):
        if r.station == station:
            mine[r.sku] = int(r.left)
        if r.left > 0:
            promised[r.sku] = promised.get(r.sku, 0) + int(r.left)
    reserved = _reserved(conn, station, skus)
    grant: dict[str, int] = {}
    for sku, qty in need.items():
        own = max(mine.get(sku, 0) - reserved.get(sku, 0), 0)
        free = on_hand.get(sku, 0) - promised.get(sku, 0)
        if own + max(free, 0) < qty:
            return None
        if qty > own:
            grant[sku] = qty - own
    return grant
