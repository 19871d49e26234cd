"""Load incident exports into the incidents contract (see DESIGN.md).

One entry point, :func:`load_incidents`, takes any file a city really has:

- the canonical CSV ``incident_id, occurred_at, category, lon, lat`` (ISO 8601 timestamps,
  WGS84), which loads with no options;
- the Philadelphia "Crime Incidents" exports (recognised by their columns, preset
  ``"philadelphia"``);
- any other CSV, with a ``columns`` mapping for its names (common English and Chinese names are
  recognised), its delimiter and encoding (UTF-8, UTF-8 with BOM, GBK) detected;
- GeoJSON, GeoPackage, Shapefile and GeoParquet point layers.

Rows that cannot be used (missing or impossible coordinates, missing or unreadable timestamps,
repeated ids) are never dropped silently: they go to :attr:`IncidentLoad.rejects` with the
reason.

Which column holds which field (presets, recognised names, ``columns=`` mappings) is
:mod:`geo.incident_columns` (re-exported here); reading files and cleaning their values are the
private :mod:`geo._incident_read` and :mod:`geo._incident_clean`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._incident_clean import clean_ids, coordinates, first_reason, hash_ids, timestamps
from ._incident_read import read_source, source_column
from .categories import CategoryTable, default_categories, load_categories
from .errors import IncidentError
from .incident_columns import (
    CANONICAL_COLUMNS,
    MAPPABLE_FIELDS,
    PRESETS,
    Preset,
    column_mapping,
    detect_preset,
    resolve_columns,
)

__all__ = [
    "CANONICAL_COLUMNS",
    "MAPPABLE_FIELDS",
    "PRESETS",
    "IncidentLoad",
    "Preset",
    "column_mapping",
    "load_incidents",
]


@dataclass(frozen=True)
class IncidentLoad:
    """The result of loading an incidents file.

    Attributes
    ----------
    incidents
        GeoDataFrame (EPSG:4326) with ``incident_id``, ``occurred_at`` (UTC), ``category``,
        ``severity``, ``category_group``, any kept extra columns, and Point ``geometry``.
    rejects
        DataFrame with ``row`` (1-based record number in the file, header not counted),
        ``incident_id`` and ``reason``, one row per record left out.
    source
        The file read.
    preset
        The preset applied, or None.
    unknown_categories
        Categories the category table does not list (they got its default severity).
    duplicate_ids
        Incident ids seen more than once (the first record is kept, the others rejected).
    unknown_counts
        ``(category, rows)`` of every unknown category, most frequent first.
    default_severity
        The severity unknown categories got.
    dst_gap
        Local times that fall in a daylight-saving gap (clocks jump forward: the wall time never
        happened); read as if the clock had not yet jumped (moved forward by the gap).
    dst_repeat
        Local times that occur twice (clocks fall back); read as the first (daylight) one.
    naive_as_utc
        Times written without an offset that were read as UTC because no ``timezone`` was
        given (the summary says so, so that a local-time export is not silently shifted).
    """

    incidents: gpd.GeoDataFrame
    rejects: pd.DataFrame
    source: str = ""
    preset: str | None = None
    unknown_categories: tuple[str, ...] = ()
    duplicate_ids: tuple[str, ...] = ()
    unknown_counts: tuple[tuple[str, int], ...] = ()
    default_severity: int = 2
    dst_gap: int = 0
    dst_repeat: int = 0
    naive_as_utc: int = 0

    def __post_init__(self) -> None:
        if list(self.rejects.columns[:3]) != ["row", "incident_id", "reason"]:
            msg = "IncidentLoad.rejects must have the columns row, incident_id, reason"
            raise IncidentError(msg)
        if self.incidents["incident_id"].duplicated().any():
            msg = f"incidents {self.source}: incident_id values must be unique"
            raise IncidentError(msg)

    def summary(self) -> str:
        """One line for a log or the CLI: loaded, rejected, unknown categories."""
        text = f"{len(self.incidents)} incidents loaded, {len(self.rejects)} rejected"
        if self.unknown_categories:
            text += (
                f", {len(self.unknown_categories)} unknown categories "
                f"(default severity {self.default_severity})"
            )
        if self.naive_as_utc:
            text += (
                f", {self.naive_as_utc} times without an offset read as UTC "
                "(pass --timezone ZONE if they are local)"
            )
        if self.dst_gap or self.dst_repeat:
            text += (
                f", {self.dst_gap} local times in a daylight-saving gap (moved forward) and "
                f"{self.dst_repeat} in a repeated hour (read as the first)"
            )
        return text

    def unknown_report(self, limit: int = 10) -> str:
        """The unknown categories with their counts, most frequent first ('' when none).

        >>> load = IncidentLoad(gpd.GeoDataFrame({"incident_id": []}, geometry=[]),
        ...     pd.DataFrame(columns=["row", "incident_id", "reason"]),
        ...     unknown_categories=("X", "Y"), unknown_counts=(("X", 5), ("Y", 1)))
        >>> load.unknown_report()[:56]
        'unknown categories (severity 2, group unknown): X 5, Y 1'
        """
        if not self.unknown_counts:
            return ""
        shown = ", ".join(f"{c or '(empty)'} {n}" for c, n in self.unknown_counts[:limit])
        more = len(self.unknown_counts) - limit
        tail = f" and {more} more" if more > 0 else ""
        return (
            f"unknown categories (severity {self.default_severity}, group unknown): "
            f"{shown}{tail}; give them a severity with --categories FILE.yaml"
        )


def load_incidents(
    path: str | Path,
    *,
    preset: str | None = None,
    columns: Mapping[str, str] | None = None,
    crs: str | int = "EPSG:4326",
    timezone: str | None = None,
    categories: CategoryTable | str | Path | None = None,
) -> IncidentLoad:
    """Read an incidents file into the incidents contract, rejecting unusable rows with a reason.

    Parameters
    ----------
    path
        CSV/TXT (delimiter and encoding detected), GeoJSON, GeoPackage, Shapefile or GeoParquet.
    preset
        A key of :data:`PRESETS`; None recognises a known export by its columns.
    columns
        Standard field -> source column, for example ``{"lon": "X", "occurred_at": "报警时间"}``.
        Fields: ``incident_id``, ``occurred_at``, ``category``, ``lon``, ``lat``,
        ``description``; any other key keeps that source column under the key's name. Without
        an ``incident_id`` column, ids are derived from a hash of the row's time, place and
        category (stable across runs).
    crs
        The CRS the coordinates are in: any EPSG code (``"EPSG:4490"``, ``2272``) or ``"gcj02"``
        / ``"bd09"``. For a geo file whose own CRS is set, a non-default ``crs`` overrides it
        (a GeoJSON that is really GCJ-02 says WGS84).
    timezone
        IANA zone of timestamps written without an offset (``"Asia/Shanghai"``). None reads
        such timestamps as UTC. Timestamps with an offset or ``Z`` are always exact.
    categories
        A :class:`~geo.categories.CategoryTable`, the path of a category CSV, or None for the
        default table.

    Returns
    -------
    IncidentLoad

    Raises
    ------
    IncidentError
        When the file is missing or unreadable, or lacks the columns of a required field (the
        message names them and the ``columns=`` fix).

    Examples
    --------
    >>> load = load_incidents("incidents.csv")  # doctest: +SKIP
    >>> load.incidents.crs.to_epsg(), len(load.rejects)  # doctest: +SKIP
    (4326, 0)
    """
    source = Path(path)
    if not source.is_file():
        msg = f"incidents file {source}: file not found"
        raise IncidentError(msg)
    table = _category_table(categories)
    if preset is not None and preset not in PRESETS:
        msg = f"incidents file {source}: unknown preset {preset!r}; known: {', '.join(PRESETS)}"
        raise IncidentError(msg)
    frame, geo_crs = read_source(source)
    chosen = PRESETS[preset] if preset else detect_preset(frame.columns)
    mapping = resolve_columns(source, frame, chosen, columns)

    declared: object = crs
    if mapping.get("lon") == "__geometry_x__" and geo_crs is not None and crs == "EPSG:4326":
        declared = geo_crs  # a geo file's own CRS, unless the caller declared another
    n = len(frame)
    reasons = np.full(n, None, dtype=object)

    x = pd.to_numeric(source_column(frame, mapping["lon"]), errors="coerce").to_numpy(float)
    y = pd.to_numeric(source_column(frame, mapping["lat"]), errors="coerce").to_numpy(float)
    lon, lat, coord_reason = coordinates(x, y, declared, source)
    first_reason(reasons, coord_reason)

    occurred, time_reason, dst = timestamps(
        source_column(frame, mapping["occurred_at"]), timezone, source
    )
    first_reason(reasons, time_reason)

    category = source_column(frame, mapping["category"]).astype(object)
    category = category.where(category.notna(), None).map(
        lambda c: None if c is None else " ".join(str(c).split()) or None
    )

    if "incident_id" in mapping:
        ids = clean_ids(source_column(frame, mapping["incident_id"]))
        missing_id = np.full(n, None, dtype=object)
        missing_id[ids.isna().to_numpy()] = "missing incident_id"
        first_reason(reasons, missing_id)
    else:
        ids = hash_ids(occurred, lon, lat, category)

    # Later copies of an id are rejected; the first usable record is kept.
    usable = pd.isna(reasons) & ids.notna().to_numpy()
    keyed = ids.where(usable).to_numpy()
    first_index = pd.Series(np.arange(n)).groupby(keyed, dropna=True).transform("min").to_numpy()
    repeat = usable & (first_index != np.arange(n))
    dup_reason = np.full(n, None, dtype=object)
    dup_reason[repeat] = [
        f"duplicate incident_id (first seen in row {int(r) + 1})" for r in first_index[repeat]
    ]
    first_reason(reasons, dup_reason)
    duplicate_ids = tuple(sorted({str(i) for i in ids[repeat]}))

    keep = pd.Series(reasons, dtype=object).isna().to_numpy()
    classified = table.classify(category[keep])
    data: dict[str, object] = {
        "incident_id": ids[keep].to_numpy(dtype=object),
        "occurred_at": occurred[keep].reset_index(drop=True),
        "category": category[keep].to_numpy(dtype=object),
        "severity": classified.severity,
        "category_group": classified.group,
        "police_only": classified.police_only,
    }
    for name, column in mapping.items():
        if name in {"incident_id", "occurred_at", "category", "lon", "lat"}:
            continue
        data[name] = source_column(frame, column)[keep].to_numpy(dtype=object)
    incidents = gpd.GeoDataFrame(
        data, geometry=gpd.points_from_xy(lon[keep], lat[keep]), crs="EPSG:4326"
    )
    bad = ~keep
    rejects = pd.DataFrame(
        {
            "row": np.flatnonzero(bad) + 1,
            "incident_id": ids[bad].to_numpy(dtype=object),
            "reason": reasons[bad],
        }
    )
    return IncidentLoad(
        incidents=incidents,
        rejects=rejects,
        source=str(source),
        preset=chosen.name if chosen else None,
        unknown_categories=classified.unknown,
        duplicate_ids=duplicate_ids,
        unknown_counts=classified.unknown_counts,
        default_severity=table.default_severity,
        dst_gap=dst[0],
        dst_repeat=dst[1],
        naive_as_utc=dst[2],
    )


def _category_table(categories: CategoryTable | str | Path | None) -> CategoryTable:
    if categories is None:
        return default_categories()
    if isinstance(categories, CategoryTable):
        return categories
    return load_categories(categories)
