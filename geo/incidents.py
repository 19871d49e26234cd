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
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from .categories import CategoryTable, default_categories, load_categories
from .crs import check_degrees, to_wgs84
from .errors import CRSError, IncidentError

__all__ = [
    "CANONICAL_COLUMNS",
    "MAPPABLE_FIELDS",
    "PRESETS",
    "IncidentLoad",
    "Preset",
    "column_mapping",
    "load_incidents",
]

#: The canonical exchange format's columns, in order.
CANONICAL_COLUMNS: tuple[str, ...] = ("incident_id", "occurred_at", "category", "lon", "lat")

#: The contract's fields a column mapping may name (other names keep a source column as extra).
MAPPABLE_FIELDS: tuple[str, ...] = (
    "incident_id",
    "occurred_at",
    "category",
    "lon",
    "lat",
    "description",
)

#: Standard fields and the source column names recognised for each (compared case-folded).
_ALIASES: Mapping[str, tuple[str, ...]] = {
    "incident_id": (
        "incident_id", "id", "event_id", "case_id", "case_number", "incident_number",
        "编号", "案件编号", "警情编号", "事件编号",
    ),
    "occurred_at": (
        "occurred_at", "occurred", "datetime", "date_time", "timestamp", "time", "reported_at",
        "发生时间", "报警时间", "案发时间", "时间",
    ),
    "category": (
        "category", "type", "offense", "offence", "crime_type", "incident_type",
        "类别", "案件类别", "警情类别", "类型", "案由",
    ),
    "lon": ("lon", "lng", "long", "longitude", "x", "经度"),
    "lat": ("lat", "latitude", "y", "纬度"),
    "description": ("description", "desc", "summary", "描述", "简要案情", "内容"),
}  # fmt: skip

_REQUIRED = ("occurred_at", "category", "lon", "lat")
_ENCODINGS = ("utf-8-sig", "gbk")
_GEO_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".fgb", ".parquet", ".geoparquet"}
_TZ_SUFFIX = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")


@dataclass(frozen=True)
class Preset:
    """How a known export maps onto the incidents contract.

    Attributes
    ----------
    name
        The preset's name, as passed to ``load_incidents(preset=...)``.
    columns
        Standard field -> candidate source columns, the first present one is used.
    extras
        Source columns kept as they are (for checks and display).
    signature
        Columns whose joint presence identifies the export.
    """

    name: str
    columns: Mapping[str, tuple[str, ...]]
    extras: tuple[str, ...]
    signature: tuple[str, ...]


#: Known exports, recognised automatically by their columns.
PRESETS: Mapping[str, Preset] = {
    "philadelphia": Preset(
        name="philadelphia",
        columns={
            "incident_id": ("dc_key",),
            "occurred_at": ("dispatch_date_time",),
            "category": ("text_general_code",),
            "lon": ("point_x", "lng"),
            "lat": ("point_y", "lat"),
        },
        extras=("dc_dist", "psa", "location_block"),
        signature=("dc_key", "dispatch_date_time", "text_general_code"),
    ),
}


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
    frame, geo_crs = _read(source)
    chosen = PRESETS[preset] if preset else _detect_preset(frame.columns)
    mapping = _resolve_columns(source, frame, chosen, columns)

    declared: object = crs
    if mapping.get("lon") == "__geometry_x__" and geo_crs is not None and crs == "EPSG:4326":
        declared = geo_crs  # a geo file's own CRS, unless the caller declared another
    n = len(frame)
    reasons = np.full(n, None, dtype=object)

    x = pd.to_numeric(_column(frame, mapping["lon"]), errors="coerce").to_numpy(float)
    y = pd.to_numeric(_column(frame, mapping["lat"]), errors="coerce").to_numpy(float)
    lon, lat, coord_reason = _coordinates(x, y, declared, source)
    _first(reasons, coord_reason)

    occurred, time_reason, dst = _timestamps(
        _column(frame, mapping["occurred_at"]), timezone, source
    )
    _first(reasons, time_reason)

    category = _column(frame, mapping["category"]).astype(object)
    category = category.where(category.notna(), None).map(
        lambda c: None if c is None else " ".join(str(c).split()) or None
    )

    if "incident_id" in mapping:
        ids = _ids(_column(frame, mapping["incident_id"]))
        missing_id = np.full(n, None, dtype=object)
        missing_id[ids.isna().to_numpy()] = "missing incident_id"
        _first(reasons, missing_id)
    else:
        ids = _hash_ids(occurred, lon, lat, category)

    # Later copies of an id are rejected; the first usable record is kept.
    usable = pd.isna(reasons) & ids.notna().to_numpy()
    keyed = ids.where(usable).to_numpy()
    first_index = pd.Series(np.arange(n)).groupby(keyed, dropna=True).transform("min").to_numpy()
    repeat = usable & (first_index != np.arange(n))
    dup_reason = np.full(n, None, dtype=object)
    dup_reason[repeat] = [
        f"duplicate incident_id (first seen in row {int(r) + 1})" for r in first_index[repeat]
    ]
    _first(reasons, dup_reason)
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
        data[name] = _column(frame, column)[keep].to_numpy(dtype=object)
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


