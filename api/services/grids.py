"""Grids in the database: store a grids frame, read it back as the grids contract.

The frame comes from :func:`geo.grids.load_grids` (files) and is checked by
:func:`geo.hierarchy.ancestor_table`; the ancestors of every row are stored with it so that
incidents and scopes can be filtered by district or community in the database.
"""

from __future__ import annotations

import math
import numbers
import threading
import time
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from api.db.engine import Database
from api.db.models import Grid
from api.db.spatial import bounds_of
from api.validation import check_identifier, text_problem
from geo.errors import GridError
from geo.hierarchy import LEVELS, ancestor_table
from geo.join import GridIndex

__all__ = ["GridCache", "GridSet", "grids_frame", "store_grids"]

_OPTIONAL = ("households", "population", "station_id")


def grids_frame(session: Session) -> gpd.GeoDataFrame:
    """Every stored grid as a grids-contract GeoDataFrame (EPSG:4326), ordered by id."""
    rows = session.execute(
        sa.select(
            Grid.grid_id,
            Grid.level,
            Grid.parent_id,
            Grid.name,
            Grid.households,
            Grid.population,
            Grid.station_id,
            Grid.geom,
        ).order_by(Grid.grid_id)
    ).all()
    columns = ["grid_id", "level", "parent_id", "name", *_OPTIONAL, "geometry"]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def store_grids(session: Session, grids: gpd.GeoDataFrame) -> int:
    """Insert or replace ``grids`` (by ``grid_id``); returns the number of rows stored.

    The hierarchy is checked together with the grids already stored (a file may add the
    leaves of districts stored earlier).

    Raises
    ------
    GridError
        Missing columns, an unknown level, a CRS other than EPSG:4326, or broken parent links.
    """
    missing = [c for c in ("grid_id", "level", "parent_id", "geometry") if c not in grids.columns]
    if missing:
        msg = f"grids: missing column(s) {', '.join(missing)}; expected the grids contract"
        raise GridError(msg)
    if grids.crs is None or grids.crs.to_epsg() != 4326:
        msg = f"grids: CRS must be EPSG:4326 to be stored, not {grids.crs}; load with geo.grids.load_grids"
        raise GridError(msg)
    bad_levels = sorted(set(grids["level"]) - set(LEVELS))
    if bad_levels:
        msg = f"grids: level {bad_levels[0]!r} is not one of {', '.join(LEVELS)}"
        raise GridError(msg)
    new = grids.copy()
    new["grid_id"] = new["grid_id"].astype(str)
    if new["grid_id"].duplicated().any():
        dup = new.loc[new["grid_id"].duplicated(), "grid_id"].iloc[0]
        msg = f"grids: grid_id {dup!r} appears more than once; ids must be unique"
        raise GridError(msg)
    stored = grids_frame(session)
    stored = stored.loc[~stored["grid_id"].isin(new["grid_id"])]
    combined = pd.concat(
        [stored[["grid_id", "level", "parent_id"]], new[["grid_id", "level", "parent_id"]]]
    )
    ancestors = ancestor_table(combined)
    records = []
    for row in new.itertuples(index=False):
        geometry = row.geometry
        if geometry is None or geometry.is_empty:
            msg = f"grids: grid {row.grid_id!r} has no geometry"
            raise GridError(msg)
        chain = ancestors.loc[row.grid_id]
        record = {
            "grid_id": row.grid_id,
            "level": str(row.level),
            "parent_id": None if pd.isna(row.parent_id) else str(row.parent_id),
            "name": None if pd.isna(getattr(row, "name", None)) else str(row.name),
            "district_id": chain["district_id"],
            "street_id": chain["street_id"],
            "community_id": chain["community_id"],
            "geom": geometry,
            **bounds_of(geometry),
        }
        for column in _OPTIONAL:
            record[column] = _optional(column, getattr(row, column, None), row.grid_id)
        _check_record(record)
        records.append(record)
    ids = [r["grid_id"] for r in records]
    for start in range(0, len(ids), 500):
        session.execute(sa.delete(Grid).where(Grid.grid_id.in_(ids[start : start + 500])))
    if records:
        session.execute(sa.insert(Grid), records)
    return len(records)


def _optional(column: str, value: object, grid_id: object) -> object:
    """An optional column's value as stored: None, a finite number, or text (station_id)."""
    if value is None:
        return None
    if isinstance(value, list | tuple | dict | set | np.ndarray):
        msg = f"grids: grid {grid_id!r}: {column} must be a single value"
        raise GridError(msg)
    if pd.isna(value):
        return None
    if column == "station_id":
        return str(value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        msg = f"grids: grid {grid_id!r}: {column} must be a number"
        raise GridError(msg)
    number = float(value)
    if not math.isfinite(number):
        msg = f"grids: grid {grid_id!r}: {column} must be a finite number"
        raise GridError(msg)
    return number


_TEXT_LIMITS = {"grid_id": 128, "parent_id": 128, "name": 256, "station_id": 128}


def _check_record(record: dict[str, object]) -> None:
    """Refuse text a URL or the database cannot carry (see :mod:`api.validation`)."""
    for column, limit in _TEXT_LIMITS.items():
        value = record[column]
        if value is None:
            continue
        text = str(value)
        problem = text_problem(text)
        if problem is None and len(text) > limit:
            problem = f"is longer than {limit} characters"
        if problem is None and column in ("grid_id", "parent_id"):
            try:
                check_identifier(text)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            msg = f"grids: {column} {text!r}: {problem}"
            raise GridError(msg)


@dataclass(frozen=True)
class GridSet:
    """The stored grids with their ancestor table, as read at one moment."""

    grids: gpd.GeoDataFrame
    ancestors: pd.DataFrame
    index: GridIndex | None

    @cached_property
    def chains(self) -> dict[str, dict[str, str | None]]:
        """``grid_id -> {district_id, street_id, community_id}`` as plain dicts (fast lookups)."""
        return {str(k): v for k, v in self.ancestors.to_dict(orient="index").items()}


class GridCache:
    """Process-wide cache of the stored grids for joining arriving incidents.

    Refreshed when this process stores grids, and at most ``ttl_s`` seconds stale when
    another process (``patrolgrid grids import``) does.
    """

    def __init__(self, database: Database, *, ttl_s: float = 30.0) -> None:
        self._database = database
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._value: GridSet | None = None
        self._read_at = 0.0

    def invalidate(self) -> None:
        """Forget the cached grids (after storing new ones)."""
        with self._lock:
            self._value = None

    def get(self) -> GridSet:
        """The grids, read from the database when the cache is empty or stale."""
        with self._lock:
            if self._value is None or time.monotonic() - self._read_at > self._ttl_s:
                with self._database.sessions() as session:
                    grids = grids_frame(session)
                if len(grids):
                    value = GridSet(grids, ancestor_table(grids), GridIndex.build(grids))
                else:
                    value = GridSet(grids, pd.DataFrame(), None)
                self._value = value
                self._read_at = time.monotonic()
            return self._value
