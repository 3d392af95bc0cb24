"""Shared set-up for allocation tests: stations in stores with regions, stock, carriers
and checked orders inserted as order intake leaves them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Engine, select

from cloud import allocation, carriers, orders, registry, stock
from cloud.db import transaction
from cloud.schema import dn_outbox
from edge.protocol import utc_now

TENANT = "acme"

CARRIERS: list[dict[str, Any]] = [
    {
        "code": "SF",
        "name": "SF Express",
        "service_levels": ["next_day", "standard"],
        "zones": {"广东": "GD-01", "上海": "SH-02", "*": "CN-09"},
        "rates": {
            "GD-01": {"first_kg": "12.00", "extra_kg": "2.00"},
            "SH-02": {"first_kg": "14.00", "extra_kg": "3.00"},
            "CN-09": {"first_kg": "20.00", "extra_kg": "6.00"},
        },
        "waybills": {"prefix": "SF", "width": 10, "scheme": "mod7", "first": 1, "last": 1000},
    },
    {
        "code": "EMS",
        "name": "China Post EMS",
        "service_levels": ["standard", "scheduled"],
        "zones": {"广东": "GD-03", "上海": "SH-03"},
        "rates": {
            "GD-03": {"first_kg": "8.00", "extra_kg": "2.00"},
            "SH-03": {"first_kg": "9.00", "extra_kg": "2.00"},
        },
        "waybills": {
            "prefix": "EE",
            "suffix": "CN",
            "width": 8,
            "scheme": "s10",
            "first": 47326980,
            "last": 47327999,
        },
    },
]


def online(conn: Connection, station: str, store: str, session: int = 1) -> None:
    registry.on_presence(
        conn, TENANT, station, {"online": True, "session": session, "store": store}
    )


def offline(conn: Connection, station: str, session: int = 1) -> None:
    registry.on_presence(conn, TENANT, station, {"online": False, "session": session})


def shop(engine: Engine, *, with_carriers: bool = True) -> None:
    """gz-1 and gz-2 in store gz (广东 广州), sh-1 in store sh (上海); 20 of SKU-1 and
    SKU-2 in each store."""
    with transaction(engine) as conn:
        allocation.set_store(conn, TENANT, "gz", "广东省", "广州市")
        allocation.set_store(conn, TENANT, "sh", "上海市", "上海市")
        for station, store in (("gz-1", "gz"), ("gz-2", "gz"), ("sh-1", "sh")):
            online(conn, station, store)
        for store in ("gz", "sh"):
            for sku in ("SKU-1", "SKU-2"):
                stock.receive(conn, TENANT, store, sku, 20, "po")
        if with_carriers:
            carriers.replace_all(conn, TENANT, CARRIERS)


def checked_order(
    conn: Connection,
    *,
    province: str = "广东省",
    city: str = "广州市",
    lines: list[dict[str, Any]] | None = None,
    service_level: str = "standard",
    created_at: str | None = None,
) -> str:
    order_id = uuid.uuid4().hex
    orders.insert(
        conn,
        TENANT,
        {
            "id": order_id,
            "number": f"HB{order_id[:10].upper()}",
            "channel": "web",
            "status": "checked",
            "total": "30.00",
            "customer": {"name": "王伟", "phone": "13800000000"},
            "address": f"{province}{city}天河区体育西路1号",
            "address_parts": {"province": province, "city": city, "district": "天河区"},
            "service_level": service_level,
            "payment_status": "paid",
            "lines": lines or [{"sku": "SKU-1", "qty": 2, "name": "笔记本", "price": "15.00"}],
            "created_at": created_at or utc_now(),
        },
        created_at or utc_now(),
    )
    return order_id


def dn_kinds(conn: Connection, station: str) -> list[str]:
    return list(
        conn.execute(
            select(dn_outbox.c.kind).where(dn_outbox.c.station == station).order_by(dn_outbox.c.seq)
        ).scalars()
    )
