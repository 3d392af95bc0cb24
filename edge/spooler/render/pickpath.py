"""Pick-path order: pick-list lines grouped by bin, bins in the order a picker walks them.

Bin locations are written aisle-rack-shelf, e.g. ``A-03-2`` (aisle A, rack 3, shelf 2). Bins sort
naturally, field by field: letters alphabetically (ignoring case), numbers by value, so ``A-2``
comes before ``A-10`` and ``A-03-2`` equals ``A-3-2`` in position. Lines without a bin come last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from edge.spooler.render.model import PickLine

_FIELD = re.compile(r"\d+|[^\W\d_]+")


def bin_key(location: str) -> tuple[object, ...]:
    """Sort key putting bin locations in natural (pick-path) order."""
    fields = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
        for part in _FIELD.findall(location)
    )
    return (not fields, fields, location)


def order_key(number: str) -> tuple[object, ...]:
    """Natural sort key for order numbers (``#99`` before ``#100``)."""
    return bin_key(number)


@dataclass(frozen=True)
class PickItem:
    """One SKU in one bin: the total to pick and how it splits over orders."""

    sku: str
    name: str
    qty: int
    orders: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class PickStop:
    """One bin on the pick path and what to take from it."""

    bin: str
    items: tuple[PickItem, ...]


def pick_path(lines: Iterable[PickLine]) -> list[PickStop]:
    """Group ``lines`` by bin and SKU, summing quantities, bins in pick-path order."""
    by_bin: dict[str, dict[str, dict[str, int]]] = {}
    names: dict[tuple[str, str], str] = {}
    for line in lines:
        location = line.bin.strip()
        per_order = by_bin.setdefault(location, {}).setdefault(line.sku, {})
        per_order[line.order_number] = per_order.get(line.order_number, 0) + line.qty
        names.setdefault((location, line.sku), line.name)
    stops = []
    for location in sorted(by_bin, key=bin_key):
        items = []
        for sku in sorted(by_bin[location], key=order_key):
            per_order = by_bin[location][sku]
            orders = tuple(sorted(per_order.items(), key=lambda item: order_key(item[0])))
            items.append(PickItem(sku, names[(location, sku)], sum(per_order.values()), orders))
        stops.append(PickStop(location, tuple(items)))
    return stops
