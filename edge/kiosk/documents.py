"""Print payloads (ticket, shipping label, pick list) built from orders.

The spooler renders these dictionaries when it sends a job, so a job can be reprinted or
previewed from the database alone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from edge.config import StationConfig
from edge.protocol import utc_now


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def ticket(
    config: StationConfig, order: dict[str, Any], base_url: str, language: str | None = None
) -> dict[str, Any]:
    """The ticket of ``order``, in ``language`` (default: the station's)."""
    lines = [
        {
            "sku": l["sku"],
            "name": l["name"],
            "name_en": l.get("name_en", ""),
            "qty": l["qty"],
            "unit_price": l["unit_price"],
            "total": _money(Decimal(l["unit_price"]) * l["qty"]),
        }
        for l in order["lines"]
    ]
    subtotal = Decimal(order.get("subtotal") or "0") or sum(
        (Decimal(l["total"]) for l in lines), Decimal("0")
    )
    total = Decimal(order["total"])
    discount = Decimal(order.get("discount") or "0") + Decimal(order.get("points_discount") or "0")
    language = language if language in ("zh-CN", "en") else config.station.language
    zh = language == "zh-CN"
    if order["paid"]:
        instructions = "已付款，请在取货处出示本票。" if zh else "Paid. Show this ticket at pickup."
    else:
        instructions = (
            "请到收银台付款并出示本票。"
            if zh
            else "Please pay at the counter and show this ticket."
        )
    return {
        "store_name": config.station.store_name or config.station.store,
        "order_number": order["number"],
        "order_id": order["id"],
        "created_at": order["created_at"],
        "lines": lines,
        "subtotal": _money(subtotal),
        "discount": _money(discount),
        "tax": order.get("tax") or "0.00",
        "total": _money(total),
        "currency": config.station.currency,
        "payment": order["payment"],
        "paid": bool(order["paid"]),
        "instructions": instructions,
        "status_url": f"{base_url.rstrip('/')}/o/{order['number']}",
        "language": language,
    }


def shipping_label(config: StationConfig, order: dict[str, Any]) -> dict[str, Any]:
    items = ", ".join(f"{l['name']}×{l['qty']}" for l in order["lines"])
    carrier = order.get("carrier") or ""
    return {
        "order_number": order["number"],
        "carrier": {"name": carrier or "—", "code": carrier.upper()[:8]},
        "service_level": order.get("service_level") or "standard",
        "tracking_number": order.get("tracking_number") or order["number"],
        "sort_code": order.get("sort_code") or "",
        "sender": {
            "name": config.station.store_name or config.station.store,
            "phone": config.station.sender_phone,
            "address": config.station.sender_address,
        },
        "recipient": {
            "name": order.get("customer_name", ""),
            "phone": order.get("phone", ""),
            "address": order.get("address", ""),
        },
        "weight_kg": None,
        "items": items[:200],
        "created_at": utc_now(),
    }


def pick_list(
    config: StationConfig, batch_id: str, orders: list[dict[str, Any]], bins: dict[str, str]
) -> dict[str, Any]:
    """Lines of every order in the batch; the renderer sorts them in pick-path order."""
    return {
        "batch_id": batch_id,
        "created_at": utc_now(),
        "station": config.station.id,
        "orders": [{"number": o["number"], "id": o["id"]} for o in orders],
        "lines": [
            {
                "bin": bins.get(l["sku"], ""),
                "sku": l["sku"],
                "name": l["name"],
                "qty": l["qty"],
                "order_number": o["number"],
            }
            for o in orders
            for l in o["lines"]
        ],
    }
