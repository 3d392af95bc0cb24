"""Hub order intake: checks, exceptions, allocation, carriers, waybill pools, returns.
Tables share :data:`cloud.schema.metadata`; the
migration ``0002_orders`` creates them."""

from __future__ import annotations

from cloud.schema import metadata  # noqa: F401
