"""The shift file: everything re-planning needs, kept beside plan.json (``shift.npz``).

``patrolgrid plan`` writes it; ``patrolgrid replan`` and ``POST /plans/{id}/events`` read it and
write the next version. One compressed NumPy archive: the travel-time and distance matrices
(``travel__<mode>``, ``distance__<mode>``, float64 as solved, so a kept route replays exactly) and
one JSON member ``meta`` with the places, units, stops, the current plan (steps with their
place indices), the leaf grids of the planned area (WKB, for joining event and GPS points to
grids), the units out of service, the last reported positions, the re-plan time and version,
and the street network file the plan was built from (a reference only).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from .errors import PlannerError
from .model import Break, Plan, Problem, Route, Stop, Unassigned, Unit, Visit

__all__ = ["FORMAT", "ShiftState", "load_shift", "read_shift", "save_shift", "shift_bytes"]

#: Version of the file layout.
FORMAT = 1


@dataclass(frozen=True)
class ShiftState:
    """A shift as re-planning sees it: the problem, the current plan, and what happened so far.

    Attributes
    ----------
    problem, plan
        The shift's problem (places and stops grow with events) and its current plan.
    grid_ids, grid_wkb
        Leaf grids of the planned area (ids and WKB polygons, EPSG:4326).
    unavailable
        Units out of service, with the time (s) they went out.
    positions
        Last reported place per unit: ``(location index, at_s)``.
    replanned_at_s
        Time of the last re-plan (None before the first); events may not be older.
    version
        0 for the plan as made, +1 per re-plan.
    network
        Reference to the street network file the plan was built from (or None).
    """

    problem: Problem
    plan: Plan
    grid_ids: tuple[str, ...] = ()
    grid_wkb: tuple[bytes, ...] = ()
    unavailable: Mapping[str, int] = field(default_factory=dict)
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    replanned_at_s: int | None = None
    version: int = 0
    network: str | None = None

    def grids(self) -> Any:
        """The leaf grids as a flat grids frame (``grid_id``, ``level`` "grid", ``geometry``)."""
        import geopandas as gpd

        geoms = shapely.from_wkb(np.array(self.grid_wkb, dtype=object)) if self.grid_wkb else []
        n = len(self.grid_ids)
        return gpd.GeoDataFrame(
            {
                "grid_id": list(self.grid_ids),
                "level": ["grid"] * n,
                "parent_id": [None] * n,
                "name": list(self.grid_ids),
            },
            geometry=list(geoms),
            crs=4326,
        )


def _unit(u: Unit) -> dict[str, Any]:
    out = dataclasses.asdict(u)
    out["skills"] = sorted(u.skills)
    out["allowed_grids"] = None if u.allowed_grids is None else sorted(u.allowed_grids)
    return out


def _stop(s: Stop) -> dict[str, Any]:
    out = dataclasses.asdict(s)
    out["skills"] = sorted(s.skills)
    out["kinds"] = None if s.kinds is None else sorted(s.kinds)
    out["windows"] = [list(w) for w in s.windows]
    return out


def _plan(plan: Plan) -> dict[str, Any]:
    return {
        "routes": [
            {
                "unit_id": r.unit_id,
                "start_s": r.start_s,
                "end_s": r.end_s,
                "steps": [dataclasses.astuple(s) for s in r.steps],
            }
            for r in plan.routes
        ],
        "unassigned": [dataclasses.asdict(u) for u in plan.unassigned],
        "backend": plan.backend,
        "seed": plan.seed,
        "objective": plan.objective,
        "solve_s": plan.solve_s,
    }


def shift_bytes(state: ShiftState) -> bytes:
    """The shift file's content (what :func:`save_shift` writes)."""
    p = state.problem
    meta = {
        "format": FORMAT,
        "locations": [list(x) for x in p.locations],
        "units": [_unit(u) for u in p.units],
        "stops": [_stop(s) for s in p.stops],
        "start": None if p.start is None else p.start.isoformat(),
        "timezone": p.timezone,
        "has_distance": p.distance_m is not None,
        "plan": _plan(state.plan),
        "grid_ids": list(state.grid_ids),
        "grid_wkb": [g.hex() for g in state.grid_wkb],
        "unavailable": dict(state.unavailable),
        "positions": {k: list(v) for k, v in state.positions.items()},
        "replanned_at_s": state.replanned_at_s,
        "version": state.version,
        "network": state.network,
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    }
    for mode, m in p.travel_s.items():
        arrays[f"travel__{mode}"] = np.asarray(m)
    for mode, m in (p.distance_m or {}).items():
        arrays[f"distance__{mode}"] = np.asarray(m)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def save_shift(state: ShiftState, path: str | Path) -> Path:
    """Write the shift file (``shift.npz``)."""
    path = Path(path)
    path.write_bytes(shift_bytes(state))
    return path


