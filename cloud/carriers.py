"""Carriers: which provinces each covers (its zones), the service levels it offers, its
price by weight and zone, and the choice of the cheapest carrier that meets an order.

A carrier as the API takes it (``PUT /api/v1/carriers``)::

    {"code": "SF", "name": "SF Express",
     "service_levels": ["next_day", "standard"],
     "zones": {"广东": "GD-01", "广西": "GX-02", "*": "CN-09"},
     "rates": {"GD-01": {"first_kg": "12.00", "extra_kg": "2.00"}, …},
     "waybills": {"prefix": "SF", "width": 10, "scheme": "mod7", "first": 1, "last": 999999}}

``zones`` maps a province (or ``*`` for every other) to a zone id; the carrier covers the
provinces it names. Every zone needs a rate. ``waybills`` (optional) is the range of
serial numbers the carrier gave; see :mod:`cloud.waybills`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, delete, select

from cloud import waybills
from cloud.errors import InvalidInput
from cloud.schema_allocation import carriers
from cloud.text import is_token
from edge.protocol import utc_now

SERVICE_LEVELS = frozenset({"same_day", "next_day", "standard", "scheduled", "economy"})
_PROVINCE_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区|省|市)$")
_CODE = re.compile(r"^[A-Z0-9]{1,8}$")


def province_key(name: str) -> str:
    """A province name without its administrative suffix: 广东省 → 广东, 上海市 → 上海."""
    return _PROVINCE_SUFFIX.sub("", name.strip())


@dataclass(frozen=True)
class Choice:
    """The carrier picked for an order: its code, the destination zone, the price, and
    the sort code (carrier + zone) printed on the label."""

    carrier: str
    zone: str
    price: Decimal
    service_level: str

    @property
    def sort_code(self) -> str:
        return f"{self.carrier}-{self.zone}"


def _money(value: Any, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
        if not amount.is_finite() or amount < 0 or amount > 1_000_000:
            raise InvalidOperation
        return amount.quantize(Decimal("0.01"))
    except (InvalidOperation, ArithmeticError) as err:
        raise InvalidInput(f"{where}: {str(value)[:40]!r} is not an amount up to 1000000") from err


def validate(raw: Any) -> dict[str, Any]:
    """One carrier definition, checked and normalised; InvalidInput names what is wrong."""
    if not isinstance(raw, dict):
        raise InvalidInput("a carrier must be an object")
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE.match(code):
        raise InvalidInput("carrier 'code' must be 1-8 capital letters or digits")
    name = raw.get("name", code)
    if not is_token(name):
        raise InvalidInput(f"carrier {code}: 'name' must be a non-empty string")
    levels = raw.get("service_levels")
    if not isinstance(levels, list) or not levels or not set(levels) <= SERVICE_LEVELS:
        raise InvalidInput(
            f"carrier {code}: 'service_levels' must list some of {sorted(SERVICE_LEVELS)}"
        )
    zones = raw.get("zones")
    if not isinstance(zones, dict) or not zones:
        raise InvalidInput(f"carrier {code}: 'zones' must map provinces to zone ids")
    norm_zones: dict[str, str] = {}
    for province, zone in zones.items():
        if not is_token(province) or not isinstance(zone, str) or not _zone_ok(zone):
            raise InvalidInput(f"carrier {code}: zone {zone!r} of {province!r} is not valid")
        norm_zones[province if province == "*" else province_key(province)] = zone
    rates = raw.get("rates")
    if not isinstance(rates, dict):
        raise InvalidInput(f"carrier {code}: 'rates' must map zone ids to prices")
    norm_rates: dict[str, dict[str, str]] = {}
    for zone in sorted(set(norm_zones.values())):
        rate = rates.get(zone)
        if not isinstance(rate, dict):
            raise InvalidInput(f"carrier {code}: no rate for zone {zone}")
        norm_rates[zone] = {
            "first_kg": str(_money(rate.get("first_kg"), f"{code} {zone} first_kg")),
            "extra_kg": str(_money(rate.get("extra_kg", "0"), f"{code} {zone} extra_kg")),
        }
    carrier: dict[str, Any] = {
        "code": code,
        "name": name,
        "service_levels": sorted(set(levels)),
        "zones": norm_zones,
        "rates": norm_rates,
    }
    if raw.get("waybills") is not None:
        carrier["waybills"] = waybills.validate_range(code, raw["waybills"])
    return carrier


def _zone_ok(zone: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9][A-Z0-9-]{0,15}", zone))


def replace_all(conn: Connection, tenant: str, raw: Any) -> list[dict[str, Any]]:
    """Replace the tenant's carrier table (all checked before anything is written)."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("send 'carriers': a non-empty list of carriers")
    table = [validate(c) for c in raw]
    codes = [c["code"] for c in table]
    if len(set(codes)) != len(codes):
        raise InvalidInput("carrier codes must be unique")
    now = utc_now()
    conn.execute(delete(carriers).where(carriers.c.tenant == tenant))
    for carrier in table:
        conn.execute(
            carriers.insert().values(
                tenant=tenant,
                code=carrier["code"],
                name=carrier["name"],
                data=carrier,
                updated_at=now,
            )
        )
        if "waybills" in carrier:
            waybills.set_range(conn, tenant, carrier["code"], carrier["waybills"])
    return table


def list_carriers(conn: Connection, tenant: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(carriers.c.data).where(carriers.c.tenant == tenant).order_by(carriers.c.code)
    ).scalars()
    return list(rows)


def price(carrier: dict[str, Any], zone: str, weight_g: int) -> Decimal:
    """First kilogram plus each started kilogram after it."""
    rate = carrier["rates"][zone]
    extra = max(math.ceil((weight_g - 1000) / 1000), 0)
    return Decimal(rate["first_kg"]) + Decimal(rate["extra_kg"]) * extra


def zone_of(carrier: dict[str, Any], province: str | None) -> str | None:
    zones = carrier["zones"]
    if province and (zone := zones.get(province_key(province))):
        return str(zone)
    return str(zones["*"]) if "*" in zones else None


def choose(
    table: list[dict[str, Any]], province: str | None, service_level: str, weight_g: int
) -> tuple[Choice | None, str]:
    """The cheapest carrier that covers ``province`` at ``service_level`` (ties: by
    code), with a sentence saying why; None when no carrier qualifies."""
    options = []
    for carrier in table:
        if service_level not in carrier["service_levels"]:
            continue
        zone = zone_of(carrier, province)
        if zone is None:
            continue
        options.append(Choice(carrier["code"], zone, price(carrier, zone, weight_g), service_level))
    if not options:
        where = province or "an unknown province"
        return None, f"no carrier delivers {service_level} to {where}"
    best = min(options, key=lambda c: (c.price, c.carrier))
    others = ", ".join(f"{c.carrier} {c.price}" for c in options if c is not best)
    why = f"carrier {best.carrier} zone {best.zone} at {best.price}"
    return best, why + (f" (cheapest of: {others})" if others else "")
