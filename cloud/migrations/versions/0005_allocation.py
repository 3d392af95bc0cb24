"""Allocation rules and decisions, carriers, waybill pools, returns.

Revision ID: 0005_allocation
Revises: 0004_pairing
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0005_allocation"
down_revision = "0004_pairing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
