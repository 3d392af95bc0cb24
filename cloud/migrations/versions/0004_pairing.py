"""First-boot pairing of new stations.

Revision ID: 0004_pairing
Revises: 0003_ops
Create Date: 2026-11-22
"""

from __future__ import annotations

revision = "0004_pairing"
down_revision = "0003_ops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
