"""The exception queue: channel orders held by a check, waiting for a person.

Each held order has one open row per reason (``order_exceptions``). A person either
releases it (:func:`release`: the reasons they saw are waived, every other check runs
again, and a clean order is allocated) or cancels it (:func:`cancel`). The decision, who
made it, when and why are kept on the exception rows and as a timeline entry.

These functions take a connection inside the caller's transaction; the API
(``cloud/web/orders_api.py``) and the dashboard call them the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Connection, select, update

from cloud import allocation, checks
from cloud.config import HubConfig
from cloud.errors import HubError, InvalidInput, NotFound
from cloud.orders import add_timeline
from cloud.schema import orders
from cloud.schema_intake import order_exceptions
from cloud.text import clean

log = logging.getLogger(__name__)

HELD = "exception"


class NotHeld(HubError):
    """The order is not waiting in the exception queue (already decided, or never held)."""


def list_queue(
    conn: Connection, tenant: str, kind: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Held orders of a tenant, oldest first, each with its open reasons:
    ``[{"id", "number", "channel", "external_id", "customer", "address", "total",
    "created_at", "reasons": [{"reason", "message", "raised_at"}]}]``. ``kind`` keeps only
    orders held for that reason code."""
    if kind is not None and kind not in checks.REASONS:
        raise InvalidInput(f"unknown reason {kind!r}; one of {', '.join(checks.REASONS)}")
    query = (
        select(orders)
        .where(orders.c.tenant == tenant, orders.c.status == HELD)
        .order_by(orders.c.created_at, orders.c.number)
        .limit(limit)
    )
    if kind is not None:
        query = query.where(
            orders.c.id.in_(
                select(order_exceptions.c.order_id).where(
                    order_exceptions.c.reason == kind, order_exceptions.c.decision.is_(None)
                )
            )
        )
    found = conn.execute(query).mappings().all()
    reasons: dict[str, list[dict[str, Any]]] = {r["id"]: [] for r in found}
    if found:
        for row in conn.execute(
            select(order_exceptions)
            .where(order_exceptions.c.order_id.in_(list(reasons)))
            .where(order_exceptions.c.decision.is_(None))
            .order_by(order_exceptions.c.id)
        ).mappings():
            reasons[row["order_id"]].append(
                {"reason": row["reason"], "message": row["message"], "raised_at": row["raised_at"]}
            )
    return [
        {
            "id": r["id"],
            "number": r["number"],
            "channel": r["channel"],
            "external_id": r["external_id"],
            "customer": r["data"].get("customer"),
            "address": r["data"].get("address"),
            "total": r["total"],
            "created_at": r["created_at"],
            "reasons": reasons[r["id"]],
        }
        for r in found
    ]


def decisions(conn: Connection, order_id: str) -> list[dict[str, Any]]:
    """Every reason an order was ever held for, with the decision taken on it."""
    rows = conn.execute(
        select(order_exceptions)
        .where(order_exceptions.c.order_id == order_id)
        .order_by(order_exceptions.c.id)
    ).mappings()
    return [{k: v for k, v in r.items() if k not in {"id", "tenant", "order_id"}} for r in rows]


