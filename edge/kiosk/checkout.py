"""Self-ordering: price a cart against the station's catalog, stock, coupons and points, and
place it as one order.

A card payment is taken *before* the order transaction and the cart is priced again inside
it; if anything changed meanwhile the charge is voided. So a declined, timed-out or voided
payment never leaves a half order, and an order never exists without its stock, coupon,
points and ticket.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from edge.config import KioskSection
from edge.kiosk import pricing
from edge.protocol import utc_now
from edge.store import catalog, coupons, loyalty, orders, recommendations, stock

PHONE = re.compile(r"^1\d{10}$")
MAX_QTY = 999
MAX_LINES = 100


class CartError(Exception):
    """The cart cannot be ordered as it is; ``status`` and ``code`` for the API answer."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class Cart:
    lines: tuple[tuple[str, int], ...]
    coupon: str | None = None
    member: str | None = None
    points: int = 0


def parse_cart(body: dict[str, Any]) -> Cart:
    """A cart from a request body; lines of the same SKU are merged."""
    raw = body.get("lines")
    if not isinstance(raw, list) or not raw:
        raise CartError(400, "bad_request", "'lines' must be a non-empty list")
    if len(raw) > MAX_LINES:
        raise CartError(400, "bad_request", f"at most {MAX_LINES} lines")
    merged: dict[str, int] = {}
    for i, line in enumerate(raw):
        if not isinstance(line, dict):
            raise CartError(400, "bad_request", f"lines[{i}] must be an object")
        sku, qty = line.get("sku"), line.get("qty")
        if not isinstance(sku, str) or not sku or len(sku) > 64:
            raise CartError(400, "bad_request", f"lines[{i}].sku must be a SKU string")
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QTY:
            raise CartError(400, "bad_quantity", f"lines[{i}].qty must be 1..{MAX_QTY}")
        merged[sku] = merged.get(sku, 0) + qty
        if merged[sku] > MAX_QTY:
            raise CartError(400, "bad_quantity", f"at most {MAX_QTY} of {sku}")
    coupon, member, points = body.get("coupon"), body.get("member"), body.get("points", 0)
    if coupon is not None and (not isinstance(coupon, str) or len(coupon) > 32):
        raise CartError(400, "bad_request", "'coupon' must be a code")
    if member is not None and (not isinstance(member, str) or not PHONE.match(member)):
        raise CartError(400, "bad_member", "'member' must be an 11-digit mobile number")
    if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 10**7:
        raise CartError(400, "bad_request", "'points' must be a whole number ≥ 0")
    return Cart(tuple(merged.items()), coupon.strip() or None if coupon else None, member, points)


def rules(settings: KioskSection) -> pricing.Rules:
    return pricing.Rules(
        tax_rate=settings.tax_rate,
        prices_include_tax=settings.prices_include_tax,
        point_value=settings.point_value,
        points_per_yuan=settings.points_per_yuan,
        max_points_share=settings.max_points_share,
    )


@dataclass
class Priced:
    """A cart priced against the store: lines with products, the quote, and what blocks it."""

    lines: list[dict[str, Any]]
    quote: pricing.Quote
    problems: list[dict[str, Any]] = field(default_factory=list)
    member: dict[str, Any] | None = None

    @property
    def orderable(self) -> bool:
        return not self.problems and not (self.quote.coupon and not self.quote.coupon.ok)


