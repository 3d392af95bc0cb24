"""What one up batch changes, gathered in memory and written with a few statements.

Ingest must drain a long backlog fast: a statement per event and round trip would cap it
at a few hundred events a second on PostgreSQL. So the batch's orders and the station's
stock are read (and locked) once up front, each event's effect changes this in-memory
view, and :meth:`ChangeSet.flush` writes everything with one ``executemany`` per table.
An effect that needs the database directly (a grant, a command result) flushes first,
so it always sees the events before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from cloud.db import insert_ignore
from cloud.schema import allotments, order_timeline, orders, stock_items, stock_ledger
from edge.protocol import utc_now

_UPDATE_ORDER = (
    update(orders)
    .where(orders.c.id == bindparam("b_id"))
    .values(status=bindparam("status"), data=bindparam("data"), updated_at=bindparam("updated_at"))
)
_ADD_ON_HAND = (
    update(stock_items)
    .where(
        stock_items.c.tenant == bindparam("b_tenant"), stock_items.c.store == bindparam("b_store")
    )
    .where(stock_items.c.sku == bindparam("b_sku"))
    .values(on_hand=stock_items.c.on_hand + bindparam("delta"), updated_at=bindparam("now"))
)
_ADD_ALLOTMENT = (
    update(allotments)
    .where(allotments.c.station == bindparam("b_station"), allotments.c.sku == bindparam("b_sku"))
    .values(
        allotted=allotments.c.allotted + bindparam("d_allotted"),
        sold=allotments.c.sold + bindparam("d_sold"),
        updated_at=bindparam("now"),
    )
)


class ChangeSet:
    """The orders and stock one batch touches, and the rows it will write."""

    def __init__(self, conn: Connection, tenant: str, station: str, store: str | None):
        self.conn, self.tenant, self.station, self.store = conn, tenant, station, store
        self._orders: dict[str, dict[str, Any]] = {}
        self._numbers: set[str] = set()
        self._new: list[dict[str, Any]] = []
        self._new_ids: set[str] = set()
        self._dirty: set[str] = set()
        self._timeline: list[dict[str, Any]] = []
        self._allotments: dict[str, list[int]] = {}  # sku → [allotted, sold] as of now
        self._allot_delta: dict[str, list[int]] = {}
        self._missing_allotments: set[str] = set()
        self._ledger: list[dict[str, Any]] = []
        self._on_hand_delta: dict[str, int] = {}

    # Loading (once per batch, and again after a flush when an effect needs it).

    def load_orders(self, ids: Iterable[str], numbers: Iterable[str]) -> None:
        """Read and lock the orders a batch refers to, by id or number."""
        wanted_ids, wanted_numbers = set(ids), set(numbers)
        if not wanted_ids and not wanted_numbers:
            return
        rows = self.conn.execute(
            select(orders.c.id, orders.c.number, orders.c.station, orders.c.status, orders.c.data)
            .where(or_(orders.c.id.in_(wanted_ids), orders.c.number.in_(wanted_numbers)))
            .with_for_update()
        ).mappings()
        for row in rows:
            self._orders[row["id"]] = dict(row)
            self._numbers.add(row["number"])

    def load_stock(self, skus: Iterable[str]) -> None:
        """Read the station's allotments of ``skus`` (their stock items are locked by then)."""
        wanted = sorted(set(skus) - set(self._allotments))
        if not wanted:
            return
        for sku in wanted:
            self._allotments[sku] = [0, 0]
            self._missing_allotments.add(sku)
        for row in self.conn.execute(
            select(allotments.c.sku, allotments.c.allotted, allotments.c.sold).where(
                allotments.c.station == self.station, allotments.c.sku.in_(wanted)
            )
        ):
            self._allotments[row.sku] = [int(row.allotted), int(row.sold)]
            self._missing_allotments.discard(row.sku)

    # Orders.

    def order(self, order_id: str) -> dict[str, Any] | None:
        """The order as this batch has it so far (only orders loaded up front)."""
        return self._orders.get(order_id)

    def number_taken(self, number: str) -> bool:
        return number in self._numbers

    def add_order(self, row: dict[str, Any]) -> None:
        self._orders[row["id"]] = row
        self._numbers.add(row["number"])
        self._new.append(row)
        self._new_ids.add(row["id"])

    def change_order(self, order_id: str, at: str, **values: Any) -> None:
        row = self._orders[order_id]
        row.update(values, updated_at=at)
        if order_id not in self._new_ids:
            self._dirty.add(order_id)

    def add_timeline(
        self, order_id: str, at: str, status: str, note: str, data: dict[str, Any] | None = None
    ) -> None:
        self._timeline.append(
            {
                "order_id": order_id,
                "at": at,
                "status": status,
                "note": note,
                "source": self.station,
                "data": data,
            }
        )

    # Stock.

    def allotment(self, sku: str) -> tuple[int, int]:
        allotted, sold = self._allotments[sku]
        return allotted, sold

    def move_stock(
        self,
        sku: str,
        qty: int,
        reason: str,
        ref: str | None,
        at: str,
        *,
        allotted: int = 0,
        sold: int = 0,
    ) -> None:
        """A ledger row for the station's store, and the station's allotment change."""
        if self.store is None:
            raise RuntimeError("move_stock needs the station's store")
        self._ledger.append(
            {
                "tenant": self.tenant,
                "store": self.store,
                "sku": sku,
                "qty": qty,
                "reason": reason,
                "ref": ref,
                "station": self.station,
                "at": at,
            }
        )
        self._on_hand_delta[sku] = self._on_hand_delta.get(sku, 0) + qty
        delta = self._allot_delta.setdefault(sku, [0, 0])
        delta[0] += allotted
        delta[1] += sold
        current = self._allotments[sku]
        current[0] += allotted
        current[1] += sold

    # Writing.

    def flush(self) -> None:
        """Write everything gathered so far; the in-memory view stays valid."""
        conn, now = self.conn, utc_now()
        if self._new:
            conn.execute(orders.insert(), [_order_row(self.tenant, r) for r in self._new])
        if self._dirty:
            conn.execute(
                _UPDATE_ORDER,
                [
                    {
                        "b_id": i,
                        "status": self._orders[i]["status"],
                        "data": self._orders[i]["data"],
                        "updated_at": self._orders[i]["updated_at"],
                    }
                    for i in sorted(self._dirty)
                ],
            )
        if self._timeline:
            conn.execute(order_timeline.insert(), self._timeline)
        if self._ledger:
            conn.execute(stock_ledger.insert(), self._ledger)
            conn.execute(
                _ADD_ON_HAND,
                [
                    {
                        "b_tenant": self.tenant,
                        "b_store": self.store,
                        "b_sku": sku,
                        "delta": d,
                        "now": now,
                    }
                    for sku, d in sorted(self._on_hand_delta.items())
                ],
            )
        if self._allot_delta:
            missing = sorted(self._missing_allotments & set(self._allot_delta))
            if missing:
                insert_ignore(
                    conn,
                    allotments,
                    [
                        {
                            "station": self.station,
                            "sku": s,
                            "allotted": 0,
                            "sold": 0,
                            "updated_at": now,
                        }
                        for s in missing
                    ],
                )
                self._missing_allotments -= set(missing)
            conn.execute(
                _ADD_ALLOTMENT,
                [
                    {
                        "b_station": self.station,
                        "b_sku": sku,
                        "d_allotted": d[0],
                        "d_sold": d[1],
                        "now": now,
                    }
                    for sku, d in sorted(self._allot_delta.items())
                ],
            )
        self._new, self._new_ids, self._dirty = [], set(), set()
        self._timeline, self._ledger = [], []
        self._on_hand_delta, self._allot_delta = {}, {}

    def reload_stock(self) -> None:
        """Forget the allotments read so far (after a direct write changed them)."""
        self._allotments.clear()
        self._missing_allotments.clear()


def _order_row(tenant: str, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "tenant": tenant,
        "number": row["number"],
        "station": row["station"],
        "channel": row["channel"],
        "status": row["status"],
        "total": row["total"],
        "external_id": row.get("external_id"),
        "idempotency_key": None,
        "data": row["data"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
