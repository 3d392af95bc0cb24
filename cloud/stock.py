"""Stock: a ledger of physical movements per store and SKU, and allotments (escrow) per
station that it may sell without asking.

The rule, at every commit, per (tenant, store, sku)::

    committed = Σ over the store's stations of max(allotted − sold, 0)
    committed ≤ on_hand            (on_hand = Σ ledger qty)

so what the stations may still sell never exceeds what is physically there, even while
they are offline. A sale lowers on-hand and the station's remaining allotment together;
a grant needs ``on_hand − committed ≥ qty``; on-hand may only drop below the committed
amount through sales. Every change takes the stock item's row lock first (sorted by SKU
when several), so concurrent grants cannot both spend the same units.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select, update

from cloud.db import insert_ignore
from cloud.errors import InvalidInput, InvariantViolation, NoStore, NotFound
from cloud.outbox import enqueue_dn
from cloud.schema import allotments, stations, stock_items, stock_ledger
from edge.protocol import STOCK_ALLOTMENT, Event, utc_now

log = logging.getLogger(__name__)

MAX_QTY = 1_000_000_000


def _qty(qty: Any, *, signed: bool = False) -> int:
    if not isinstance(qty, int) or isinstance(qty, bool) or abs(qty) > MAX_QTY:
        raise InvalidInput(f"quantity {qty!r} is not a whole number of at most {MAX_QTY}")
    if qty == 0 or (qty < 0 and not signed):
        raise InvalidInput(f"quantity must be {'non-zero' if signed else 'positive'}, got {qty}")
    return qty


def station_store(conn: Connection, station: str) -> tuple[str, str]:
    """(tenant, store) of a station; NotFound or NoStore when it cannot hold stock."""
    row = conn.execute(
        select(stations.c.tenant, stations.c.store).where(stations.c.id == station)
    ).first()
    if row is None:
        raise NotFound(f"no station {station}")
    if row.store is None:
        raise NoStore(f"station {station} has no store yet; it sends one with its presence")
    return row.tenant, row.store


def lock_items(conn: Connection, tenant: str, store: str, skus: Iterable[str]) -> dict[str, int]:
    """Create missing stock items and lock them in SKU order; returns on-hand per SKU."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    now = utc_now()
    insert_ignore(
        conn,
        stock_items,
        [
            {"tenant": tenant, "store": store, "sku": s, "on_hand": 0, "updated_at": now}
            for s in wanted
        ],
    )
    rows = conn.execute(
        select(stock_items.c.sku, stock_items.c.on_hand)
        .where(stock_items.c.tenant == tenant, stock_items.c.store == store)
        .where(stock_items.c.sku.in_(wanted))
        .order_by(stock_items.c.sku)
        .with_for_update()
    )
    return {r.sku: int(r.on_hand) for r in rows}


def ledger(
    conn: Connection,
    tenant: str,
    store: str,
    sku: str,
    qty: int,
    reason: str,
    ref: str | None = None,
    *,
    station: str | None = None,
    at: str | None = None,
) -> None:
    """Append one movement and keep on-hand in step (the item must be locked)."""
    now = utc_now()
    conn.execute(
        stock_ledger.insert().values(
            tenant=tenant,
            store=store,
            sku=sku,
            qty=qty,
            reason=reason,
            ref=ref,
            station=station,
            at=at or now,
        )
    )
    conn.execute(
        update(stock_items)
        .where(stock_items.c.tenant == tenant, stock_items.c.store == store)
        .where(stock_items.c.sku == sku)
        .values(on_hand=stock_items.c.on_hand + qty, updated_at=now)
    )


def committed(conn: Connection, tenant: str, store: str, sku: str) -> int:
    """What the store's stations may still sell of ``sku``: Σ max(allotted − sold, 0)."""
    remaining = allotments.c.allotted - allotments.c.sold
    total = conn.execute(
        select(func.coalesce(func.sum(remaining), 0))
        .select_from(allotments.join(stations, stations.c.id == allotments.c.station))
        .where(stations.c.tenant == tenant, stations.c.store == store)
        .where(allotments.c.sku == sku, remaining > 0)
    ).scalar_one()
    return int(total)


def unallotted(conn: Connection, tenant: str, store: str, sku: str) -> int:
    """On hand and not promised to any station (locks the stock item)."""
    on_hand = lock_items(conn, tenant, store, [sku])[sku]
    return on_hand - committed(conn, tenant, store, sku)