def column_mapping(value: str | None, *, allow_file: bool = True) -> dict[str, str] | None:
    """A column mapping as users write it, to ``{field: column}`` for ``load_incidents``.

    ``"incident_id=case_number,lon=longitude"`` (the CLI's ``--columns``, the API's
    ``columns=``) or the path of a YAML file mapping ``field: column`` (a ``columns:`` key may
    hold them). ``allow_file=False`` (a web request) never reads a file.

    Raises
    ------
    IncidentError
        A pair without ``=``, an unreadable YAML file, or a mapping written the wrong way round
        (``case_number=incident_id``), naming the pair and the fix.

    >>> column_mapping("incident_id=case_number, lon=X")
    {'incident_id': 'case_number', 'lon': 'X'}
    """
    if not value:
        return None
    path = Path(value)
    if allow_file and path.suffix.lower() in {".yaml", ".yml"}:
        if not path.is_file():
            msg = f"columns {value}: file not found"
            raise IncidentError(msg)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
        except yaml.YAMLError as exc:
            msg = f"columns {value}: not valid YAML ({' '.join(str(exc).split())})"
            raise IncidentError(msg) from None
        if isinstance(doc, Mapping) and isinstance(doc.get("columns"), Mapping):
            doc = doc["columns"]
        if not isinstance(doc, Mapping):
            msg = f"columns {value}: expected a mapping FIELD: COLUMN, e.g. lon: longitude"
            raise IncidentError(msg)
        pairs = [(str(k).strip(), str(v).strip()) for k, v in doc.items()]
        where = str(path)
    else:
        pairs = []
        for item in value.split(","):
            if not item.strip():
                continue
            field, sep, column = item.partition("=")
            if not sep or not field.strip() or not column.strip():
                msg = (
                    f"columns {item.strip()!r}: expected FIELD=COLUMN, e.g. "
                    "occurred_at=date (fields: " + ", ".join(MAPPABLE_FIELDS) + ")"
                )
                raise IncidentError(msg)
            pairs.append((field.strip(), column.strip()))
        where = "columns"
    mapping: dict[str, str] = {}
    for field, column in pairs:
        if field not in MAPPABLE_FIELDS and column in MAPPABLE_FIELDS:
            msg = (
                f"{where}: {field}={column} is the wrong way round; write {column}={field} "
                "(contract field first, then the file's column)"
            )
            raise IncidentError(msg)
        near = difflib.get_close_matches(field, MAPPABLE_FIELDS, n=1, cutoff=0.8)
        if field not in MAPPABLE_FIELDS and near:
            msg = f"{where}: unknown field {field!r}; did you mean {near[0]!r}?"
            raise IncidentError(msg)
        mapping[field] = column
    return mapping


# -- reading -----------------------------------------------------------------------------------


def _category_table(categories: CategoryTable | str | Path | None) -> CategoryTable:
    if categories is None:
        return default_categories()
    if isinstance(categories, CategoryTable):
        return categories
    return load_categories(categories)


def _read(source: Path) -> tuple[pd.DataFrame, object | None]:
    suffix = source.suffix.lower()
    if suffix in _GEO_SUFFIXES:
        return _read_geo(source)
    return _read_csv(source), None


