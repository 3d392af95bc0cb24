"""Hub order intake: checks, exceptions, allocation, carriers, waybill pools, returns.

Revision ID: 0002_orders
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0002_orders"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
