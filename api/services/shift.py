"""Plan versions (re-plans from events), AVL positions and check-ins in the database.

Version 0 of a plan is stored when its job finishes (the shift file of :mod:`planner.shift_file`
and the document); each ``POST /plans/{id}/events`` re-plans from the newest version and
stores the next one. The unique key ``(plan_id, version)`` decides between two concurrent
re-plans: the loser answers 409 and nothing stored is lost. The plan job's ``result`` is updated
to the newest document, so every plan read (map, export) serves the newest version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from api.db.engine import Database
from api.db.models import Checkin, Plan, PlanVersion, Position
from api.problems import ProblemError
from api.shift import Replanned, replan_shift, shift_state
from planner.shift_file import read_shift, shift_bytes

__all__ = [
    "add_checkin",
    "checkins",
    "latest_version",
    "positions",
    "replan",
    "store_positions",
    "store_version_zero",
    "street_path",
]


def store_version_zero(
    database: Database, plan_id: str, run: Any, grids: Any, *, network: str | None, actor: str
) -> None:
    """Store version 0 of a finished plan (its shift file and document)."""
    state = shift_state(run.problem, run.plan, grids, network=network)
    with database.session() as session:
        session.add(
            PlanVersion(
                plan_id=plan_id,
                version=0,
                created_at=datetime.now(UTC),
                created_by=actor,
                events=None,
                document=run.document,
                shift=shift_bytes(state),
            )
        )


def latest_version(database: Database, plan_id: str) -> PlanVersion | None:
    """The newest version row of a plan, or None."""
    with database.sessions() as session:
        return session.scalars(
            sa.select(PlanVersion)
            .where(PlanVersion.plan_id == plan_id)
            .order_by(PlanVersion.version.desc())
            .limit(1)
        ).first()


def street_path(networks: Any, settings: Any, gridset: Any, district: str | None) -> Any:
    """``network.path`` of the configured street network (as plan jobs load it), or None.

    Changed routes then follow the streets; without a network (or when it cannot be loaded)
    they are straight lines between their places.
    """
    from geo.errors import GeoError
    from geo.hierarchy import leaf_grids

    from .plans import district_grids

    if settings.network_path is None or not Path(settings.network_path).is_file():
        return None
    grids = district_grids(gridset, district)
    if not len(grids):
        return None
    try:
        area = leaf_grids(grids).union_all()
        return networks.get(settings.network_path, area, settings.network_cache_dir).path
    except (GeoError, OSError):
        return None


def replan(
    database: Database,
    plan_id: str,
    body: dict[str, Any],
    *,
    actor: str,
    time_limit_s: float,
    seed: int = 0,
    scope: str = "minimal",
    path_geometry: Any = None,
) -> Replanned:
    """Re-plan the newest version from the events of ``body``; store and return the next."""
    current = latest_version(database, plan_id)
    if current is None:
        msg = (
            f"plan {plan_id!r} has no stored shift to re-plan (planned before re-planning existed)"
        )
        raise ProblemError(409, msg, field="path.plan_id")
    state = read_shift(current.shift, source=f"plan {plan_id} version {current.version}")
    done = replan_shift(
        state,
        current.document,
        body,
        source="body",
        time_limit_s=time_limit_s,
        seed=seed,
        scope=scope,
        path_geometry=path_geometry,
    )
    now = datetime.now(UTC)
    try:
        with database.session() as session:
            session.add(
                PlanVersion(
                    plan_id=plan_id,
                    version=done.result.state.version,
                    created_at=now,
                    created_by=actor,
                    events=list(body.get("events", [])),
                    document=done.document,
                    shift=shift_bytes(done.result.state),
                )
            )
            job = session.get(Plan, plan_id)
            if job is not None and job.result is not None:
                job.result = {**job.result, "plan": done.document}
                job.updated_at = now
    except IntegrityError:
        msg = f"plan {plan_id!r} was re-planned by someone else meanwhile; send the events again"
        raise ProblemError(409, msg, field="path.plan_id") from None
    return done


def _insert(table: sa.Table, dialect: str) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def store_positions(database: Database, unit_id: str, rows: list[dict[str, Any]]) -> int:
    """Store pings (idempotent on unit and time); returns how many were new."""
    if not rows:
        return 0
    now = datetime.now(UTC)
    values = [{"unit_id": unit_id, "received_at": now, **r} for r in rows]
    table = Position.__table__
    with database.session() as session:
        result = session.execute(
            _insert(table, database.dialect)  # type: ignore[arg-type]
            .values(values)
            .on_conflict_do_nothing(index_elements=["unit_id", "at"])
            .returning(table.c.at)  # type: ignore[attr-defined]
        )
        return len(result.all())


def positions(
    database: Database, unit_ids: list[str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Stored pings of the units between two times: ``unit_id, at, lon, lat``."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    with database.sessions() as session:
        rows = session.execute(
            sa.select(Position.unit_id, Position.at, Position.lon, Position.lat)
            .where(Position.unit_id.in_(unit_ids), Position.at >= start, Position.at <= end)
            .order_by(Position.unit_id, Position.at)
        ).all()
    return [
        {
            "unit_id": r.unit_id,
            "at": r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC),
            "lon": r.lon,
            "lat": r.lat,
        }
        for r in rows
    ]


def add_checkin(
    database: Database, plan_id: str, *, checkpoint: str, unit_id: str, at: datetime, actor: str
) -> int:
    """Store an explicit check-in; returns its id."""
    with database.session() as session:
        row = Checkin(
            plan_id=plan_id,
            checkpoint=checkpoint,
            unit_id=unit_id,
            at=at.astimezone(UTC),
            actor=actor,
        )
        session.add(row)
        session.flush()
        return int(row.id)


def checkins(database: Database, plan_id: str) -> list[dict[str, Any]]:
    """Explicit check-ins of a plan."""
    with database.sessions() as session:
        rows = session.scalars(
            sa.select(Checkin).where(Checkin.plan_id == plan_id).order_by(Checkin.id)
        ).all()
    return [
        {
            "checkpoint": r.checkpoint,
            "unit_id": r.unit_id,
            "at": r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC),
        }
        for r in rows
    ]
