"""Returns at the hub: a return request by order number (API or a station's kiosk) becomes
a return ticket; the station that packed the order inspects the goods and restocks what
it accepts, which reaches the hub's ledger as ``return`` stock movements.

Statuses: ``requested`` → ``restocked`` (some units accepted) or ``rejected`` (none)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select, update

from cloud.errors import InvalidInput, NotFound
from cloud.orders import add_timeline
from cloud.outbox import enqueue_dn
from cloud.schema import orders
from cloud.schema_allocation import returns
from cloud.text import clean
from edge.protocol import RETURN_EXPECTED, utc_now

RETURNABLE = frozenset({"packed", "shipped", "delivered"})


def _view(row: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items()}


def get_return(conn: Connection, return_id: str) -> dict[str, Any]:
    row = conn.execute(select(returns).where(returns.c.id == return_id)).mappings().first()
    if row is None:
        raise NotFound(f"no return {return_id}")
    return _view(row)


def of_order(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(returns).where(returns.c.order_id == order_id).order_by(returns.c.created_at)
    ).mappings()
    return [_view(r) for r in rows]


def request(conn: Connection, order_id: str, reason: str, source: str = "api") -> dict[str, Any]:
    """Open a return for every unit of a packed or shipped order; the station that
    packed it is told (``return.expected``) so staff can inspect it there. An order with
    a return still open gets that one back."""
    if not isinstance(reason, str) or len(reason) > 300:
        raise InvalidInput("'reason' must be a string of at most 300 characters")
    reason = clean(reason, 300)
    order = conn.execute(select(orders).where(orders.c.id == order_id).with_for_update()).first()
    if order is None:
        raise NotFound(f"no order with id {order_id}")
    if order.status not in RETURNABLE:
        raise InvalidInput(
            f"order {order.number} is {order.status}; only packed or shipped orders can be returned"
        )
    if order.station is None:
        raise InvalidInput(f"order {order.number} has no station to take the return")
    for existing in of_order(conn, order_id):
        if existing["status"] == "requested":
            return existing
    lines = [
        {"sku": l["sku"], "qty": int(l["qty"])}
        for l in order.data.get("lines") or []
        if isinstance(l, dict) and isinstance(l.get("sku"), str) and isinstance(l.get("qty"), int)
    ]
    if not lines:
        raise InvalidInput(f"order {order.number} has no lines to return")
    return_id = uuid.uuid4().hex
    record = {
        "id": return_id,
        "number": f"RT{return_id[:10].upper()}",
        "order_id": order_id,
        "order_number": order.number,
        "lines": lines,
        "reason": reason,
    }
    _insert(conn, order.tenant, order.station, record, source)
    enqueue_dn(conn, order.station, RETURN_EXPECTED, {"return": record})
    return get_return(conn, return_id)


def _insert(
    conn: Connection, tenant: str, station: str, record: dict[str, Any], source: str
) -> None:
    now = utc_now()
    conn.execute(
        returns.insert().values(
            id=record["id"],
            tenant=tenant,
            number=record["number"],
            order_id=record["order_id"],
            station=station,
            status="requested",
            lines=record["lines"],
            reason=record.get("reason", ""),
            source=source,
            created_at=now,
            updated_at=now,
        )
    )
    add_timeline(
        conn, record["order_id"], now, "return_requested", f"return {record['number']}", source
    )


def station_requested(conn: Connection, tenant: str, station: str, record: dict[str, Any]) -> None:
    """A return ticket printed at a station's kiosk (``return.requested``)."""
    found = conn.execute(select(returns.c.id).where(returns.c.id == record["id"])).first()
    if found is None:
        _insert(conn, tenant, station, record, f"kiosk {station}")


def inspected(
    conn: Connection, station: str, return_id: str, status: str, restocked: dict[str, int]
) -> bool:
    """The station inspected the return; False when it is not this station's."""
    row = conn.execute(
        select(returns).where(returns.c.id == return_id, returns.c.station == station)
    ).first()
    if row is None:
        return False
    now = utc_now()
    conn.execute(
        update(returns).where(returns.c.id == return_id).values(status=status, updated_at=now)
    )
    units = ", ".join(f"{sku}×{qty}" for sku, qty in sorted(restocked.items())) or "nothing"
    add_timeline(
        conn,
        row.order_id,
        now,
        f"return_{status}",
        f"return {row.number}: restocked {units}",
        station,
    )
    return True