def receive(
    conn: Connection, tenant: str, store: str, sku: str, qty: int, ref: str | None = None
) -> int:
    """Goods arrived at a store; returns the new on-hand."""
    qty = _qty(qty)
    on_hand = lock_items(conn, tenant, store, [sku])[sku]
    ledger(conn, tenant, store, sku, qty, "receipt", ref)
    return on_hand + qty


def adjust(
    conn: Connection, tenant: str, store: str, sku: str, qty: int, ref: str | None = None
) -> int:
    """A counted correction (signed); refused when it would take away units the stations
    may still sell — release their allotments first. Returns the new on-hand."""
    qty = _qty(qty, signed=True)
    on_hand = lock_items(conn, tenant, store, [sku])[sku]
    promised = committed(conn, tenant, store, sku)
    if on_hand + qty < promised:
        raise InvariantViolation(
            f"{sku} at {store}: on hand {on_hand}, stations may still sell {promised}; "
            f"an adjustment of {qty} would leave less than that — release allotments first"
        )
    ledger(conn, tenant, store, sku, qty, "adjustment", ref)
    return on_hand + qty


def _change_allotment(conn: Connection, station: str, sku: str, qty: int) -> int:
    """Add ``qty`` (signed) to the station's allotment; returns the new total allotted."""
    insert_ignore(
        conn,
        allotments,
        {"station": station, "sku": sku, "allotted": 0, "sold": 0, "updated_at": utc_now()},
    )
    conn.execute(
        update(allotments)
        .where(allotments.c.station == station, allotments.c.sku == sku)
        .values(allotted=allotments.c.allotted + qty, updated_at=utc_now())
    )
    return int(
        conn.execute(
            select(allotments.c.allotted).where(
                allotments.c.station == station, allotments.c.sku == sku
            )
        ).scalar_one()
    )


def allotment(conn: Connection, station: str, sku: str) -> tuple[int, int]:
    """(allotted, sold) of one station and SKU; (0, 0) when never granted."""
    row = conn.execute(
        select(allotments.c.allotted, allotments.c.sold).where(
            allotments.c.station == station, allotments.c.sku == sku
        )
    ).first()
    return (int(row.allotted), int(row.sold)) if row else (0, 0)


def grant(conn: Connection, station: str, sku: str, qty: int) -> Event:
    """Let the station sell ``qty`` more of ``sku``: its allotment grows and a
    ``stock.allotment`` event goes ``dn`` in the same transaction. Refused with
    InvariantViolation when the store has fewer unallotted units."""
    qty = _qty(qty)
    tenant, store = station_store(conn, station)
    free = unallotted(conn, tenant, store, sku)
    if qty > free:
        raise InvariantViolation(
            f"cannot grant {qty} of {sku} to {station}: only {max(free, 0)} unallotted at {store}"
        )
    total = _change_allotment(conn, station, sku, qty)
    log.info("granted %d of %s to %s (allotted %d)", qty, sku, station, total)
    return enqueue_dn(conn, station, STOCK_ALLOTMENT, {"sku": sku, "qty": qty, "allotted": total})


def release(conn: Connection, station: str, sku: str, qty: int) -> Event:
    """Take back ``qty`` of what the station may still sell (a negative allotment ``dn``).
    A station that already sold those units rejects the event and the hub restores them."""
    qty = _qty(qty)
    tenant, store = station_store(conn, station)
    lock_items(conn, tenant, store, [sku])
    allotted, sold = allotment(conn, station, sku)
    if qty > allotted - sold:
        raise InvariantViolation(
            f"{station} may sell only {max(allotted - sold, 0)} of {sku}; cannot release {qty}"
        )
    total = _change_allotment(conn, station, sku, -qty)
    log.info("released %d of %s from %s (allotted %d)", qty, sku, station, total)
    return enqueue_dn(conn, station, STOCK_ALLOTMENT, {"sku": sku, "qty": -qty, "allotted": total})


def topup_policy(conn: Connection, station: str, sku: str, low_water: int, batch: int) -> int:
    """Grant up to ``batch`` when the station's remaining allotment is below ``low_water``
    and the store has unallotted stock; returns how many were granted (0 for none)."""
    tenant, store = station_store(conn, station)
    free = unallotted(conn, tenant, store, sku)
    allotted, sold = allotment(conn, station, sku)
    if allotted - sold >= low_water or free <= 0:
        return 0
    qty = min(batch, free)
    grant(conn, station, sku, qty)
    return qty


