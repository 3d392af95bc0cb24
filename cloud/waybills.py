"""Waybill number pools: each carrier's range of serial numbers is handed out to stations
in blocks over ``dn`` (``waybill.pool``), so a station prints valid labels offline.

A number is ``prefix + serial (zero-padded to width) + check digit + suffix``; the check
digit is ``mod7`` or UPU ``s10`` (:func:`edge.protocol.waybill_check_digit`). A station
reports each number it prints (``waybill.used``); when its unused numbers of a carrier
fall below ``[allocation] waybill_low_water`` the hub grants the next block in the same
transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, func, select, update

from cloud.alerts import raise_alert
from cloud.errors import InvalidInput
from cloud.outbox import enqueue_dn
from cloud.schema_allocation import WAYBILL_SCHEMES, waybill_blocks, waybill_ranges
from edge.protocol import WAYBILL_POOL, utc_now

log = logging.getLogger(__name__)


def _whole(value: Any, where: str, low: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidInput(f"{where} must be a whole number ≥ {low}")
    return value


def validate_range(carrier: str, raw: Any) -> dict[str, Any]:
    """A carrier's waybill range, checked: prefix, suffix, width, scheme, first, last."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"carrier {carrier}: 'waybills' must be an object")
    scheme = raw.get("scheme", "mod7")
    if scheme not in WAYBILL_SCHEMES:
        raise InvalidInput(f"carrier {carrier}: waybill scheme must be one of {WAYBILL_SCHEMES}")
    width = _whole(raw.get("width", 8 if scheme == "s10" else 10), f"{carrier} width", 1)
    if width > 18 or (scheme == "s10" and width != 8):
        raise InvalidInput(f"carrier {carrier}: width must be ≤ 18 (exactly 8 for s10)")
    first = _whole(raw.get("first"), f"{carrier} waybills.first")
    last = _whole(raw.get("last"), f"{carrier} waybills.last")
    if last < first or last >= 10**width:
        raise InvalidInput(f"carrier {carrier}: waybill range {first}..{last} does not fit")
    prefix, suffix = raw.get("prefix", ""), raw.get("suffix", "")
    for part in (prefix, suffix):
        if (
            not isinstance(part, str)
            or len(part) > 8
            or not part.isascii()
            or not (part.isalnum() or part == "")
        ):
            raise InvalidInput(f"carrier {carrier}: prefix/suffix must be up to 8 letters/digits")
    return {
        "prefix": prefix,
        "suffix": suffix,
        "width": width,
        "scheme": scheme,
        "first": first,
        "last": last,
    }


def set_range(conn: Connection, tenant: str, carrier: str, spec: dict[str, Any]) -> None:
    """Store a carrier's range; numbers already granted from an earlier range are not
    granted again when the new range overlaps it."""
    row = conn.execute(
        select(waybill_ranges)
        .where(waybill_ranges.c.tenant == tenant, waybill_ranges.c.carrier == carrier)
        .with_for_update()
    ).first()
    now = utc_now()
    if row is None:
        conn.execute(
            waybill_ranges.insert().values(
                tenant=tenant, carrier=carrier, next=spec["first"], updated_at=now, **spec
            )
        )
        return
    same = row.prefix == spec["prefix"] and row.width == spec["width"]
    start = max(spec["first"], int(row.next)) if same else spec["first"]
    conn.execute(
        update(waybill_ranges)
        .where(waybill_ranges.c.tenant == tenant, waybill_ranges.c.carrier == carrier)
        .values(next=start, updated_at=now, **spec)
    )


def unused(conn: Connection, station: str, carrier: str) -> int:
    """Numbers of ``carrier`` granted to the station that it has not reported printed."""
    total = conn.execute(
        select(
            func.coalesce(
                func.sum(
                    waybill_blocks.c.last - waybill_blocks.c.first + 1 - waybill_blocks.c.used
                ),
                0,
            )
        ).where(waybill_blocks.c.station == station, waybill_blocks.c.carrier == carrier)
    ).scalar_one()
    return int(total)


