"""Factories for hub tests: a simulated station journal that makes real chained events."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine

from cloud import registry
from cloud.db import transaction
from edge import protocol
from edge.protocol import GENESIS_HASH, Event
from edge.wire import Batch

TENANT = "acme"
STORE = "store-01"


class Journal:
    """A station's up stream: each call appends one sealed event, chained to the last."""

    def __init__(self, station: str = "st-01"):
        self.station = station
        self.events: list[Event] = []

    @property
    def last_hash(self) -> str:
        return self.events[-1].hash if self.events else GENESIS_HASH

    def add(self, kind: str, data: dict[str, Any]) -> Event:
        event = protocol.seal(len(self.events) + 1, kind, data, self.last_hash)
        self.events.append(event)
        return event

    def batch(self, events: Iterable[Event] | None = None) -> Batch:
        chosen = tuple(self.events if events is None else events)
        return Batch(self.station, "up", chosen)

    def seqs(self, first: int, last: int) -> Batch:
        """A batch of events ``first``…``last`` (1-based, inclusive)."""
        return self.batch(self.events[first - 1 : last])

    # Event makers shaped like the station store's.

    def order(self, number: str | None = None, **extra: Any) -> Event:
        order_id = uuid.uuid4().hex
        n = number or f"{self.station.upper()}-{len(self.events) + 1:06d}"
        order = {
            "id": order_id,
            "number": n,
            "station": self.station,
            "channel": "kiosk",
            "status": "open",
            "total": "25.00",
            "created_at": "2024-05-01T08:00:00.000Z",
            "updated_at": "2024-05-01T08:00:00.000Z",
            "lines": [
                {
                    "line_no": 1,
                    "sku": "SKU-1",
                    "name": "可乐",
                    "qty": 2,
                    "packed_qty": 0,
                    "unit_price": "12.50",
                }
            ],
            "timeline": [
                {"at": "2024-05-01T08:00:00.000Z", "status": "open", "note": "created via kiosk"}
            ],
            **extra,
        }
        return self.add(protocol.ORDER_CREATED, {"order": order})

    def status(self, order: Event, to: str, note: str = "") -> Event:
        data = order.data["order"]
        return self.add(
            protocol.ORDER_STATUS,
            {"order_id": data["id"], "number": data["number"], "from": "?", "to": to, "note": note},
        )

    def move(self, sku: str, qty: int, reason: str, ref: str | None = None) -> Event:
        return self.add(
            protocol.STOCK_MOVED,
            {"sku": sku, "qty": qty, "reason": reason, "ref": ref, "sellable": 0},
        )


def tampered(event: Event, **data: Any) -> Event:
    """The event with changed data but its original hash: the chain no longer verifies."""
    return Event(
        seq=event.seq,
        id=event.id,
        kind=event.kind,
        at=event.at,
        data={**event.data, **data},
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


def register(engine: Engine, *stations: str, store: str = STORE, tenant: str = TENANT) -> None:
    with transaction(engine) as conn:
        for station in stations:
            registry.register(conn, tenant, station, store)
