"""Initial schema: grids, incidents with their workflow state, audit trail, plan jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.db.spatial import SpatialGeometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _bounds() -> list[sa.Column[float]]:
    return [sa.Column(name, sa.Float, nullable=False) for name in ("minx", "miny", "maxx", "maxy")]


def upgrade() -> None:
    """Create the tables, their unique keys and the spatial indexes of each database."""
    dialect = op.get_bind().dialect.name
    op.create_table(
        "grids",
        sa.Column("grid_id", sa.String(128), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(128)),
        sa.Column("name", sa.String(256)),
        sa.Column("district_id", sa.String(128)),
        sa.Column("street_id", sa.String(128)),
        sa.Column("community_id", sa.String(128)),
        sa.Column("households", sa.Float),
        sa.Column("population", sa.Float),
        sa.Column("station_id", sa.String(128)),
        *_bounds(),
        sa.Column("geom", SpatialGeometry("GEOMETRY"), nullable=False),
    )
    op.create_index("ix_grids_level", "grids", ["level"])
    op.create_index("ix_grids_parent_id", "grids", ["parent_id"])
    op.create_index("ix_grids_district_id", "grids", ["district_id"])
    op.create_index("ix_grids_community_id", "grids", ["community_id"])
    op.create_index("ix_grids_bounds", "grids", ["minx", "maxx", "miny", "maxy"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(128), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("severity", sa.SmallInteger, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        *_bounds(),
        sa.Column("geom", SpatialGeometry("POINT"), nullable=False),
        sa.Column("grid_id", sa.String(128)),
        sa.Column("community_id", sa.String(128)),
        sa.Column("street_id", sa.String(128)),
        sa.Column("district_id", sa.String(128)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_since", TS, nullable=False),
        sa.Column("due_at", TS),
        sa.Column("unit_id", sa.String(128)),
        sa.Column("department", sa.String(32)),
        sa.Column("dispatched_at", TS),
        sa.Column("handled_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("satisfaction", sa.SmallInteger),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.UniqueConstraint("incident_id", name="uq_incidents_incident_id"),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name="ck_incidents_severity"),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5",
            name="ck_incidents_satisfaction",
        ),
    )
    for column in ("occurred_at", "grid_id", "community_id", "district_id", "state", "due_at"):
        op.create_index(f"ix_incidents_{column}", "incidents", [column])

    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id",
            sa.String(128),
            sa.ForeignKey(
                "incidents.incident_id",
                ondelete="CASCADE",
                name="fk_transitions_incident_id",
            ),
            nullable=False,
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("details", sa.JSON),
    )
    op.create_index("ix_transitions_incident_id", "transitions", ["incident_id"])

    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("district_id", sa.String(128)),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_plans_status", "plans", ["status"])
    op.create_index("ix_plans_district_id", "plans", ["district_id"])

    if dialect == "postgresql":
        op.create_index("ix_grids_geom", "grids", ["geom"], postgresql_using="gist")
        op.create_index("ix_incidents_geom", "incidents", ["geom"], postgresql_using="gist")
    else:
        # SQLite's built-in R*Tree is the spatial index of incident points, kept by triggers.
        op.execute("CREATE VIRTUAL TABLE incidents_rtree USING rtree(id, minx, maxx, miny, maxy)")
        op.execute(
            "CREATE TRIGGER incidents_rtree_ins AFTER INSERT ON incidents BEGIN "
            "INSERT INTO incidents_rtree VALUES (new.id, new.minx, new.maxx, new.miny, new.maxy); "
            "END"
        )
        op.execute(
            "CREATE TRIGGER incidents_rtree_del AFTER DELETE ON incidents BEGIN "
            "DELETE FROM incidents_rtree WHERE id = old.id; END"
        )


def downgrade() -> None:
    """Drop everything :func:`upgrade` created."""
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS incidents_rtree_del")
        op.execute("DROP TRIGGER IF EXISTS incidents_rtree_ins")
        op.execute("DROP TABLE IF EXISTS incidents_rtree")
    op.drop_table("plans")
    op.drop_table("transitions")
    op.drop_table("incidents")
    op.drop_table("grids")