def grant_block(
    conn: Connection, tenant: str, station: str, carrier: str, size: int
) -> dict[str, Any] | None:
    """Grant the next ``size`` serials of the carrier's range to the station (a
    ``waybill.pool`` event ``dn``); None, with an alert, when the range is used up."""
    row = conn.execute(
        select(waybill_ranges)
        .where(waybill_ranges.c.tenant == tenant, waybill_ranges.c.carrier == carrier)
        .with_for_update()
    ).first()
    if row is None:
        return None
    first = int(row.next)
    if first > int(row.last):
        raise_alert(
            conn,
            station,
            "waybills_exhausted",
            f"carrier {carrier} has no waybill numbers left to grant; load a new range",
            {"carrier": carrier},
            dedupe=True,
        )
        return None
    last = min(first + size - 1, int(row.last))
    now = utc_now()
    conn.execute(
        update(waybill_ranges)
        .where(waybill_ranges.c.tenant == tenant, waybill_ranges.c.carrier == carrier)
        .values(next=last + 1, updated_at=now)
    )
    block_id = conn.execute(
        waybill_blocks.insert()
        .values(
            tenant=tenant,
            carrier=carrier,
            station=station,
            first=first,
            last=last,
            used=0,
            granted_at=now,
        )
        .returning(waybill_blocks.c.id)
    ).scalar_one()
    block = {
        "block_id": int(block_id),
        "carrier": carrier,
        "prefix": row.prefix,
        "suffix": row.suffix,
        "width": int(row.width),
        "scheme": row.scheme,
        "first": first,
        "last": last,
    }
    enqueue_dn(conn, station, WAYBILL_POOL, block)
    log.info("granted %s waybills %d..%d to %s", carrier, first, last, station)
    return block


def top_up(
    conn: Connection, tenant: str, station: str, carrier: str, low_water: int, size: int
) -> dict[str, Any] | None:
    """Grant a block when the station has fewer than ``low_water`` unused numbers."""
    if unused(conn, station, carrier) >= max(low_water, 1):
        return None
    return grant_block(conn, tenant, station, carrier, size)


def record_used(conn: Connection, station: str, block_id: int, serial: int) -> str | None:
    """The station printed ``serial`` of its block: count it used (numbers are taken in
    order, so everything up to it is used). Returns the carrier, or None when the block
    is not this station's or the serial lies outside it."""
    row = conn.execute(
        select(waybill_blocks).where(
            waybill_blocks.c.id == block_id, waybill_blocks.c.station == station
        )
    ).first()
    if row is None or not int(row.first) <= serial <= int(row.last):
        return None
    used = serial - int(row.first) + 1
    conn.execute(
        update(waybill_blocks)
        .where(waybill_blocks.c.id == block_id, waybill_blocks.c.used < used)
        .values(used=used)
    )
    return str(row.carrier)


def blocks(conn: Connection, station: str) -> list[dict[str, Any]]:
    """The station's blocks with how much of each it used."""
    return [
        dict(r)
        for r in conn.execute(
            select(waybill_blocks)
            .where(waybill_blocks.c.station == station)
            .order_by(waybill_blocks.c.id)
        ).mappings()
    ]


def top_up_all(conn: Connection, low_water: int, size: int) -> int:
    """Grant a new block to every station running low on a carrier it already uses;
    returns how many blocks were granted."""
    remaining = func.sum(waybill_blocks.c.last - waybill_blocks.c.first + 1 - waybill_blocks.c.used)
    low = conn.execute(
        select(waybill_blocks.c.tenant, waybill_blocks.c.station, waybill_blocks.c.carrier)
        .group_by(waybill_blocks.c.tenant, waybill_blocks.c.station, waybill_blocks.c.carrier)
        .having(remaining < max(low_water, 1))
        .order_by(waybill_blocks.c.station, waybill_blocks.c.carrier)
    ).all()
    granted = 0
    for tenant, station, carrier in low:
        if grant_block(conn, tenant, station, carrier, size) is not None:
            granted += 1
    return granted
