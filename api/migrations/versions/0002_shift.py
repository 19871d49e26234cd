"""The shift in motion: plan versions (re-plans), AVL positions, checkpoint check-ins.

Revision ID: 0002_shift
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_shift"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create plan_versions, positions and checkins."""
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "plan_id",
            sa.String(64),
            sa.ForeignKey("plans.plan_id", ondelete="CASCADE", name="fk_plan_versions_plan_id"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("events", sa.JSON),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("shift", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("plan_id", "version", name="uq_plan_versions_version"),
    )
    op.create_index("ix_plan_versions_plan_id", "plan_versions", ["plan_id"])
    op.create_table(
        "positions",
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("unit_id", "at", name="pk_positions"),
    )
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "plan_id",
            sa.String(64),
            sa.ForeignKey("plans.plan_id", ondelete="CASCADE", name="fk_checkins_plan_id"),
            nullable=False,
        ),
        sa.Column("checkpoint", sa.String(256), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
    )
    op.create_index("ix_checkins_plan_id", "checkins", ["plan_id"])


def downgrade() -> None:
    """Drop what :func:`upgrade` created."""
    op.drop_table("checkins")
    op.drop_table("positions")
    op.drop_table("plan_versions")
