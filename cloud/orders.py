"""Orders at the hub: the station's orders mirrored with the same id and number, each with
its timeline; orders from other channels share the table.

An order reads as the station sent it (``data``: lines, customer, totals…) with the hub's
columns on top: ``{"id", "number", "status", "station", "channel", "total", "lines",
"timeline": [{"at", "status", "note", "source"}], …}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from cloud.errors import NotFound
from cloud.schema import order_timeline, orders


def _assemble(conn: Connection, row: Any) -> dict[str, Any]:
    timeline = [
        {k: v for k, v in t.items() if v is not None}
        for t in conn.execute(
            select(
                order_timeline.c.at,
                order_timeline.c.status,
                order_timeline.c.note,
                order_timeline.c.source,
                order_timeline.c.data,
            )
            .where(order_timeline.c.order_id == row["id"])
            .order_by(order_timeline.c.id)
        ).mappings()
    ]
    return {
        **row["data"],
        "id": row["id"],
        "tenant": row["tenant"],
        "number": row["number"],
        "station": row["station"],
        "channel": row["channel"],
        "status": row["status"],
        "total": row["total"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "timeline": timeline,
    }


def get_order(conn: Connection, order_id: str) -> dict[str, Any]:
    found = conn.execute(select(orders).where(orders.c.id == order_id)).mappings().first()
    if found is None:
        raise NotFound(f"no order with id {order_id}")
    return _assemble(conn, found)


def by_number(conn: Connection, number: str) -> dict[str, Any] | None:
    found = conn.execute(select(orders).where(orders.c.number == number)).mappings().first()
    return _assemble(conn, found) if found else None


def find_orders(
    conn: Connection,
    *,
    tenant: str | None = None,
    status: str | None = None,
    station: str | None = None,
    channel: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Orders, oldest first, filtered by any of tenant, status, station and channel."""
    query = select(orders)
    for column, value in (
        (orders.c.tenant, tenant),
        (orders.c.status, status),
        (orders.c.station, station),
        (orders.c.channel, channel),
    ):
        if value is not None:
            query = query.where(column == value)
    rows = conn.execute(query.order_by(orders.c.created_at, orders.c.number).limit(limit))
    return [_assemble(conn, r) for r in rows.mappings()]


def by_idempotency_key(conn: Connection, key: str) -> dict[str, Any] | None:
    found = conn.execute(select(orders).where(orders.c.idempotency_key == key)).mappings().first()
    return _assemble(conn, found) if found else None


def insert(
    conn: Connection,
    tenant: str,
    order: dict[str, Any],
    at: str,
    *,
    idempotency_key: str | None = None,
) -> None:
    """Insert an order as given (``id``, ``number``, ``status``, ``channel``, ``total``…);
    an order from the hub's API keeps its ``Idempotency-Key`` (unique)."""
    data = {k: v for k, v in order.items() if k != "timeline"}
    conn.execute(
        orders.insert().values(
            id=order["id"],
            tenant=tenant,
            number=order["number"],
            station=order.get("station"),
            channel=order["channel"],
            status=order["status"],
            total=str(order.get("total", "0.00")),
            external_id=order.get("external_id"),
            idempotency_key=idempotency_key,
            data=data,
            created_at=order.get("created_at") or at,
            updated_at=order.get("updated_at") or at,
        )
    )


def add_timeline(
    conn: Connection,
    order_id: str,
    at: str,
    status: str,
    note: str,
    source: str,
    data: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        order_timeline.insert().values(
            order_id=order_id, at=at, status=status, note=note, source=source, data=data
        )
    )