def stock_view(conn: Connection, tenant: str, sku: str) -> dict[str, Any]:
    """On hand, allotments and sales of one SKU: in total, per store and per station.

    ``remaining`` is what a station may still sell (allotted − sold); a store's
    ``committed`` adds up its stations' positive remainders and ``unallotted`` is
    ``on_hand − committed`` (negative only when a station oversold)."""
    items = {
        r.store: int(r.on_hand)
        for r in conn.execute(
            select(stock_items.c.store, stock_items.c.on_hand).where(
                stock_items.c.tenant == tenant, stock_items.c.sku == sku
            )
        )
    }
    station_rows = conn.execute(
        select(allotments.c.station, stations.c.store, allotments.c.allotted, allotments.c.sold)
        .select_from(allotments.join(stations, stations.c.id == allotments.c.station))
        .where(stations.c.tenant == tenant, allotments.c.sku == sku)
        .order_by(allotments.c.station)
    ).all()
    per_station = [
        {
            "station": r.station,
            "store": r.store,
            "allotted": int(r.allotted),
            "sold": int(r.sold),
            "remaining": int(r.allotted) - int(r.sold),
        }
        for r in station_rows
    ]
    stores = []
    for store in sorted(set(items) | {s["store"] for s in per_station if s["store"]}):
        promised = sum(max(s["remaining"], 0) for s in per_station if s["store"] == store)
        on_hand = items.get(store, 0)
        stores.append(
            {
                "store": store,
                "on_hand": on_hand,
                "committed": promised,
                "unallotted": on_hand - promised,
            }
        )
    return {
        "sku": sku,
        "on_hand": sum(s["on_hand"] for s in stores),
        "allotted": sum(s["allotted"] for s in per_station),
        "sold": sum(s["sold"] for s in per_station),
        "committed": sum(s["committed"] for s in stores),
        "unallotted": sum(s["unallotted"] for s in stores),
        "stores": stores,
        "stations": per_station,
    }


def check_invariants(conn: Connection) -> list[str]:
    """Every broken stock rule, as readable sentences (empty when all hold): on-hand equals
    its ledger, nothing is oversold, and no store promised more than it has."""
    problems: list[str] = []
    sums = {
        (r.tenant, r.store, r.sku): int(r.total)
        for r in conn.execute(
            select(
                stock_ledger.c.tenant,
                stock_ledger.c.store,
                stock_ledger.c.sku,
                func.sum(stock_ledger.c.qty).label("total"),
            ).group_by(stock_ledger.c.tenant, stock_ledger.c.store, stock_ledger.c.sku)
        )
    }
    items = {(r.tenant, r.store, r.sku): int(r.on_hand) for r in conn.execute(select(stock_items))}
    promised: dict[tuple[str, str, str], int] = {}
    for r in conn.execute(
        select(
            stations.c.tenant,
            stations.c.store,
            allotments.c.station,
            allotments.c.sku,
            allotments.c.allotted,
            allotments.c.sold,
        ).select_from(allotments.join(stations, stations.c.id == allotments.c.station))
    ):
        remaining = int(r.allotted) - int(r.sold)
        if remaining < 0:
            problems.append(f"{r.station} sold {r.sold} of {r.sku} but was allotted {r.allotted}")
        if remaining > 0:
            if r.store is None:
                problems.append(f"{r.station} holds an allotment of {r.sku} but has no store")
                continue
            key = (r.tenant, r.store, r.sku)
            promised[key] = promised.get(key, 0) + remaining
    for key in sorted(set(items) | set(sums) | set(promised)):
        tenant, store, sku = key
        on_hand, ledger_sum = items.get(key, 0), sums.get(key, 0)
        if on_hand != ledger_sum:
            problems.append(
                f"{tenant}/{store}/{sku}: on hand {on_hand} but the ledger sums to {ledger_sum}"
            )
        if on_hand < 0:
            problems.append(f"{tenant}/{store}/{sku}: oversold, on hand {on_hand}")
        if (may_sell := promised.get(key, 0)) > on_hand:
            problems.append(
                f"{tenant}/{store}/{sku}: stations may sell {may_sell} but {on_hand} on hand"
            )
    return problems
