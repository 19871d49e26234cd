"""City-wide planning, one plan per district (or street, community), solved on a Dask cluster.

Each district plans independently: its own grids, the incidents joined to them and the units
that belong to it. A unit belongs to the district holding most of the leaf grids it is
restricted to (its ``grids``), or, when unrestricted, to the district whose polygon holds its
depot. The problems are built here, in one process, from the city's network; only each small
:class:`~planner.model.Problem` travels to a worker (:func:`planner.fanout.plan_stations`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from api.planning import PlanRun, finish_run, shift_problem, write_outputs
from geo.hierarchy import ANCESTOR_COLUMNS, ancestor_table, as_text
from geo.join import join_incidents
from geo.network import Network
from planner.errors import PlannerError
from planner.fanout import plan_stations
from planner.problem import allowed_leaves
from planner.solve import DEFAULT_BACKEND
from planner.units_file import UnitsFile

__all__ = [
    "AreaPlans",
    "area_grids",
    "area_of_units",
    "folder_name",
    "plan_by_area",
    "write_area_outputs",
]


@dataclass(frozen=True)
class AreaPlans:
    """The runs per area id, the units no area holds, the areas without units, the fan-out."""

    by: str
    runs: dict[str, PlanRun]
    homeless_units: tuple[str, ...]
    idle_areas: tuple[str, ...]
    workers: int
    wall_s: float


def _areas(grids: gpd.GeoDataFrame, by: str) -> pd.Series:
    """Per grid id, the id of its ancestor at level ``by`` (None above that level)."""
    if by not in ANCESTOR_COLUMNS:
        msg = f"--by: {by!r} is not one of {', '.join(ANCESTOR_COLUMNS)}"
        raise PlannerError(msg)
    return ancestor_table(grids)[ANCESTOR_COLUMNS[by]]


def area_grids(
    grids: gpd.GeoDataFrame, by: str, area_id: str, *, areas: pd.Series | None = None
) -> gpd.GeoDataFrame:
    """The rows of one area: its own row at level ``by`` and every row below it.

    ``areas`` is the grid id -> area id series when the caller has it already.
    """
    areas = _areas(grids, by) if areas is None else areas
    return grids.loc[as_text(grids["grid_id"]).map(areas).eq(area_id).to_numpy()]


def area_of_units(grids: gpd.GeoDataFrame, units: UnitsFile, by: str) -> dict[str, str | None]:
    """Unit id -> the area (grid id at level ``by``) it plans in; None when no area holds it."""
    area = _areas(grids, by)
    rows = grids.loc[as_text(grids["level"]) == by]
    tree = shapely.STRtree(rows.geometry.to_numpy())
    ids = as_text(rows["grid_id"]).to_numpy()
    out: dict[str, str | None] = {}
    for unit in units.units:
        if unit.grids:
            held = area.reindex(sorted(allowed_leaves(grids, unit.grids))).dropna()
            counts = held.value_counts()
            best = counts[counts == counts.max()].index if len(counts) else []
            out[unit.unit_id] = min(best) if len(best) else None
        else:
            hit = tree.query(shapely.Point(unit.depot), predicate="intersects")
            out[unit.unit_id] = str(min(ids[hit])) if len(hit) else None
    return out


def plan_by_area(
    grids: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame,
    network: Network,
    units: UnitsFile,
    *,
    by: str = "district",
    scheduler: str | None = None,
    n_workers: int | None = None,
    time_limit_s: float = 10.0,
    seed: int = 0,
    max_stops: int | None = None,
    backend: str = DEFAULT_BACKEND,
    category_skills: dict[str, str] | None = None,
    risk_source: str = "forecast",
    lang: str = "en",
) -> AreaPlans:
    """Plan every area that has units, the solves fanned out over Dask.

    Parameters
    ----------
    grids, incidents, network, units
        As for :func:`api.planning.plan_shift`, for the whole city.
    by
        Level whose grids split the city: ``district``, ``street`` or ``community``.
    scheduler
        Address of a running Dask scheduler; a local cluster of ``n_workers`` when None.
    time_limit_s, seed, max_stops, backend, category_skills, risk_source, lang
        Per area, as for :func:`api.planning.plan_shift` (each area's risk, forecast and
        ``why`` come from its own incidents).
    """
    area = _areas(grids, by)
    owner = area_of_units(grids, units, by)
    joined = incidents if "grid_id" in incidents.columns else join_incidents(incidents, grids)
    leaf_area = area.reindex(joined["grid_id"].astype(str)).to_numpy()
    built = {}
    for area_id in sorted({a for a in owner.values() if a is not None}):
        mine = tuple(u for u in units.units if owner[u.unit_id] == area_id)
        area_units = replace(units, units=mine)
        area_incidents = joined.loc[leaf_area == area_id]
        built[area_id] = (
            area_units,
            shift_problem(
                area_grids(grids, by, area_id, areas=area),
                area_incidents,
                network,
                area_units,
                max_stops=max_stops,
                category_skills=category_skills,
                risk_source=risk_source,
                lang=lang,
            ),
        )
    fanned = plan_stations(
        {a: b[1][0] for a, b in built.items()},
        time_limit_s=time_limit_s,
        seed=seed,
        backend=backend,
        scheduler=scheduler,
        n_workers=n_workers,
    )
    runs = {}
    for area_id, (area_units, (problem, stops, before, risk)) in built.items():
        runs[area_id] = finish_run(
            problem,
            fanned.plans[area_id],
            network,
            area_units,
            stops=stops,
            before=before,
            risk=risk,
        )
    all_areas = sorted(as_text(grids.loc[as_text(grids["level"]) == by, "grid_id"]))
    return AreaPlans(
        by=by,
        runs=runs,
        homeless_units=tuple(sorted(u for u, a in owner.items() if a is None)),
        idle_areas=tuple(a for a in all_areas if a not in runs),
        workers=fanned.workers,
        wall_s=fanned.wall_s,
    )


def folder_name(area_id: str) -> str:
    """A file-system-safe folder name for an area id (``North/1`` -> ``North_1``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", area_id).strip("._") or "area"


def write_area_outputs(
    plans: AreaPlans,
    grids: gpd.GeoDataFrame,
    out_dir: Path,
    *,
    network: Network | None = None,
    lang: str = "en",
    crs: str = "wgs84",
) -> dict[str, Path]:
    """Write each area's outputs (:func:`api.planning.write_outputs`, ``lang`` and ``crs`` as
    there) to ``out_dir/<area id>/``."""
    folders: dict[str, Path] = {}
    areas = _areas(grids, plans.by)
    for area_id, run in plans.runs.items():
        folder = out_dir / folder_name(area_id)
        if folder in folders.values():
            msg = f"--by: areas {area_id!r} and another share the folder name {folder.name!r}"
            raise PlannerError(msg)
        write_outputs(
            run,
            area_grids(grids, plans.by, area_id, areas=areas),
            folder,
            network=network,
            lang=lang,
            crs=crs,
        )
        folders[area_id] = folder
    return folders
