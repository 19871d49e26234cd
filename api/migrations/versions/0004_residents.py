"""Residents and departments: Open311 reports, department assignments, rating history,
escalation flag and webhook outbox.

Revision ID: 0004_residents
Revises: 0003_revoked_tokens
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_residents"
down_revision = "0003_revoked_tokens"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _incident_fk(table: str) -> sa.Column[str]:
    return sa.Column(
        "incident_id",
        sa.String(128),
        sa.ForeignKey("incidents.incident_id", ondelete="CASCADE", name=f"fk_{table}_incident_id"),
        nullable=False,
    )


def upgrade() -> None:
    """Add the loop tables and ``incidents.escalated_at``."""
    op.add_column("incidents", sa.Column("escalated_at", TS))
    op.create_index("ix_incidents_escalated_at", "incidents", ["escalated_at"])

    op.create_table(
        "resident_reports",
        sa.Column(
            "incident_id",
            sa.String(128),
            sa.ForeignKey(
                "incidents.incident_id", ondelete="CASCADE", name="fk_resident_reports_incident_id"
            ),
            primary_key=True,
        ),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("address_string", sa.String(1000)),
        sa.Column("location_source", sa.String(16), nullable=False),
        sa.Column("media_url", sa.String(2000)),
        sa.Column("attributes", sa.JSON),
        sa.Column("email", sa.String(320)),
        sa.Column("first_name", sa.String(200)),
        sa.Column("last_name", sa.String(200)),
        sa.Column("phone", sa.String(64)),
        sa.Column("device_id", sa.String(200)),
        sa.Column("account_id", sa.String(200)),
        sa.Column("api_key_subject", sa.String(256), nullable=False),
    )
    op.create_index("ix_resident_reports_service_code", "resident_reports", ["service_code"])

    op.create_table(
        "incident_departments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _incident_fk("incident_departments"),
        sa.Column("department", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dispatched_at", TS, nullable=False),
        sa.Column("handled_at", TS),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("incident_id", "department", name="uq_incident_departments_pair"),
    )
    op.create_index("ix_incident_departments_incident_id", "incident_departments", ["incident_id"])
    op.create_index("ix_incident_departments_department", "incident_departments", ["department"])

    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _incident_fk("ratings"),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("satisfaction", sa.SmallInteger, nullable=False),
        sa.Column("note", sa.Text),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="ck_ratings_satisfaction"),
    )
    op.create_index("ix_ratings_incident_id", "ratings", ["incident_id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _incident_fk("webhook_deliveries"),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_webhook_deliveries_incident_id", "webhook_deliveries", ["incident_id"])
    op.create_index("ix_webhook_deliveries_status", "webhook_deliveries", ["status"])


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_table("webhook_deliveries")
    op.drop_table("ratings")
    op.drop_table("incident_departments")
    op.drop_table("resident_reports")
    op.drop_index("ix_incidents_escalated_at", "incidents")
    # A plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35 too): a batch copy of the table would
    # lose the R*Tree triggers of migration 0001.
    op.drop_column("incidents", "escalated_at")
