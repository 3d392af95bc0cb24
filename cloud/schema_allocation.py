"""Allocation rules and decisions, carriers, waybill pools, returns.
Tables share :data:`cloud.schema.metadata`; the
migration ``0005_allocation`` creates them."""

from __future__ import annotations

from cloud.schema import metadata  # noqa: F401