def _read_geo(source: Path) -> tuple[pd.DataFrame, object | None]:
    try:
        if source.suffix.lower() in {".parquet", ".geoparquet"}:
            gdf = gpd.read_parquet(source)
        else:
            gdf = gpd.read_file(source)
    except Exception as exc:
        msg = f"incidents file {source}: cannot read it as a geo file ({exc})"
        raise IncidentError(msg) from None
    geometry = gdf.geometry.array
    is_point = np.asarray(shapely.get_type_id(geometry) == 0) & ~np.asarray(
        shapely.is_empty(geometry) | shapely.is_missing(geometry)
    )
    x = np.full(len(gdf), np.nan)
    y = np.full(len(gdf), np.nan)
    x[is_point] = shapely.get_x(geometry[is_point])
    y[is_point] = shapely.get_y(geometry[is_point])
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame["__geometry_x__"] = x
    frame["__geometry_y__"] = y
    return frame, gdf.crs


def _sniff(source: Path) -> tuple[str, str]:
    """Encoding and delimiter of a text table."""
    with source.open("rb") as handle:
        raw = handle.read(1 << 16)
    for encoding in _ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            if exc.start > len(raw) - 4:  # a multi-byte character cut by the sample
                text = raw[: exc.start].decode(encoding)
                break
    else:
        msg = f"incidents file {source}: not UTF-8 or GBK text; save it as UTF-8"
        raise IncidentError(msg)
    lines = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(lines, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    return encoding, delimiter


def _read_csv(source: Path) -> pd.DataFrame:
    encoding, delimiter = _sniff(source)
    try:
        frame = pd.read_csv(
            source, sep=delimiter, encoding=encoding, dtype=str, keep_default_na=False
        )
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        msg = f"incidents file {source}: cannot read it as {encoding} CSV ({exc})"
        raise IncidentError(msg) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.replace({"": None})


def _detect_preset(columns: pd.Index) -> Preset | None:
    present = {str(c).casefold() for c in columns}
    for candidate in PRESETS.values():
        if all(c.casefold() in present for c in candidate.signature):
            return candidate
    return None


def _resolve_columns(
    source: Path,
    frame: pd.DataFrame,
    preset: Preset | None,
    columns: Mapping[str, str] | None,
) -> dict[str, str]:
    """Standard field -> source column name."""
    by_fold = {str(c).casefold(): str(c) for c in frame.columns}
    mapping: dict[str, str] = {}
    if "__geometry_x__" in frame.columns:
        mapping["lon"] = "__geometry_x__"
        mapping["lat"] = "__geometry_y__"
    if preset is not None:
        for name, candidates in preset.columns.items():
            for candidate in candidates:
                if candidate.casefold() in by_fold and name not in mapping:
                    mapping[name] = by_fold[candidate.casefold()]
                    break
        for extra in preset.extras:
            if extra.casefold() in by_fold:
                mapping[extra] = by_fold[extra.casefold()]
    for name, aliases in _ALIASES.items():
        if name in mapping:
            continue
        for alias in aliases:
            if alias.casefold() in by_fold:
                mapping[name] = by_fold[alias.casefold()]
                break
    for name, column in (columns or {}).items():
        if column not in frame.columns:
            msg = (
                f"incidents file {source}: columns={{{name!r}: {column!r}}} names no column; "
                f"the file has {', '.join(map(str, frame.columns))}"
            )
            raise IncidentError(msg)
        mapping[name] = column
    missing = [name for name in _REQUIRED if name not in mapping]
    if missing:
        msg = (
            f"incidents file {source}: no column for {', '.join(missing)} "
            f"(the file has {', '.join(map(str, frame.columns))}); name them with "
            f"columns={{{', '.join(f'{m!r}: ...' for m in missing)}}} or use the canonical "
            f"columns {', '.join(CANONICAL_COLUMNS)}"
        )
        raise IncidentError(msg)
    return mapping


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].reset_index(drop=True)


# -- cleaning ----------------------------------------------------------------------------------


def _first(reasons: np.ndarray, new: np.ndarray) -> None:
    """Record ``new`` reasons where a row has none yet (the first problem found wins)."""
    new = np.asarray(new, dtype=object)
    mask = pd.isna(reasons) & ~pd.isna(new)
    reasons[mask] = new[mask]


