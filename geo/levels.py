"""A city's own polygon files, one per level, nested into one grids hierarchy.

A city has its own levels (community areas > police beats, or 区 > 街道 > 社区) in its own files,
each with its own id column. :func:`read_level` reads one such file; :func:`build_hierarchy`
nests them top level first (by largest overlap, cutting along the parents' borders with
:func:`geo.grids.nest_levels`' rule), optionally clips everything to an area (the street
extract's bounds, :func:`osm_bounds`) and adds generated cells under the lowest level. The
result passes :func:`geo.validate.check_grids`:

- several rows with one id in a file (a beat drawn as three polygons) become one unit, noted;
  rows with one id but different names are different units, an error naming the rows;
- polygons of one level that overlap (digitising) are made disjoint, the lower id keeping the
  shared part;
- a unit cut by a parent border becomes pieces ``{id}@{parent_id}``, each with
  ``source_id = id``, so ``grids: ["1412"]`` in a units file still means every piece of beat 1412
  (:func:`planner.problem.allowed_leaves`);
- pieces smaller than ``sliver_m2`` (or thinner than :data:`SLIVER_WIDTH_M`) are merged into the sibling (same parent) that shares the
  longest border with them; a unit left with one piece gets its plain id back;
- a parent is trimmed to the union of its children, so no parent has a gap (the land left out
  is noted).

Levels keep the standard names of the contract in ``level`` (top ``district``, lowest ``grid``,
``community`` and ``street`` between) and the city's own names in ``level_name``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from .crs import WGS84
from .errors import GridError
from .grid_contract import as_id_strings, metric_crs, polygonal
from .gridgen import make_grid, make_h3_grid
from .grids import _read_raw, clip_grids, grids_from_raw
from .hierarchy import LEVELS
from .nesting import attach

__all__ = [
    "PIECE_SEPARATOR",
    "SLIVER_M2",
    "SLIVER_WIDTH_M",
    "CityLevel",
    "build_hierarchy",
    "extract_area",
    "osm_bounds",
    "read_level",
    "standard_levels",
]

#: Pieces of a unit cut by a parent border are ``{id}{PIECE_SEPARATOR}{parent_id}``.
PIECE_SEPARATOR = "@"
#: Pieces (and generated cells) smaller than this many m2 are merged into a neighbour.
SLIVER_M2 = 5_000.0
#: Pieces of a cut unit (and cells) thinner than this on average (2 area / perimeter, m) are
#: slivers whatever their area.
SLIVER_WIDTH_M = 25.0

_BOUNDS = re.compile(rb"<bounds\s+([^>]*)/?>")
_ATTR = re.compile(rb'(minlat|minlon|maxlat|maxlon)\s*=\s*"([-0-9.eE+]+)"')


@dataclass(frozen=True)
class CityLevel:
    """One level of a city, read from its own file.

    Attributes
    ----------
    name
        The city's own name of the level (``area``, ``beat``, ``街道``...).
    units
        One row per unit (rows sharing an id merged): ``grid_id``, ``name``, ``geometry``
        (EPSG:4326).
    source
        The file read.
    notes
        What was merged on the way, one line each.
    """

    name: str
    units: gpd.GeoDataFrame
    source: str = ""
    notes: tuple[str, ...] = ()


def standard_levels(names: Sequence[str], *, cells: bool) -> list[str]:
    """The contract's level for each of a city's levels (plus the cells, when ``cells``).

    The city's names are kept when they are the standard four in order; otherwise the top
    level is ``district``, the lowest ``grid`` and those between ``community`` (nearest the
    bottom), then ``street``.

    >>> standard_levels(["area", "beat"], cells=True)
    ['district', 'community', 'grid']
    >>> standard_levels(["district", "community"], cells=False)
    ['district', 'community']
    """
    n = len(names) + (1 if cells else 0)
    if n == 0:
        msg = "grids build: give at least one --level NAME=FILE:ID_COLUMN"
        raise GridError(msg)
    if n > len(LEVELS):
        msg = (
            f"grids build: {n} levels ({', '.join(names)}{' + cells' if cells else ''}); "
            f"at most {len(LEVELS)} levels fit the hierarchy"
        )
        raise GridError(msg)
    if all(name in LEVELS for name in names):
        ranks = [LEVELS.index(name) for name in names]
        if ranks == sorted(set(ranks)) and (not cells or ranks[-1] < LEVELS.index("grid")):
            return [*names, "grid"] if cells else list(names)
    if n == 1:
        return ["grid"]
    middle = ["street", "community"][-(n - 2) :] if n > 2 else []
    return ["district", *middle, "grid"]


def read_level(
    name: str,
    path: str | os.PathLike[str],
    *,
    id_column: str,
    name_column: str | None = None,
    crs: object = None,
    layer: str | int | None = None,
) -> CityLevel:
    """Read one level's file: its id (and name) column, one unit per id.

    Rows sharing an id are merged into one unit (their polygons unioned) and noted; rows
    sharing an id but naming different units (``name_column`` differs) are an error naming the
    rows. CRS rules are :func:`geo.grids.load_grids`' (metres read as degrees are refused).

    Raises
    ------
    GridError
        A missing id column (the message lists the file's columns), a missing id, or an id
        shared by differently named rows.
    """
    path = Path(path)
    raw = _read_raw(path, layer)
    have = [str(c) for c in raw.columns if c != raw.geometry.name]
    for role, column in (("id", id_column), ("name", name_column)):
        if column is not None and column not in raw.columns:
            msg = (
                f"level {name} ({path}): no {role} column {column!r}; the file has "
                f"{', '.join(have)}"
            )
            raise GridError(msg)
    ids = as_id_strings(raw[id_column].reset_index(drop=True))
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1
        msg = f"level {name} ({path}): row {row} has no {id_column}; every unit needs an id"
        raise GridError(msg)
    # Read through the grids reader (CRS checks, repairs) with the row number as the id, so
    # that rows sharing an id stay apart until they are merged here.
    keep = [c for c in dict.fromkeys([id_column, name_column]) if c is not None]
    numbered = raw[[*keep, raw.geometry.name]].assign(
        __row__=np.arange(1, len(raw) + 1).astype(str)
    )
    numbered = numbered.rename(columns={c: f"__{c}__" for c in keep})
    read = grids_from_raw(numbered, path, crs=crs, columns={"__row__": "grid_id"})
    rows = read.grids["grid_id"].astype(int).to_numpy()
    names = (
        raw[name_column].reset_index(drop=True).astype(object)
        if name_column is not None
        else pd.Series([None] * len(raw), dtype=object)
    )
    frame = gpd.GeoDataFrame(
        {
            "row": rows,
            "grid_id": ids.to_numpy(dtype=object)[rows - 1],
            "name": names.to_numpy(dtype=object)[rows - 1],
        },
        geometry=read.grids.geometry.values,
        crs=WGS84,
    )
    units, notes = _merge_same_ids(frame, f"level {name} ({path})", id_column, name_column)
    return CityLevel(name=name, units=units, source=str(path), notes=tuple(notes))


def _merge_same_ids(
    frame: gpd.GeoDataFrame, where: str, id_column: str, name_column: str | None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    notes: list[str] = []
    records = []
    for grid_id, group in frame.groupby("grid_id", sort=True):
        names = {str(n).strip() for n in group["name"] if n is not None and not pd.isna(n)}
        if len(names) > 1:
            listed = "; ".join(
                f"row {r} {name_column}={n!r}"
                for r, n in zip(group["row"], group["name"], strict=True)
            )
            msg = (
                f"{where}: {id_column} {grid_id!r} names different units ({listed}); give "
                "each unit its own id, or drop the name column if they are one unit"
            )
            raise GridError(msg)
        geom = group.geometry.iloc[0]
        if len(group) > 1:
            geom = polygonal(shapely.union_all(np.asarray(group.geometry.array, dtype=object)))
            rows = ", ".join(str(r) for r in group["row"])
            notes.append(f"{where}: rows {rows} share id {grid_id!r}: merged into one unit")
        records.append(
            {
                "grid_id": str(grid_id),
                "name": names.pop() if names else str(grid_id),
                "geometry": geom,
            }
        )
    return gpd.GeoDataFrame(records, geometry="geometry", crs=WGS84), notes


def osm_bounds(path: str | os.PathLike[str]) -> shapely.Polygon | None:
    """The area an OpenStreetMap extract covers: its ``<bounds>`` (XML) or header box (PBF).

    None when the file declares none. Streets in an extract run past its bounds (a way is kept
    whole when one node is inside), so the bounds, not the streets' reach, are the area the
    extract really covers.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"network file {path}: not found"
        raise GridError(msg)
    if path.name.lower().endswith(".pbf"):
        try:
            import osmium

            header_box = (
                osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING).header().box()
            )
        except (ImportError, RuntimeError):
            return None
        if not header_box.valid():
            return None
        bl, tr = header_box.bottom_left, header_box.top_right
        return box(bl.lon, bl.lat, tr.lon, tr.lat)
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    found = _BOUNDS.search(head)
    if found is None:
        return None
    attrs = {k.decode(): float(v) for k, v in _ATTR.findall(found.group(1))}
    if set(attrs) != {"minlat", "minlon", "maxlat", "maxlon"}:
        return None
    return box(attrs["minlon"], attrs["minlat"], attrs["maxlon"], attrs["maxlat"])


