"""Allocation: which station packs a checked channel order.

The rule engine is described in ``docs/allocation.md``. :func:`allocate` is called by order
intake in the transaction that marks an order ``checked`` (and again when a person releases
an order from the exception queue).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from cloud.config import HubConfig


def allocate(conn: Connection, config: HubConfig, order_id: str, at: str) -> dict[str, Any]:
    """Pick the station for a checked order, record the decision with its reason, and send
    the order ``dn`` to that station; returns the decision. An order no station can take
    stays ``checked`` with the reason recorded, to be retried."""
    raise NotImplementedError("allocation lands with the allocation engine")
