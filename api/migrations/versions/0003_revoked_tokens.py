"""Token deny list: tokens revoked by id (``patrolgrid token revoke ID``).

Revision ID: 0003_revoked_tokens
Revises: 0002_shift
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_revoked_tokens"
down_revision = "0002_shift"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the deny list (one row per revoked token id)."""
    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("reason", sa.Text),
    )


def downgrade() -> None:
    """Drop the deny list."""
    op.drop_table("revoked_tokens")
