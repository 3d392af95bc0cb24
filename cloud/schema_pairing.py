"""First-boot pairing of new stations.
Tables share :data:`cloud.schema.metadata`; the
migration ``0004_pairing`` creates them."""

from __future__ import annotations

from cloud.schema import metadata  # noqa: F401
