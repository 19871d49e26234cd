"""Tables of the service (SQLAlchemy 2 declarative models).

The schema itself is created and changed only by the Alembic migrations in
:mod:`api.migrations`; these models describe it for queries and must match them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .spatial import SpatialGeometry

__all__ = [
    "Base",
    "Checkin",
    "Grid",
    "Incident",
    "Plan",
    "PlanVersion",
    "Position",
    "RevokedToken",
    "Transition",
]

# The residents-and-departments tables live in api/db/loop_models.py (imported at the end).

UTCDateTime = sa.DateTime(timezone=True)


class Base(DeclarativeBase):
    """Declarative base; metadata naming convention keeps constraint names stable."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Grid(Base):
    """One grid cell at any level (district, street, community, grid)."""

    __tablename__ = "grids"

    grid_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(16), index=True)
    parent_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    name: Mapped[str | None] = mapped_column(sa.String(256))
    district_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    street_id: Mapped[str | None] = mapped_column(sa.String(128))
    community_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    households: Mapped[float | None] = mapped_column(sa.Float)
    population: Mapped[float | None] = mapped_column(sa.Float)
    station_id: Mapped[str | None] = mapped_column(sa.String(128))
    minx: Mapped[float] = mapped_column(sa.Float)
    miny: Mapped[float] = mapped_column(sa.Float)
    maxx: Mapped[float] = mapped_column(sa.Float)
    maxy: Mapped[float] = mapped_column(sa.Float)
    geom: Mapped[BaseGeometry] = mapped_column(SpatialGeometry("GEOMETRY"))


class Incident(Base):
    """An incident reported by the dispatch system, with its workflow state."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    category: Mapped[str] = mapped_column(sa.String(128))
    severity: Mapped[int] = mapped_column(sa.SmallInteger)
    description: Mapped[str | None] = mapped_column(sa.Text)
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    minx: Mapped[float] = mapped_column(sa.Float)
    miny: Mapped[float] = mapped_column(sa.Float)
    maxx: Mapped[float] = mapped_column(sa.Float)
    maxy: Mapped[float] = mapped_column(sa.Float)
    geom: Mapped[BaseGeometry] = mapped_column(SpatialGeometry("POINT"))
    grid_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    community_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    street_id: Mapped[str | None] = mapped_column(sa.String(128))
    district_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    state_since: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    unit_id: Mapped[str | None] = mapped_column(sa.String(128))
    department: Mapped[str | None] = mapped_column(sa.String(32))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None] = mapped_column(sa.SmallInteger)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: When the SLA sweep escalated the incident in its current stage (cleared by a transition).
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Transition(Base):
    """One entry of the audit trail: who moved which incident from where to where, when, why."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        sa.String(128), sa.ForeignKey("incidents.incident_id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(256))
    from_state: Mapped[str | None] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class Plan(Base):
    """A planning job and, once done, its VROOM-like result."""

    __tablename__ = "plans"

    plan_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(256))
    district_id: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)


class PlanVersion(Base):
    """One version of a plan: 0 as made, then one per re-plan (events, document, shift file)."""

    __tablename__ = "plan_versions"
    __table_args__ = (sa.UniqueConstraint("plan_id", "version", name="uq_plan_versions_version"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("plans.plan_id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(256))
    events: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    shift: Mapped[bytes] = mapped_column(sa.LargeBinary)


class Position(Base):
    """One AVL ping of a unit; (unit_id, at) is unique, so a resent batch stores nothing twice."""

    __tablename__ = "positions"

    unit_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Checkin(Base):
    """An explicit check-in of a unit at a checkpoint of a plan."""

    __tablename__ = "checkins"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("plans.plan_id", ondelete="CASCADE"), index=True
    )
    checkpoint: Mapped[str] = mapped_column(sa.String(256))
    unit_id: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(256))


class RevokedToken(Base):
    """A bearer token revoked by its id (the deny list checked on every request)."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(sa.Text)


from . import loop_models as loop_models  # noqa: E402  (registers the loop tables on Base)
