"""Build the solver-agnostic :class:`~planner.model.Problem` from a units file and a stop table.

Two steps, so that everything but the street network is pure and testable with hand-made
matrices:

1. :func:`problem_points` lists the places (depots first, then stops) whose travel times are
   needed; the caller computes one matrix per mode over them.
2. :func:`assemble_problem` turns units, stops and matrices into a ``Problem``.

:func:`build_problem` does both with a :mod:`geo.network` network: each stop is placed on a
street point inside its grid (``network.stop_in_polygon``) and the matrices come from
``network.travel_time_matrix`` / ``network.distance_matrix``.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd
import shapely

from geo.errors import GeoError
from geo.hierarchy import ancestor_table

from .checkpoints import checkpoint_stop, checkpoint_windows
from .errors import ProblemError
from .model import POLICE_KINDS, Break, Problem, Stop, Unit
from .units_file import UnitsFile

__all__ = [
    "Network",
    "allowed_leaves",
    "assemble_problem",
    "build_problem",
    "locate_stops",
    "mode_points",
    "problem_points",
]


class Network(Protocol):
    """What :func:`build_problem` needs of a street network (``geo.network``)."""

    def travel_time_matrix(self, lon: Any, lat: Any, mode: str) -> np.ndarray: ...

    def distance_matrix(self, lon: Any, lat: Any, mode: str) -> np.ndarray: ...

    def stop_in_polygon(
        self, polygon: Any, mode: str, *, near: Any = None
    ) -> tuple[float, float]: ...


def allowed_leaves(grids: pd.DataFrame, ids: Collection[str]) -> frozenset[str]:
    """Leaf grid ids inside any of ``ids`` (ids of any level; a leaf id stands for itself).

    The id of a unit cut by a parent border (pieces ``1412@14``, ``1412@15`` from
    ``grids build``) stands for every piece.

    Raises
    ------
    ProblemError
        When an id names no grid.
    """
    table = ancestor_table(grids)
    known = set(table.index.astype(str))
    # A unit cut by a parent border is pieces "{id}@{parent}": its own id means every piece.
    pieces: dict[str, set[str]] = {}
    for grid_id in known:
        base = grid_id.split("@", 1)[0]
        if base != grid_id:
            pieces.setdefault(base, set()).add(grid_id)
    unknown = [g for g in ids if str(g) not in known and str(g) not in pieces]
    if unknown:
        near = difflib.get_close_matches(str(unknown[0]), sorted(known), n=3)
        hint = f" (close: {', '.join(near)})" if near else ""
        msg = (
            f"grid ids {unknown[:5]} are not in the grids file{hint}; use grid_id values of "
            "any level"
        )
        raise ProblemError(msg)
    wanted = {str(g) for g in ids if str(g) in known}
    for g in ids:
        wanted |= pieces.get(str(g), set())
    parents = set(grids["parent_id"].dropna().astype(str))
    leaves = table.loc[~table.index.astype(str).isin(parents)]
    hit = leaves.index.astype(str).isin(wanted)
    for col in leaves.columns:
        hit |= leaves[col].astype(str).isin(wanted).to_numpy()
    return frozenset(leaves.index.astype(str)[hit])


def problem_points(units: UnitsFile, stops: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of every place of the problem, in matrix order.

    Depots (start and end, deduplicated, in the units' order) come first, then one place per
    stop row (columns ``lon``, ``lat``), then one per checkpoint of the units file.
    """
    depots: list[tuple[float, float]] = []
    for u in units.units:
        for p in (u.depot, u.end_depot or u.depot):
            if p not in depots:
                depots.append(p)
    cps = units.checkpoints
    lon = np.concatenate(
        [[p[0] for p in depots], stops["lon"].to_numpy(dtype=float), [c.lon for c in cps]]
    )
    lat = np.concatenate(
        [[p[1] for p in depots], stops["lat"].to_numpy(dtype=float), [c.lat for c in cps]]
    )
    return lon, lat


def _seconds(ts: pd.Timestamp, origin: pd.Timestamp) -> int:
    return round((ts - origin).total_seconds())


