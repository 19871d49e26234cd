"""Plan jobs in the database: queued -> running -> done | failed.

A job row is written before ``POST /plans`` answers 202, so its id is valid at once; the work
runs after the answer (a background task) and stores the VROOM-like plan JSON or the error.
A job left ``queued``/``running`` by a process that died is marked failed on the next start.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from api.auth import Principal
from api.db.engine import Database
from api.db.models import Plan
from api.planning import plan_shift
from api.settings import Settings
from geo.categories import load_categories
from geo.errors import GeoError
from maps.errors import MapsError
from maps.privacy import CIVILIAN_KINDS, export_route
from planner.errors import PlannerError
from planner.model import Plan as SolvedPlan
from planner.solve import DEFAULT_BACKEND, solve
from planner.stops import category_skills
from planner.units_file import parse_units

from .grids import GridCache, GridSet
from .hotspots import joined_incidents

__all__ = [
    "INTERRUPTED",
    "NetworkCache",
    "create_job",
    "district_grids",
    "fail_interrupted",
    "finish_job",
    "get_job",
    "run_plan",
    "start_job",
    "visible_routes",
    "volunteer_summary",
]

log = logging.getLogger("patrolgrid.api")

#: The error of a job the server stopped before it finished.
INTERRUPTED = "interrupted: the server stopped before the plan finished; submit it again"


def create_job(
    database: Database, request: dict[str, Any], *, actor: str, district_id: str | None
) -> str:
    """Store a queued job and return its id."""
    plan_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    with database.session() as session:
        session.add(
            Plan(
                plan_id=plan_id,
                status="queued",
                created_at=now,
                updated_at=now,
                created_by=actor,
                district_id=district_id,
                request=request,
            )
        )
    return plan_id


def start_job(database: Database, plan_id: str) -> None:
    """Mark a job running."""
    with database.session() as session:
        session.execute(
            sa.update(Plan)
            .where(Plan.plan_id == plan_id)
            .values(status="running", updated_at=datetime.now(UTC))
        )


def finish_job(
    database: Database, plan_id: str, *, result: dict[str, Any] | None, error: str | None
) -> None:
    """Store a job's plan (done) or its error (failed)."""
    with database.session() as session:
        session.execute(
            sa.update(Plan)
            .where(Plan.plan_id == plan_id)
            .values(
                status="failed" if error is not None else "done",
                result=result,
                error=error,
                updated_at=datetime.now(UTC),
            )
        )


def get_job(database: Database, plan_id: str) -> Plan | None:
    """The job row, or None."""
    with database.sessions() as session:
        return session.get(Plan, plan_id)


def fail_interrupted(database: Database) -> int:
    """Mark jobs left unfinished by a previous process as failed; returns how many."""
    with database.session() as session:
        result = session.execute(
            sa.update(Plan)
            .where(Plan.status.in_(("queued", "running")))
            .values(
                status="failed",
                error=INTERRUPTED,
                updated_at=datetime.now(UTC),
            )
        )
        return int(result.rowcount or 0)


# --- running a job: stored grids and incidents -> api.planning.plan_shift -> plan JSON --------


class NetworkCache:
    """Street networks loaded by :func:`geo.network.load_network`, kept per (file, area)."""

    def __init__(self, size: int = 2) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: dict[tuple[str, bytes], Any] = {}

    def get(self, path: Path, area: BaseGeometry, cache_dir: Path | None) -> Any:
        """The network of ``path`` around ``area``, loaded once."""
        from geo.network import load_network

        key = (str(path), bytes(shapely.to_wkb(area)))
        with self._lock:
            if key not in self._items:
                if len(self._items) >= self._size:
                    self._items.pop(next(iter(self._items)))
                self._items[key] = load_network(path, polygon=area, cache_dir=cache_dir)
            return self._items[key]


def district_grids(gridset: GridSet, district: str | None) -> gpd.GeoDataFrame:
    """The grids of one district (the district row and everything under it), or all."""
    if district is None:
        return gridset.grids
    ids = gridset.ancestors.index[gridset.ancestors["district_id"] == district]
    return gridset.grids.loc[gridset.grids["grid_id"].isin(ids)].reset_index(drop=True)


