"""What a print job says, independent of any printer: tickets, pick lists and shipping labels.

Jobs are stored as JSON and rendered when they are sent, so every model converts to and from a
plain dict (``to_dict``/``from_dict``). ``from_dict`` checks types and required fields and raises
:class:`RenderError` naming the offending field; money amounts are decimal strings ("12.50").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from edge.spooler.errors import RenderError

Payment = Literal["counter", "card"]
TicketLanguage = Literal["zh-CN", "en"]


def _field(data: Any, key: str, where: str) -> Any:
    if not isinstance(data, dict):
        raise RenderError(f"{where}: expected an object, got {type(data).__name__}")
    if key not in data or data[key] is None:
        raise RenderError(f"{where}: missing field {key!r}")
    return data[key]


def _str(data: Any, key: str, where: str, default: str | None = None) -> str:
    if default is not None and isinstance(data, dict) and data.get(key) is None:
        return default
    value = _field(data, key, where)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RenderError(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return str(value)


def _amount(data: Any, key: str, where: str, default: str | None = None) -> str:
    text = _str(data, key, where, default)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RenderError(f"{where}.{key}: {text!r} is not a decimal amount") from None
    if not value.is_finite():
        raise RenderError(f"{where}.{key}: {text!r} is not a decimal amount")
    return text


def _int(data: Any, key: str, where: str) -> int:
    value = _field(data, key, where)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RenderError(f"{where}.{key}: expected an integer, got {type(value).__name__}")
    try:
        return int(value)
    except ValueError:
        raise RenderError(f"{where}.{key}: {value!r} is not an integer") from None


def _choice(data: Any, key: str, where: str, choices: tuple[str, ...], default: str) -> str:
    value = _str(data, key, where, default)
    if value not in choices:
        raise RenderError(f"{where}.{key}: {value!r} is not one of {', '.join(choices)}")
    return value


def _list(data: Any, key: str, where: str) -> list[Any]:
    value = data.get(key, []) if isinstance(data, dict) else _field(data, key, where)
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise RenderError(f"{where}.{key}: expected a list, got {type(value).__name__}")
    return list(value)


@dataclass(frozen=True)
class TicketLine:
    sku: str
    name: str
    name_en: str
    qty: int
    unit_price: str
    total: str

    @classmethod
    def from_dict(cls, data: Any, where: str = "line") -> TicketLine:
        return cls(
            sku=_str(data, "sku", where),
            name=_str(data, "name", where),
            name_en=_str(data, "name_en", where, ""),
            qty=_int(data, "qty", where),
            unit_price=_amount(data, "unit_price", where),
            total=_amount(data, "total", where),
        )


@dataclass(frozen=True)
class Ticket:
    """A customer's order ticket (receipt): what was bought and how to pay and collect."""

    store_name: str
    order_number: str
    order_id: str
    created_at: str
    lines: tuple[TicketLine, ...]
    subtotal: str
    discount: str
    tax: str
    total: str
    currency: str = "¥"
    payment: Payment = "counter"
    paid: bool = False
    instructions: str = ""
    status_url: str = ""
    language: TicketLanguage = "zh-CN"

    @classmethod
    def from_dict(cls, data: Any) -> Ticket:
        w = "ticket"
        paid = data.get("paid", False) if isinstance(data, dict) else False
        if not isinstance(paid, bool):
            raise RenderError(f"{w}.paid: expected true or false, got {paid!r}")
        return cls(
            store_name=_str(data, "store_name", w),
            order_number=_str(data, "order_number", w),
            order_id=_str(data, "order_id", w, ""),
            created_at=_str(data, "created_at", w),
            lines=tuple(
                TicketLine.from_dict(line, f"{w}.lines[{i}]")
                for i, line in enumerate(_list(data, "lines", w))
            ),
            subtotal=_amount(data, "subtotal", w),
            discount=_amount(data, "discount", w, "0"),
            tax=_amount(data, "tax", w, "0"),
            total=_amount(data, "total", w),
            currency=_str(data, "currency", w, "¥"),
            payment=cast(Payment, _choice(data, "payment", w, ("counter", "card"), "counter")),
            paid=paid,
            instructions=_str(data, "instructions", w, ""),
            status_url=_str(data, "status_url", w, ""),
            language=cast(TicketLanguage, _choice(data, "language", w, ("zh-CN", "en"), "zh-CN")),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"] = [asdict(line) for line in self.lines]
        return data


@dataclass(frozen=True)
class PickOrder:
    number: str
    id: str


@dataclass(frozen=True)
class PickLine:
    bin: str
    sku: str
    name: str
    qty: int
    order_number: str


@dataclass(frozen=True)
class PickList:
    """A batch of orders to pick: one line per order line, printed in pick-path order."""

    batch_id: str
    created_at: str
    station: str
    orders: tuple[PickOrder, ...]
    lines: tuple[PickLine, ...]

    @classmethod
    def from_dict(cls, data: Any) -> PickList:
        w = "picklist"
        orders = []
        for i, order in enumerate(_list(data, "orders", w)):
            where = f"{w}.orders[{i}]"
            orders.append(PickOrder(_str(order, "number", where), _str(order, "id", where, "")))
        lines = []
        for i, line in enumerate(_list(data, "lines", w)):
            where = f"{w}.lines[{i}]"
            lines.append(
                PickLine(
                    bin=_str(line, "bin", where, ""),
                    sku=_str(line, "sku", where),
                    name=_str(line, "name", where, ""),
                    qty=_int(line, "qty", where),
                    order_number=_str(line, "order_number", where),
                )
            )
        return cls(
            batch_id=_str(data, "batch_id", w),
            created_at=_str(data, "created_at", w),
            station=_str(data, "station", w, ""),
            orders=tuple(orders),
            lines=tuple(lines),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["orders"] = [asdict(order) for order in self.orders]
        data["lines"] = [asdict(line) for line in self.lines]
        return data


@dataclass(frozen=True)
class Carrier:
    name: str
    code: str


@dataclass(frozen=True)
class Party:
    """A sender or recipient; ``address`` is one line, e.g. 广东省深圳市南山区科技园路1号."""

    name: str
    phone: str
    address: str

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Party:
        return cls(
            name=_str(data, "name", where),
            phone=_str(data, "phone", where, ""),
            address=_str(data, "address", where),
        )


@dataclass(frozen=True)
class ShippingLabel:
    """A parcel's shipping label: carrier routing, tracking barcode and addresses."""

    order_number: str
    carrier: Carrier
    service_level: str
    tracking_number: str
    sort_code: str
    sender: Party
    recipient: Party
    weight_kg: str | None
    items: str
    created_at: str

    @classmethod
    def from_dict(cls, data: Any) -> ShippingLabel:
        w = "label"
        carrier = _field(data, "carrier", w)
        weight = data.get("weight_kg") if isinstance(data, dict) else None
        return cls(
            order_number=_str(data, "order_number", w),
            carrier=Carrier(
                name=_str(carrier, "name", f"{w}.carrier"),
                code=_str(carrier, "code", f"{w}.carrier", ""),
            ),
            service_level=_str(data, "service_level", w, ""),
            tracking_number=_str(data, "tracking_number", w),
            sort_code=_str(data, "sort_code", w, ""),
            sender=Party.from_dict(_field(data, "sender", w), f"{w}.sender"),
            recipient=Party.from_dict(_field(data, "recipient", w), f"{w}.recipient"),
            weight_kg=None if weight is None else _amount(data, "weight_kg", w),
            items=_str(data, "items", w, ""),
            created_at=_str(data, "created_at", w),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