def assemble_problem(
    units: UnitsFile,
    stops: pd.DataFrame,
    *,
    travel_s: Mapping[str, np.ndarray],
    distance_m: Mapping[str, np.ndarray] | None = None,
    allowed: Mapping[str, frozenset[str] | None] | None = None,
    police_only: Collection[str] = (),
    checkpoint_grids: Mapping[str, str] | None = None,
) -> Problem:
    """Turn units, a stop table and matrices over :func:`problem_points` into a Problem.

    Parameters
    ----------
    units
        The parsed units file; second 0 of the problem is its shift start.
    stops
        Stop table (:func:`planner.stops.stop_table`) with ``lon`` and ``lat`` added.
    travel_s, distance_m
        Matrices per mode over :func:`problem_points` (seconds, metres).
    allowed
        Leaf grid ids each unit may enter (None: anywhere); default from each unit's ``grids``
        taken as leaf ids.
    police_only
        Leaf grid ids only police may enter (every stop there, presence doses included).
        A stop row whose ``police_only`` column is true (a grid whose risk comes from
        police-only categories, :func:`planner.stops.police_only_grids`) also needs a police
        kind.
    checkpoint_grids
        The leaf grid each checkpoint (by name) lies in; ``"checkpoint:<name>"`` when unknown
        (then only units without an area may serve it).
    """
    lon, lat = problem_points(units, stops)
    n_depots = len(lon) - len(stops) - len(units.checkpoints)
    depot_index = {
        (float(x), float(y)): i
        for i, (x, y) in enumerate(zip(lon[:n_depots], lat[:n_depots], strict=True))
    }
    origin = units.shift_start
    police = {str(g) for g in police_only}
    built_units = []
    for u in units.units:
        area = (
            allowed[u.unit_id]
            if allowed is not None
            else (None if u.grids is None else frozenset(u.grids))
        )
        built_units.append(
            Unit(
                unit_id=u.unit_id,
                kind=u.kind,
                mode=u.mode,
                start_location=depot_index[u.depot],
                end_location=depot_index[u.end_depot or u.depot],
                shift_start_s=_seconds(u.shift_start, origin),
                shift_end_s=_seconds(u.shift_end, origin),
                max_duration_s=u.max_duration_s,
                breaks=tuple(
                    Break(
                        f"break-{j + 1}",
                        _seconds(b.earliest, origin),
                        _seconds(b.latest, origin),
                        b.duration_s,
                        location=depot_index[u.depot] if b.at_depot else None,
                    )
                    for j, b in enumerate(u.breaks)
                ),
                skills=u.skills,
                allowed_grids=area,
            )
        )
    built_stops = []
    for k, row in enumerate(stops.itertuples(index=False)):
        grid = str(row.grid_id)
        built_stops.append(
            Stop(
                stop_id=str(row.stop_id),
                grid_id=grid,
                location=n_depots + k,
                dwell_s=int(getattr(row, "dwell_s", units.dwell_s)),
                windows=tuple(tuple(w) for w in row.windows),
                prize=float(row.prize),
                visits=int(getattr(row, "visits", 1)),
                min_gap_s=int(getattr(row, "min_gap_s", 7200)),
                kinds=(
                    POLICE_KINDS
                    if grid in police or bool(getattr(row, "police_only", False))
                    else None
                ),
                presence=bool(getattr(row, "presence", False)),
                skills=frozenset(getattr(row, "skills", None) or ()),
            )
        )
    for k, cp in enumerate(units.checkpoints):
        dwell = units.dwell_s if cp.dwell_s is None else cp.dwell_s
        windows = checkpoint_windows(
            cp, origin=origin, shift_end=units.shift_end, timezone=units.timezone, dwell_s=dwell
        )
        built_stops.append(
            checkpoint_stop(
                cp.name,
                location=n_depots + len(stops) + k,
                grid_id=(checkpoint_grids or {}).get(cp.name),
                windows=windows,
                dwell_s=dwell,
                kinds=cp.kinds,
            )
        )
    return Problem(
        locations=tuple(zip(lon.tolist(), lat.tolist(), strict=True)),
        travel_s=travel_s,
        distance_m=distance_m,
        units=tuple(built_units),
        stops=tuple(built_stops),
        start=origin.to_pydatetime(),
        timezone=units.timezone,
    )