def read_shift(data: bytes, *, source: str = "shift file") -> ShiftState:
    """Read a shift file's content.

    Raises
    ------
    PlannerError
        When the content is not a shift file of this version.
    """
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            meta = json.loads(bytes(archive["meta"]).decode("utf-8"))
            travel = {k[8:]: archive[k] for k in archive.files if k.startswith("travel__")}
            dist = {k[10:]: archive[k] for k in archive.files if k.startswith("distance__")}
    except (OSError, ValueError, KeyError) as exc:
        msg = f"{source}: not a patrolgrid shift file ({exc}); make it with `patrolgrid plan`"
        raise PlannerError(msg) from None
    if meta.get("format") != FORMAT:
        msg = f"{source}: shift file format {meta.get('format')!r}, expected {FORMAT}"
        raise PlannerError(msg)
    units = tuple(
        Unit(
            **{
                **u,
                "breaks": tuple(Break(**b) for b in u["breaks"]),
                "skills": frozenset(u["skills"]),
                "allowed_grids": None
                if u["allowed_grids"] is None
                else frozenset(u["allowed_grids"]),
            }
        )
        for u in meta["units"]
    )
    stops = tuple(
        Stop(
            **{
                **s,
                "windows": tuple(tuple(w) for w in s["windows"]),
                "skills": frozenset(s["skills"]),
                "kinds": None if s["kinds"] is None else frozenset(s["kinds"]),
            }
        )
        for s in meta["stops"]
    )
    problem = Problem(
        locations=tuple(tuple(x) for x in meta["locations"]),
        travel_s=travel,
        distance_m=dist if meta["has_distance"] else None,
        units=units,
        stops=stops,
        start=None if meta["start"] is None else dt.datetime.fromisoformat(meta["start"]),
        timezone=meta["timezone"],
    )
    raw = meta["plan"]
    plan = Plan(
        routes=tuple(
            Route(r["unit_id"], r["start_s"], r["end_s"], tuple(Visit(*s) for s in r["steps"]))
            for r in raw["routes"]
        ),
        unassigned=tuple(Unassigned(**u) for u in raw["unassigned"]),
        backend=raw["backend"],
        seed=raw["seed"],
        objective=raw["objective"],
        solve_s=raw["solve_s"],
    )
    return ShiftState(
        problem=problem,
        plan=plan,
        grid_ids=tuple(meta["grid_ids"]),
        grid_wkb=tuple(bytes.fromhex(g) for g in meta["grid_wkb"]),
        unavailable={k: int(v) for k, v in meta["unavailable"].items()},
        positions={k: (int(v[0]), int(v[1])) for k, v in meta["positions"].items()},
        replanned_at_s=meta["replanned_at_s"],
        version=int(meta["version"]),
        network=meta["network"],
    )


def load_shift(path: str | Path) -> ShiftState:
    """Read ``shift.npz`` (or the ``shift.npz`` inside a plan folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "shift.npz"
    if not path.is_file():
        msg = f"{path}: no shift file; plan the shift again with `patrolgrid plan` to write it"
        raise PlannerError(msg)
    return read_shift(path.read_bytes(), source=str(path))