def run_plan(
    database: Database,
    grid_cache: GridCache,
    networks: NetworkCache,
    settings: Settings,
    plan_id: str,
    request: dict[str, Any],
    *,
    solver: Callable[..., SolvedPlan] = solve,
) -> None:
    """Run one job to completion, storing the plan document or the error (never raises).

    ``solver`` solves the shift's problem (:func:`api.planning.plan_shift`): in this thread by
    default, on a Dask cluster with :meth:`api.services.plan_executor.PlanExecutor.solve`. A
    solve cancelled because the server stops fails the job as :data:`INTERRUPTED`.
    """
    from geo.hierarchy import leaf_grids

    try:
        start_job(database, plan_id)
        units = parse_units(request["units"], source="request body 'units'")
        district = request.get("district")
        grids = district_grids(grid_cache.get(), district)
        if not len(grids):
            msg = f"district: no grids stored{f' in district {district!r}' if district else ''}"
            raise PlannerError(msg)
        admin = Principal(role="admin", subject="planner")
        joined = joined_incidents(database, admin)
        if district is not None:
            joined = joined.loc[joined["district_id"] == district]
        incidents = gpd.GeoDataFrame(
            joined,
            geometry=gpd.points_from_xy(joined["lon"], joined["lat"]),
            crs="EPSG:4326",
        )
        # police-only categories (their grids' risk stops need a police kind), as the CLI reads
        # them from --categories: the configured table, or every shipped table
        table = load_categories(settings.categories)
        incidents["police_only"] = table.classify(incidents["category"]).police_only
        network_path = settings.network_path
        if network_path is None:
            msg = "planning needs PATROLGRID_NETWORK_PATH (an OpenStreetMap file)"
            raise PlannerError(msg)
        area = leaf_grids(grids).union_all()
        network = networks.get(network_path, area, settings.network_cache_dir)
        run = plan_shift(
            grids,
            incidents,
            network,
            units,
            time_limit_s=min(float(request.get("time_limit_s", 10.0)), settings.plan_time_limit_s),
            seed=int(request.get("seed", 0)),
            max_stops=request.get("max_stops"),
            backend=request.get("backend") or DEFAULT_BACKEND,
            risk_source=str(request.get("risk", "forecast")),
            lang=str(request.get("lang", "en")),
            category_skills=category_skills(table.table) if settings.categories else None,
            solver=solver,
        )
        risk = run.risk[["grid_id", "count", "risk"]].to_dict(orient="records")
        from .shift import store_version_zero  # re-planning keeps the shift of version 0

        store_version_zero(
            database, plan_id, run, grids, network=str(network_path), actor="planner"
        )
        finish_job(database, plan_id, result={"plan": run.document, "risk": risk}, error=None)
    except (GeoError, PlannerError, MapsError, OSError, KeyError, ValueError) as exc:
        finish_job(database, plan_id, result=None, error=str(exc))
    except CancelledError:
        finish_job(database, plan_id, result=None, error=INTERRUPTED)
    except Exception as exc:  # a bug: keep the job honest, log the trace server-side
        log.exception("plan job %s failed", plan_id)
        finish_job(database, plan_id, result=None, error=f"internal error ({type(exc).__name__})")


#: Summary members that describe the shift, not the plan's police side: kept for volunteers.
_SHIFT_MEMBERS = ("shift_start", "shift_end", "timezone")


def volunteer_summary(summary: dict[str, Any], routes: list[dict[str, Any]]) -> dict[str, Any]:
    """A plan summary built only from the routes a volunteer sees (a whitelist).

    The shift's clock is kept; every figure is recomputed from ``routes``; nothing of the
    rest of the plan (police presence, risk totals, readiness, unassigned grids) is carried.
    """
    out = {k: summary[k] for k in _SHIFT_MEMBERS if k in summary}
    out["units"] = len({r.get("unit_id") for r in routes})
    out["routes"] = len(routes)
    out["visits"] = sum(
        1 for r in routes for step in r.get("steps", []) if step.get("type") == "visit"
    )
    out["distance_m"] = round(sum(float(r.get("distance_m") or 0) for r in routes), 1)
    out["duration_s"] = int(sum(float(r.get("duration_s") or 0) for r in routes))
    return out


def visible_routes(
    plan: dict[str, Any], principal: Principal, gridset: GridSet
) -> list[dict[str, Any]]:
    """The routes the caller may see, through the maps privacy whitelist where needed.

    Staff see every route (police routes keep their incident summaries). A volunteer sees only
    civilian routes whose visits all lie in its community, never with incidents.
    """
    routes = plan.get("routes", [])
    if principal.role != "volunteer":
        return list(routes)
    mine = set(gridset.ancestors.index[gridset.ancestors["community_id"] == principal.community])
    out = []
    for route in routes:
        if route.get("kind") not in CIVILIAN_KINDS:
            continue
        visits = [s for s in route.get("steps", []) if s.get("type") == "visit"]
        if visits and all(s.get("grid_id") in mine for s in visits):
            out.append(export_route(route, audience="volunteer"))
    return out