def locate_stops(
    stops: pd.DataFrame, grids: pd.DataFrame, network: Network, *, mode: str
) -> pd.DataFrame:
    """Add ``lon``/``lat``: a street point inside each stop's grid, routable by ``mode``.

    The point is the routable street point inside the grid nearest to ``near_lon``/``near_lat``
    when the stop table has them (e.g. the grid's incident-weighted centre, from
    :func:`planner.stops.incident_centres`), else nearest to the grid's representative point.
    A grid crossed by no routable street keeps a street point just outside it (within
    ``MAX_OUTSIDE_M``, e.g. a cell inside a park's edge); stops whose grid has no routable street
    point that near are dropped and listed in ``result.attrs["unplaced"]`` (grid ids).
    """
    geometry = grids.set_index(grids["grid_id"].astype(str))["geometry"]
    has_near = {"near_lon", "near_lat"} <= set(stops.columns)
    lon, lat, keep, unplaced = [], [], [], []
    for i, gid in enumerate(stops["grid_id"].astype(str)):
        if gid not in geometry.index:
            msg = f"stop table: grid_id {gid!r} is not in the grids"
            raise ProblemError(msg)
        near = None
        if has_near and pd.notna(stops["near_lon"].iat[i]) and pd.notna(stops["near_lat"].iat[i]):
            near = (float(stops["near_lon"].iat[i]), float(stops["near_lat"].iat[i]))
        try:
            spot = network.stop_in_polygon(geometry[gid], mode, near=near)
        except GeoError:
            unplaced.append(gid)
            continue
        if not getattr(spot, "inside", True) and getattr(spot, "distance_m", 0.0) > MAX_OUTSIDE_M:
            unplaced.append(gid)
            continue
        lon.append(float(spot[0]))
        lat.append(float(spot[1]))
        keep.append(i)
    out = stops.iloc[keep].copy()
    out["lon"] = lon
    out["lat"] = lat
    out.attrs["unplaced"] = unplaced
    return out.reset_index(drop=True)


#: How far outside its grid a stop may sit when no routable street crosses the grid.
MAX_OUTSIDE_M = 100.0

#: Travel time written between places a mode never uses (depots of other modes' units): finite,
#: so no infinity reaches a solver, and far beyond any shift, so no route can use it.
UNUSED_S = 30 * 24 * 3600.0


def mode_points(units: UnitsFile, n_places: int, mode: str) -> np.ndarray:
    """Indices (in :func:`problem_points` order) of the places units of ``mode`` may use.

    Those are the depots of that mode's units and every stop; a walking volunteer's meeting
    point in a pedestrian square need not be reachable by car.
    """
    depots: list[tuple[float, float]] = []
    used: set[int] = set()
    for u in units.units:
        for p in (u.depot, u.end_depot or u.depot):
            if p not in depots:
                depots.append(p)
            if u.mode == mode:
                used.add(depots.index(p))
    return np.array(sorted(used) + list(range(len(depots), n_places)), dtype=int)


def _embed(sub: Any, idx: np.ndarray, n: int) -> np.ndarray:
    full = np.full((n, n), UNUSED_S)
    np.fill_diagonal(full, 0.0)
    full[np.ix_(idx, idx)] = np.asarray(sub, dtype=float)
    return full


def build_problem(
    units: UnitsFile,
    stops: pd.DataFrame,
    *,
    grids: pd.DataFrame,
    network: Network,
) -> Problem:
    """Place the stops on the network, compute the matrices and assemble the problem.

    Parameters
    ----------
    units
        Parsed units file (its ``grids`` and ``police_only`` ids may be of any level).
    stops
        Stop table from :func:`planner.stops.stop_table` (without ``lon``/``lat``).
    grids
        The grids frame (all levels).
    network
        A ``geo.network`` network.
    """
    modes = sorted({u.mode for u in units.units})
    place_mode = "drive" if "drive" in modes else modes[0]
    placed = locate_stops(stops, grids, network, mode=place_mode)
    lon, lat = problem_points(units, placed)
    travel: dict[str, np.ndarray] = {}
    dist: dict[str, np.ndarray] = {}
    for m in modes:
        idx = mode_points(units, len(lon), m)
        if hasattr(network, "matrices"):
            seconds, metres = network.matrices(lon[idx], lat[idx], m)
        else:
            seconds = network.travel_time_matrix(lon[idx], lat[idx], m)
            metres = network.distance_matrix(lon[idx], lat[idx], m)
        travel[m] = _embed(seconds, idx, len(lon))
        dist[m] = _embed(metres, idx, len(lon))
    allowed = {
        u.unit_id: None if u.grids is None else allowed_leaves(grids, u.grids) for u in units.units
    }
    police = allowed_leaves(grids, units.police_only) if units.police_only else frozenset()
    return assemble_problem(
        units,
        placed,
        travel_s=travel,
        distance_m=dist,
        allowed=allowed,
        police_only=police,
        checkpoint_grids=checkpoint_grids(units, grids),
    )


def checkpoint_grids(units: UnitsFile, grids: pd.DataFrame) -> dict[str, str]:
    """The leaf grid each checkpoint lies in (checkpoints outside every grid are left out)."""
    if not units.checkpoints:
        return {}
    parents = set(grids["parent_id"].dropna().astype(str))
    leaves = grids.loc[~grids["grid_id"].astype(str).isin(parents)]
    out: dict[str, str] = {}
    for cp in units.checkpoints:
        point = shapely.Point(cp.lon, cp.lat)
        hit = leaves.loc[leaves.geometry.covers(point)]
        if len(hit):
            out[cp.name] = str(hit["grid_id"].iloc[0])
    return out
