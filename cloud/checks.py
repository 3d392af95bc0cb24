"""The checks a channel order passes before it is allocated; each failing check holds the
order in the exception queue with a reason code.

Every rule is a small function returning a :class:`Finding` (reason code + message) or
None. Rules that need the database take what they need as arguments, looked up once per
batch by :func:`context_for`, so an import of thousands of orders costs a few queries per
batch rather than per order. Reason codes (see ``docs/intake.md``):

``address_incomplete``, ``address_inconsistent``, ``phone_invalid``, ``unknown_sku``,
``insufficient_stock``, ``duplicate_order``, ``high_value``, ``unpaid``.

Addresses are parsed with ``cpca`` (province / city / district from China's administrative
division codes); phone numbers with ``phonenumbers`` (Google's libphonenumber metadata).
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
from sqlalchemy import Connection, func, select

from cloud.config import IntakeSection
from cloud.schema import products, stock_items
from cloud.schema_intake import order_fingerprints
from edge.protocol import format_time

REASONS = (
    "address_incomplete",
    "address_inconsistent",
    "phone_invalid",
    "unknown_sku",
    "insufficient_stock",
    "duplicate_order",
    "high_value",
    "unpaid",
)
PAID = "paid"


@dataclass(frozen=True)
class Finding:
    reason: str
    message: str


@dataclass(frozen=True)
class Address:
    """An address split into province / city / district and the rest (``street``);
    ``conflict`` names a level that contradicts the one before it."""

    province: str | None
    city: str | None
    district: str | None
    street: str
    adcode: str | None
    conflict: str | None = None

    def parts(self) -> dict[str, Any]:
        return {
            "province": self.province,
            "city": self.city,
            "district": self.district,
            "street": self.street,
            "adcode": self.adcode,
        }


@dataclass
class Context:
    """What the database-backed rules need for one batch of orders of one tenant."""

    prices: dict[str, Decimal] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    on_hand: dict[str, int] = field(default_factory=dict)
    recent: set[str] = field(default_factory=set)  # fingerprints seen within the window


def _text(value: Any) -> str | None:
    """cpca gives NaN or None for a missing level; keep real names only."""
    return value if isinstance(value, str) and value else None


@functools.cache
def _cpca() -> Any:
    """cpca, imported once (it loads its division table at import); newer setuptools
    warn that cpca's pkg_resources is deprecated, which is not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*pkg_resources", category=DeprecationWarning)
        import cpca
    return cpca


def parse_addresses(lines: Sequence[str]) -> list[Address]:
    """Parse many one-line addresses at once (cpca builds one table per call).

    A level that cpca cannot place under the one before it stops the parse there; the
    rest is parsed again on its own, and when it names another province or city the
    address is inconsistent (``广东省杭州市…``: Hangzhou is not in Guangdong)."""
    cpca = _cpca()
    if not lines:
        return []
    table = cpca.transform(list(lines))
    first = [
        (_text(r[0]), _text(r[1]), _text(r[2]), _text(r[3]) or "", _text(r[4]))
        for r in table.itertuples(index=False, name=None)
    ]
    partial = [i for i, f in enumerate(first) if f[0] and not (f[1] and f[2]) and f[3]]
    again = cpca.transform([first[i][3] for i in partial]) if partial else None
    rest = {
        i: (_text(r[0]), _text(r[1]))
        for i, r in zip(
            partial,
            again.itertuples(index=False, name=None) if again is not None else [],
            strict=True,
        )
    }
    out = []
    for i, (province, city, district, street, adcode) in enumerate(first):
        conflict = None
        if i in rest:
            other_province, other_city = rest[i]
            if other_province and other_province != province:
                conflict = f"{street[:20]} is not in {province}"
            elif other_city and city and other_city != city:
                conflict = f"{street[:20]} is not in {city}"
        out.append(Address(province, city, district, street, adcode, conflict))
    return out


def check_address(address: Address) -> Finding | None:
    if address.conflict:
        return Finding("address_inconsistent", f"address does not add up: {address.conflict}")
    missing = [
        name
        for name, value in (
            ("province", address.province),
            ("city", address.city),
            ("district", address.district),
        )
        if not value
    ]
    if missing:
        return Finding("address_incomplete", f"address has no {', '.join(missing)}")
    if not address.street.strip():
        return Finding("address_incomplete", "address has no street or house number")
    return None


def check_phone(phone: str) -> Finding | None:
    """A valid Chinese number (mobile or landline), or any valid number with its +code."""
    try:
        parsed = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        return Finding("phone_invalid", "phone number cannot be read")
    if not phonenumbers.is_valid_number(parsed):
        return Finding("phone_invalid", "phone number is not a valid number")
    return None


def check_skus(lines: Sequence[dict[str, Any]], ctx: Context) -> Finding | None:
    unknown = sorted({l["sku"] for l in lines if l["sku"] not in ctx.prices})
    if unknown:
        return Finding("unknown_sku", f"unknown SKU: {', '.join(unknown[:10])}")
    return None