def _held(conn: Connection, order_id: str) -> dict[str, Any]:
    row = (
        conn.execute(select(orders).where(orders.c.id == order_id).with_for_update())
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no order with id {order_id}")
    if row["status"] != HELD:
        raise NotHeld(f"order {row['number']} is {row['status']}, not waiting for a decision")
    return dict(row)


def _decide(
    conn: Connection, order_id: str, decision: str, by: str, note: str, at: str
) -> list[str]:
    """Close every open reason with the decision; returns the reason codes closed."""
    codes = [
        r[0]
        for r in conn.execute(
            select(order_exceptions.c.reason).where(
                order_exceptions.c.order_id == order_id, order_exceptions.c.decision.is_(None)
            )
        )
    ]
    conn.execute(
        update(order_exceptions)
        .where(order_exceptions.c.order_id == order_id, order_exceptions.c.decision.is_(None))
        .values(decision=decision, decided_by=by, decided_at=at, note=note)
    )
    return codes


def _who(by: str | None, note: str | None) -> tuple[str, str]:
    if not isinstance(by, str) or not by.strip() or len(by) > 100 or not by.isprintable():
        raise InvalidInput("say who decided ('by': a name of at most 100 characters)")
    if note is not None and not isinstance(note, str):
        raise InvalidInput("'note' must be text")
    return by.strip(), clean(note or "", 1000)


def release(
    conn: Connection,
    config: HubConfig,
    order_id: str,
    by: str | None,
    note: str | None,
    at: str,
) -> dict[str, Any]:
    """Release a held order: its open reasons are waived, the other checks run again on
    today's catalog and stock, and a clean order becomes ``checked`` and is allocated.
    A check that fails now holds it again with the new reason. Returns
    ``{"status", "waived", "reasons"}``."""
    by, note = _who(by, note)
    order = _held(conn, order_id)
    waived = _decide(conn, order_id, "released", by, note, at)
    add_timeline(
        conn,
        order_id,
        at,
        "released",
        f"released by {by}" + (f": {note}" if note else ""),
        "person",
        {"by": by, "waived": waived},
    )
    data = order["data"]
    draft = {
        "channel": order["channel"],
        "external_id": order["external_id"],
        "customer": data["customer"],
        "address": data["address"],
        "lines": [{"sku": l["sku"], "qty": l["qty"]} for l in data["lines"]],
        "payment_status": data.get("payment_status", checks.PAID),
    }
    draft["fingerprint"] = checks.fingerprint(draft)
    ctx = checks.context_for(
        conn, order["tenant"], [draft], at, config.intake.duplicate_window_s, exclude=[order_id]
    )
    [address] = checks.parse_addresses([draft["address"]])
    findings = [
        f for f in checks.run_all(draft, address, ctx, config.intake) if f.reason not in waived
    ]
    if findings:
        conn.execute(
            order_exceptions.insert(),
            [
                {
                    "order_id": order_id,
                    "tenant": order["tenant"],
                    "reason": f.reason,
                    "message": f.message,
                    "raised_at": at,
                }
                for f in findings
            ],
        )
        add_timeline(
            conn,
            order_id,
            at,
            HELD,
            "; ".join(f.message for f in findings),
            "hub",
            {"reasons": [f.reason for f in findings]},
        )
        return {"status": HELD, "waived": waived, "reasons": [f.reason for f in findings]}
    _set_status(conn, order_id, "checked", at)
    add_timeline(conn, order_id, at, "checked", "checked after release", "hub")
    log.info("order %s released by %s", order["number"], by)
    allocation.allocate(conn, config, order_id, at)
    status = conn.execute(select(orders.c.status).where(orders.c.id == order_id)).scalar_one()
    return {"status": status, "waived": waived, "reasons": []}


def cancel(
    conn: Connection, order_id: str, by: str | None, note: str | None, at: str
) -> dict[str, Any]:
    """Cancel a held order; returns ``{"status": "cancelled", "reasons"}``."""
    by, note = _who(by, note)
    order = _held(conn, order_id)
    reasons = _decide(conn, order_id, "cancelled", by, note, at)
    _set_status(conn, order_id, "cancelled", at)
    add_timeline(
        conn,
        order_id,
        at,
        "cancelled",
        f"cancelled by {by}" + (f": {note}" if note else ""),
        "person",
        {"by": by, "reasons": reasons},
    )
    log.info("order %s cancelled by %s", order["number"], by)
    return {"status": "cancelled", "reasons": reasons}


def _set_status(conn: Connection, order_id: str, status: str, at: str) -> None:
    conn.execute(update(orders).where(orders.c.id == order_id).values(status=status, updated_at=at))