def extract_area(path: str | os.PathLike[str], *, reach_m: float = 150.0) -> shapely.Geometry:
    """The area a street extract covers, to clip grids to: its :func:`osm_bounds`, or, when the
    file declares none, the area within ``reach_m`` of its drivable streets."""
    bounds = osm_bounds(path)
    if bounds is not None:
        return bounds
    from .network import load_network  # reading the streets only when there is no box

    return load_network(Path(path)).coverage("drive", reach_m=reach_m)


def build_hierarchy(
    levels: Sequence[CityLevel],
    *,
    area: shapely.Geometry | None = None,
    cell_m: float | None = None,
    shape: str = "square",
    h3_resolution: int = 9,
    sliver_m2: float = SLIVER_M2,
) -> gpd.GeoDataFrame:
    """Nest a city's levels (top first) into one grids frame that passes ``grids check``.

    Parameters
    ----------
    levels
        One :class:`CityLevel` per level, top level first.
    area
        Keep only this area (EPSG:4326), e.g. :func:`osm_bounds` of the street extract.
    cell_m
        Add cells of this size (``shape`` ``square`` or ``hex``) under the lowest level;
        ``shape="h3"`` always adds cells, of ``h3_resolution`` (``cell_m`` is not used).
    sliver_m2
        Pieces and cells smaller than this are merged into their neighbour.

    Returns
    -------
    geopandas.GeoDataFrame
        The grids contract (EPSG:4326) plus ``level_name`` (the city's name of each level) and
        ``source_id`` (the unit's id in its file, the same on every piece of a cut unit).
        ``attrs["notes"]`` lists what was merged, trimmed or dropped, one line each.
    """
    with_cells = cell_m is not None or shape == "h3"
    std = standard_levels([lv.name for lv in levels], cells=with_cells)
    notes: list[str] = [n for lv in levels for n in lv.notes]
    frames = []
    for level, standard in zip(levels, std, strict=False):
        units = level.units
        if area is not None:
            before = set(units["grid_id"])
            units = clip_grids(units.assign(level=standard, parent_id=None), area)
            gone = sorted(before - set(units["grid_id"]))
            if gone:
                notes.append(
                    f"level {level.name}: {len(gone)} unit(s) outside the network's area left "
                    f"out ({', '.join(gone[:5])}{' ...' if len(gone) > 5 else ''})"
                )
        if len(units) == 0:
            msg = f"level {level.name} ({level.source}): no unit lies inside the network's area"
            raise GridError(msg)
        units = _disjoint(units.reset_index(drop=True), level.name, notes)
        frames.append(
            gpd.GeoDataFrame(
                {
                    "grid_id": units["grid_id"].to_numpy(dtype=object),
                    "level": standard,
                    "parent_id": None,
                    "name": units["name"].to_numpy(dtype=object),
                    "level_name": level.name,
                    "source_id": units["grid_id"].to_numpy(dtype=object),
                },
                geometry=units.geometry.values,
                crs=WGS84,
            )
        )
    _check_ids_across_levels(frames, levels)
    crs = metric_crs(pd.concat(frames).pipe(gpd.GeoDataFrame, crs=WGS84))
    result = [frames[0]]
    for i, kids in enumerate(frames[1:], start=1):
        nested, lost = attach(kids, result[-1], crs, split=True, min_piece_m2=0.0)
        if lost:
            notes.append(
                f"level {levels[i].name}: {len(lost)} unit(s) outside every "
                f"{levels[i - 1].name} left out ({', '.join(sorted(lost)[:5])})"
            )
        nested = nested.assign(source_id=nested["grid_id"].map(_base_id))
        result.append(_merge_slivers(nested, crs, sliver_m2, levels[i].name, notes))
    if with_cells:
        lowest = result[-1]
        if shape == "h3":
            made = make_h3_grid(lowest, resolution=h3_resolution)
        elif shape in ("square", "hex"):
            made = make_grid(lowest, cell_m=float(cell_m), shape=shape)  # type: ignore[arg-type]
        else:
            msg = f"grids build: --shape must be square, hex or h3, not {shape!r}"
            raise GridError(msg)
        made = gpd.GeoDataFrame(
            made[["grid_id", "level", "parent_id", "name", "geometry"]],
            geometry="geometry",
            crs=WGS84,
        ).assign(level_name="cell", source_id=lambda f: f["grid_id"])
        result.append(_merge_slivers(made, crs, sliver_m2, "cell", notes, renumber=False))
    _trim_parents(result, crs, sliver_m2, [lv.name for lv in levels], notes)
    out = gpd.GeoDataFrame(pd.concat(result, ignore_index=True), geometry="geometry", crs=WGS84)
    out = out[["grid_id", "level", "parent_id", "name", "level_name", "source_id", "geometry"]]
    out.attrs["notes"] = notes
    return out