def check_stock(lines: Sequence[dict[str, Any]], ctx: Context) -> Finding | None:
    wanted: dict[str, int] = {}
    for line in lines:
        if line["sku"] in ctx.prices:
            wanted[line["sku"]] = wanted.get(line["sku"], 0) + line["qty"]
    short = [
        f"{sku} (wanted {qty}, on hand {ctx.on_hand.get(sku, 0)})"
        for sku, qty in sorted(wanted.items())
        if qty > ctx.on_hand.get(sku, 0)
    ]
    if short:
        return Finding("insufficient_stock", f"not enough stock: {', '.join(short[:10])}")
    return None


def check_duplicate(fingerprint: str, ctx: Context) -> Finding | None:
    if fingerprint in ctx.recent:
        return Finding("duplicate_order", "same customer, address and lines as a recent order")
    return None


def check_value(total: Decimal, limit: Decimal) -> Finding | None:
    if total > limit:
        return Finding("high_value", f"order total {total} is above {limit}: review it")
    return None


def check_payment(payment_status: str, hold_unpaid: bool) -> Finding | None:
    if hold_unpaid and payment_status != PAID:
        return Finding("unpaid", f"payment status is {payment_status}: held until paid")
    return None


def fingerprint(draft: dict[str, Any]) -> str:
    """What makes two orders the same: customer name, phone, address and lines."""
    lines = sorted((l["sku"], l["qty"]) for l in draft["lines"])
    customer = draft["customer"]
    key = "\x1f".join(
        [
            customer["name"].strip(),
            "".join(ch for ch in customer["phone"] if ch.isdigit()),
            "".join(draft["address"].split()),
            ";".join(f"{sku}*{qty}" for sku, qty in lines),
        ]
    )
    return hashlib.sha256(key.encode()).hexdigest()


def context_for(
    conn: Connection,
    tenant: str,
    drafts: Iterable[dict[str, Any]],
    at: str,
    window_s: int,
    *,
    exclude: Sequence[str] = (),
) -> Context:
    """Catalog prices, on-hand stock and recent fingerprints for the SKUs and orders of
    a batch, in three queries; ``exclude`` names orders whose own fingerprint does not
    count (an order being re-checked)."""
    drafts = list(drafts)
    skus = sorted({l["sku"] for d in drafts for l in d["lines"]})
    ctx = Context()
    for chunk in _chunks(skus):
        for row in conn.execute(
            select(products.c.sku, products.c.price, products.c.name).where(
                products.c.tenant == tenant, products.c.sku.in_(chunk)
            )
        ):
            ctx.prices[row.sku] = Decimal(row.price)
            ctx.names[row.sku] = row.name
        totals = conn.execute(
            select(stock_items.c.sku, func.sum(stock_items.c.on_hand).label("total"))
            .where(stock_items.c.tenant == tenant, stock_items.c.sku.in_(chunk))
            .group_by(stock_items.c.sku)
        )
        ctx.on_hand.update({r.sku: int(r.total or 0) for r in totals})
    if window_s > 0:
        since = format_time(datetime.fromisoformat(at) - timedelta(seconds=window_s))
        prints = sorted({d["fingerprint"] for d in drafts})
        for chunk in _chunks(prints):
            query = select(order_fingerprints.c.fingerprint).where(
                order_fingerprints.c.tenant == tenant,
                order_fingerprints.c.fingerprint.in_(chunk),
                order_fingerprints.c.created_at >= since,
            )
            if exclude:  # an empty NOT IN renders as a predicate that defeats the index
                query = query.where(order_fingerprints.c.order_id.not_in(exclude))
            ctx.recent.update(r[0] for r in conn.execute(query))
    return ctx


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def total_of(lines: Sequence[dict[str, Any]], ctx: Context) -> Decimal:
    return sum(
        (ctx.prices.get(l["sku"], Decimal(0)) * l["qty"] for l in lines), start=Decimal("0.00")
    )


# Every rule by reason code, for re-checking a released order (see cloud.exceptions).
Rule = Callable[[dict[str, Any], Context, IntakeSection], Finding | None]
RULES: dict[str, Rule] = {
    "phone_invalid": lambda d, c, s: check_phone(d["customer"]["phone"]),
    "unknown_sku": lambda d, c, s: check_skus(d["lines"], c),
    "insufficient_stock": lambda d, c, s: check_stock(d["lines"], c),
    "duplicate_order": lambda d, c, s: check_duplicate(d["fingerprint"], c),
    "high_value": lambda d, c, s: check_value(total_of(d["lines"], c), Decimal(s.high_value)),
    "unpaid": lambda d, c, s: check_payment(d["payment_status"], s.hold_unpaid),
}


def run_all(
    draft: dict[str, Any], address: Address, ctx: Context, settings: IntakeSection
) -> list[Finding]:
    """Every rule on one order, in a fixed order; an empty list means clean."""
    found = [check_address(address)]
    found += [rule(draft, ctx, settings) for rule in RULES.values()]
    return [f for f in found if f is not None]
