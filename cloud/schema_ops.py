"""Ops dashboard: staff users and roles, telemetry history, alert delivery.
Tables share :data:`cloud.schema.metadata`; the
migration ``0003_ops`` creates them."""

from __future__ import annotations

from cloud.schema import metadata  # noqa: F401