def price(conn: sqlite3.Connection, cart: Cart, settings: KioskSection) -> Priced:
    lines, problems = [], []
    found = catalog.priced(conn, [sku for sku, _ in cart.lines])
    for sku, qty in cart.lines:
        product = found.get(sku)
        if product is None:
            problems.append(
                {
                    "sku": sku,
                    "code": "unknown_sku",
                    "message": f"unknown SKU {sku}",
                    "sellable": 0,
                    "alternatives": [],
                }
            )
            continue
        sellable = product["sellable"]
        unit = Decimal(product["price"])
        lines.append(
            {
                "sku": sku,
                "name": product["name"],
                "name_en": product["name_en"],
                "qty": qty,
                "unit_price": pricing.money(unit),
                "total": pricing.money(unit * qty),
                "sellable": sellable,
                "ok": qty <= sellable,
            }
        )
        if qty > sellable:
            problems.append(
                {
                    "sku": sku,
                    "code": "insufficient_stock",
                    "message": f"only {max(sellable, 0)} of {sku} left",
                    "sellable": max(sellable, 0),
                    "alternatives": alternatives(conn, product, qty),
                }
            )
    subtotal = sum((Decimal(l["unit_price"]) * l["qty"] for l in lines), Decimal("0"))
    check = None
    if cart.coupon:
        check = pricing.check_coupon(
            coupons.get(conn, cart.coupon), cart.coupon, subtotal, utc_now()
        )
    balance = loyalty.balance(conn, cart.member) if cart.member else 0
    quote = pricing.quote(
        [(l["qty"], Decimal(l["unit_price"])) for l in lines],
        rules(settings),
        coupon=check,
        points_balance=balance,
        points_wanted=cart.points,
    )
    member = None
    if cart.member:
        member = {
            "phone": cart.member,
            "balance": balance,
            "redeem": quote.points_used,
            "earn": quote.earn,
        }
    return Priced(lines, quote, problems, member)


def alternatives(
    conn: sqlite3.Connection, product: dict[str, Any], qty: int, limit: int = 3
) -> list[dict[str, Any]]:
    """In-stock products of the same category: those with ``qty`` on hand first, then the
    closest in price."""
    price_of = Decimal(product["price"])
    same = [
        p
        for p in catalog.search(conn, "", limit=200, category=product["category"])
        if p["sku"] != product["sku"] and p["sellable"] > 0
    ]
    same.sort(key=lambda p: (p["sellable"] < qty, abs(Decimal(p["price"]) - price_of)))
    return same[:limit]


def suggestions(conn: sqlite3.Connection, cart: Cart, limit: int = 4) -> list[dict[str, Any]]:
    """ "Often bought together" with the cart, in stock."""
    skus = [sku for sku, _ in cart.lines]
    found = []
    for sku in recommendations.bought_with(conn, skus, limit * 2):
        product = catalog.get(conn, sku)
        if product and stock.sellable(conn, sku) > 0:
            found.append({**product, "sellable": stock.sellable(conn, sku)})
    return found[:limit]


class InFlight:
    """Checkout keys whose card payment is under way, so a double tap never charges twice."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, key: str) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._keys.discard(key)


def problem(priced: Priced) -> CartError:
    """Why a priced cart cannot be ordered, as the API answers it."""
    if priced.problems:
        first = priced.problems[0]
        status = 409 if first["code"] == "insufficient_stock" else 422
        return CartError(status, first["code"], first["message"])
    coupon = priced.quote.coupon
    if coupon is None:
        return CartError(422, "not_orderable", "the cart cannot be ordered")
    return CartError(
        422, "coupon_invalid", f"coupon {coupon.code}: {coupon.reason} {coupon.detail}".strip()
    )


def commit_order(
    conn: sqlite3.Connection,
    *,
    station: str,
    cart: Cart,
    priced: Priced,
    payment: str,
    key: str,
    charge_ref: str | None,
) -> dict[str, Any]:
    """Write the order and everything it takes, in the caller's transaction."""
    quote = priced.quote
    paid = charge_ref is not None
    order = orders.create(
        conn,
        station=station,
        channel="kiosk",
        lines=priced.lines,
        status="open" if paid else "pending_payment",
        payment=payment,
        paid=1 if paid else 0,
        fulfilment="pickup",
        idempotency_key=key,
        total=pricing.money(quote.total),
        discount=pricing.money(quote.discount),
        points_discount=pricing.money(quote.points_discount),
        tax=pricing.money(quote.tax),
        coupon=quote.coupon.code if quote.coupon and quote.coupon.ok else None,
        member=cart.member,
        payment_ref=charge_ref,
    )
    stock.sell(conn, cart.lines, order["id"])
    if order["coupon"]:
        coupons.redeem(conn, order["coupon"], order["id"])
    if cart.member:
        if quote.points_used:
            loyalty.move(conn, cart.member, -quote.points_used, "redeemed", order["id"])
        if quote.earn:
            loyalty.move(conn, cart.member, quote.earn, "earned", order["id"])
    return order
