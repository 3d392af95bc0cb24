"""Cart totals: coupon, loyalty points and tax, checked at the station. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Rules:
    """The store's pricing rules (from ``[kiosk]`` in the config)."""

    tax_rate: Decimal = Decimal("0.13")
    prices_include_tax: bool = True
    point_value: Decimal = Decimal("0.01")
    points_per_yuan: int = 1
    max_points_share: Decimal = Decimal("0.5")


@dataclass(frozen=True)
class CouponCheck:
    """``reason`` is ``ok``, ``unknown``, ``not_yet_valid``, ``expired``, ``used_up`` or
    ``min_spend``; ``detail`` is the date, amount or percentage the message needs."""

    code: str
    ok: bool
    reason: str
    detail: str = ""
    discount: Decimal = Decimal("0")


@dataclass
class Quote:
    subtotal: Decimal
    discount: Decimal = Decimal("0")
    points_used: int = 0
    points_discount: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    earn: int = 0
    coupon: CouponCheck | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "subtotal": money(self.subtotal),
            "discount": money(self.discount),
            "points_discount": money(self.points_discount),
            "tax": money(self.tax),
            "total": money(self.total),
        }


def _until(stamp: str) -> str:
    """A date-only end of validity means the end of that day."""
    return stamp + "T23:59:59.999Z" if len(stamp) == 10 else stamp


def check_coupon(
    coupon: dict[str, Any] | None, code: str, subtotal: Decimal, now: str
) -> CouponCheck:
    """Does ``coupon`` (the stored row for ``code``, or None) apply to a cart of ``subtotal``?"""
    code = code.strip().upper()
    if coupon is None:
        return CouponCheck(code, False, "unknown")
    if coupon["valid_from"] and now < coupon["valid_from"]:
        return CouponCheck(code, False, "not_yet_valid", coupon["valid_from"][:10])
    if coupon["valid_until"] and now > _until(coupon["valid_until"]):
        return CouponCheck(code, False, "expired", coupon["valid_until"][:10])
    if coupon["max_uses"] is not None and coupon["used"] >= coupon["max_uses"]:
        return CouponCheck(code, False, "used_up")
    min_spend = Decimal(coupon["min_spend"])
    if subtotal < min_spend:
        return CouponCheck(code, False, "min_spend", money(min_spend))
    value = Decimal(coupon["value"])
    if coupon["kind"] == "percent":
        off = (subtotal * value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        detail = format(value.normalize(), "f") + "%"
    else:
        off = min(value, subtotal)
        detail = money(value)
    return CouponCheck(code, True, "ok", detail, off)


def quote(
    lines: list[tuple[int, Decimal]],
    rules: Rules,
    *,
    coupon: CouponCheck | None = None,
    points_balance: int = 0,
    points_wanted: int = 0,
) -> Quote:
    """Totals for ``lines`` of (qty, unit price): coupon first, then points, then tax."""
    subtotal = sum((Decimal(qty) * price for qty, price in lines), Decimal("0"))
    q = Quote(subtotal=subtotal, coupon=coupon)
    q.discount = coupon.discount if coupon and coupon.ok else Decimal("0")
    after_coupon = subtotal - q.discount
    most_points = int(
        (after_coupon * rules.max_points_share / rules.point_value).to_integral_value(ROUND_DOWN)
    )
    q.points_used = max(0, min(points_wanted, points_balance, most_points))
    q.points_discount = (q.points_used * rules.point_value).quantize(CENT)
    net = after_coupon - q.points_discount
    if rules.prices_include_tax:
        q.tax = (net - net / (1 + rules.tax_rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        q.total = net
    else:
        q.tax = (net * rules.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        q.total = net + q.tax
    q.earn = int(q.total.to_integral_value(ROUND_DOWN)) * rules.points_per_yuan
    return q