def _base_id(grid_id: object) -> str:
    return str(grid_id).split(PIECE_SEPARATOR, 1)[0]


def _check_ids_across_levels(frames: list[gpd.GeoDataFrame], levels: Sequence[CityLevel]) -> None:
    seen: dict[str, str] = {}
    for frame, level in zip(frames, levels, strict=False):
        for grid_id in frame["grid_id"]:
            if grid_id in seen:
                msg = (
                    f"grids build: id {grid_id!r} is used by level {seen[grid_id]} and level "
                    f"{level.name} ({level.source}); ids must be unique across levels: map a "
                    "column with different ids, or prefix one level's ids in its file"
                )
                raise GridError(msg)
            seen[grid_id] = level.name


def _disjoint(units: gpd.GeoDataFrame, level: str, notes: list[str]) -> gpd.GeoDataFrame:
    """Remove overlaps inside one level: the unit with the smaller id keeps the shared part."""
    order = np.argsort(units["grid_id"].to_numpy(dtype=str), kind="stable")
    units = units.iloc[order].reset_index(drop=True)
    geoms = np.asarray(units.geometry.array, dtype=object).copy()
    # "intersects", not "overlaps": a unit drawn wholly inside another overlaps it too.
    left, right = units.sindex.query(units.geometry, predicate="intersects")
    pairs = [(a, b) for a, b in zip(left, right, strict=True) if a < b]
    touched = set()
    for a, b in pairs:
        shared = shapely.intersection(geoms[a], geoms[b])
        if shapely.area(shared) > 0:
            geoms[b] = polygonal(shapely.difference(geoms[b], geoms[a]))
            touched.add(str(units["grid_id"].iloc[b]))
    if not touched:
        return units
    empty = shapely.is_empty(geoms)
    notes.append(
        f"level {level}: {len(touched)} unit(s) overlapped a unit with a smaller id and "
        f"gave up the shared part ({', '.join(sorted(touched)[:5])})"
    )
    if empty.any():
        gone = ", ".join(units.loc[empty, "grid_id"].astype(str).tolist()[:5])
        notes.append(f"level {level}: unit(s) lying wholly inside another left out ({gone})")
    units = units.set_geometry(gpd.GeoSeries(geoms, crs=units.crs, index=units.index))
    return units.loc[~empty].reset_index(drop=True)