def _coordinates(
    x: np.ndarray, y: np.ndarray, crs: object, source: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reasons = np.full(len(x), None, dtype=object)
    missing = ~(np.isfinite(x) & np.isfinite(y))
    reasons[missing] = "missing coordinates"
    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    ok = ~missing
    metres = ok & ((np.abs(x) > 180) | (np.abs(y) > 90))
    if metres.sum() > ok.sum() / 2:  # most rows, not a stray typo: the file is in metres
        try:
            check_degrees(x[ok], y[ok], crs, f"incidents file {source}")
        except CRSError as exc:
            msg = str(exc).replace("--crs", "--incidents-crs")
            raise IncidentError(msg) from None
    try:
        lon[ok], lat[ok] = to_wgs84(x[ok], y[ok], crs)
    except CRSError as exc:
        msg = f"incidents file {source}: {exc}"
        raise IncidentError(msg) from None
    impossible = ok & ~(
        np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    )
    reasons[impossible] = [
        f"impossible coordinates ({a:g}, {b:g}) in {crs}; expected lon -180..180, lat -90..90"
        for a, b in zip(x[impossible], y[impossible], strict=True)
    ]
    null_island = ok & ~impossible & (lon == 0) & (lat == 0)
    reasons[null_island] = "coordinates (0, 0): a missing location written as zeros"
    return lon, lat, reasons


def _timestamps(
    values: pd.Series, timezone: str | None, source: Path
) -> tuple[pd.Series, np.ndarray, tuple[int, int, int]]:
    text = values.astype(object).where(values.notna(), None)
    text = text.map(lambda v: None if v is None else str(v).strip() or None)
    reasons = np.full(len(text), None, dtype=object)
    reasons[text.isna().to_numpy()] = "missing timestamp"
    dst = (0, 0, 0)
    has_offset = text.str.contains(_TZ_SUFFIX, na=False).to_numpy(bool)
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    if has_offset.any():
        result[has_offset] = _parse(text[has_offset], utc=True)
    naive = text.notna().to_numpy() & ~has_offset
    if naive.any():
        local = _parse(text[naive], utc=False)
        if local.dt.tz is not None:  # e.g. parsed from a datetime column that carried a zone
            result[naive] = local.dt.tz_convert("UTC")
        else:
            try:
                zoned = local.dt.tz_localize(
                    timezone or "UTC", ambiguous=True, nonexistent="shift_forward"
                )
            except Exception as exc:
                msg = f"incidents file {source}: unknown time zone {timezone!r} ({exc})"
                raise IncidentError(msg) from None
            result[naive] = zoned.dt.tz_convert("UTC")
            if timezone is not None:
                dst = (*_dst_counts(local, timezone), 0)
            else:
                dst = (0, 0, int(local.notna().sum()))
    unreadable = text.notna().to_numpy() & result.isna().to_numpy()
    reasons[unreadable] = [f"unreadable timestamp {v!r}" for v in text[unreadable]]
    return result.reset_index(drop=True), reasons, dst


def _dst_counts(local: pd.Series, timezone: str) -> tuple[int, int]:
    """How many wall times fall in a daylight-saving gap, and how many in a repeated hour."""
    present = local.dropna()
    gap = present.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").isna()
    repeat = present.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").isna()
    n_gap = int(gap.sum()) - int((gap & repeat).sum())
    return n_gap, int(repeat.sum())


def _parse(text: pd.Series, *, utc: bool) -> pd.Series:
    """ISO 8601 quickly; anything else element by element."""
    parsed = pd.to_datetime(text, utc=utc, format="ISO8601", errors="coerce")
    retry = parsed.isna() & text.notna()
    if retry.any():
        parsed[retry] = pd.to_datetime(text[retry], utc=utc, format="mixed", errors="coerce")
    return parsed.astype("datetime64[us, UTC]" if utc else "datetime64[us]")


def _ids(values: pd.Series) -> pd.Series:
    ids = values.astype(object).map(
        lambda v: None if v is None or pd.isna(v) else re.sub(r"\.0+$", "", str(v).strip()) or None
    )
    return ids.astype(object)


def _hash_ids(
    occurred: pd.Series, lon: np.ndarray, lat: np.ndarray, category: pd.Series
) -> pd.Series:
    keys = [
        f"{t.isoformat() if not pd.isna(t) else ''}|{a:.7f}|{b:.7f}|{c or ''}"
        for t, a, b, c in zip(occurred, lon, lat, category, strict=True)
    ]
    return pd.Series(
        ["h" + hashlib.sha1(k.encode(), usedforsecurity=False).hexdigest()[:15] for k in keys],
        dtype=object,
    )