def _merge_slivers(
    frame: gpd.GeoDataFrame,
    crs: object,
    sliver_m2: float,
    level: str,
    notes: list[str],
    *,
    renumber: bool = True,
) -> gpd.GeoDataFrame:
    """Merge pieces below ``sliver_m2`` into the sibling sharing the longest border with them."""
    frame = frame.reset_index(drop=True)
    geoms = np.asarray(frame.geometry.array, dtype=object).copy()
    metric = np.asarray(frame.to_crs(crs).geometry.array, dtype=object)
    areas = shapely.area(metric)
    parents = frame["parent_id"].astype(object).to_numpy()
    alive = np.ones(len(frame), dtype=bool)
    # Thin pieces of a cut unit (or thin cells) are slivers too, whatever their area: a beat
    # that pokes 5 m over a 1 km border.
    width = 2 * areas / np.maximum(shapely.length(metric), 1e-9)
    pieces = frame["source_id"].map(frame["source_id"].value_counts()).to_numpy() > 1
    thin = (width < SLIVER_WIDTH_M) & (pieces | (not renumber))
    sliver = (areas < sliver_m2) | thin
    merged = 0
    for i in np.argsort(np.where(sliver, areas, np.inf), kind="stable"):
        if not sliver[i]:
            break
        siblings = np.flatnonzero(alive & (parents == parents[i]))
        siblings = siblings[siblings != i]
        if len(siblings) == 0:
            continue
        border = shapely.length(
            shapely.intersection(shapely.boundary(metric[i]), shapely.boundary(metric[siblings]))
        )
        if border.max() <= 0:
            continue  # an island: nothing to merge it into without a gap, keep it
        target = siblings[int(np.argmax(border))]
        geoms[target] = polygonal(shapely.union(geoms[target], geoms[i]))
        metric[target] = shapely.union(metric[target], metric[i])
        areas[target] += areas[i]
        alive[i] = False
        merged += 1
    if merged:
        notes.append(
            f"level {level}: {merged} sliver(s) (under {sliver_m2:g} m2 or "
            f"{SLIVER_WIDTH_M:g} m wide) merged into a neighbour"
        )
    frame = frame.set_geometry(gpd.GeoSeries(geoms, crs=frame.crs, index=frame.index))
    frame = frame.loc[alive].reset_index(drop=True)
    if renumber:
        counts = frame["source_id"].value_counts()
        single = frame["source_id"].map(counts) == 1
        frame.loc[single, "grid_id"] = frame.loc[single, "source_id"]
    return frame


def _trim_parents(
    result: list[gpd.GeoDataFrame],
    crs: object,
    sliver_m2: float,
    names: Sequence[str],
    notes: list[str],
) -> None:
    """Bottom-up: each parent becomes the union of its children (no gaps), noting large losses."""
    for k in range(len(result) - 2, -1, -1):
        parents, kids = result[k], result[k + 1]
        groups = kids.groupby("parent_id").geometry.apply(
            lambda g: shapely.union_all(np.asarray(g.array, dtype=object))
        )
        geoms = np.asarray(parents.geometry.array, dtype=object).copy()
        lost = []
        for i, grid_id in enumerate(parents["grid_id"]):
            if grid_id in groups.index:
                union = polygonal(groups.loc[grid_id])
                left = gpd.GeoSeries([shapely.difference(geoms[i], union)], crs=WGS84)
                left_m2 = float(left.to_crs(crs).area.iloc[0])
                if left_m2 >= sliver_m2:
                    lost.append(f"{grid_id} ({left_m2 / 1e6:.2f} km2)")
                geoms[i] = union
        name = names[k] if k < len(names) else "cell"
        if lost:
            notes.append(
                f"level {name}: land no lower unit covers left out of {len(lost)} unit(s): "
                f"{', '.join(lost[:5])}"
            )
        result[k] = parents.set_geometry(gpd.GeoSeries(geoms, crs=parents.crs, index=parents.index))
