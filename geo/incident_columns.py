"""Which column of an incidents file holds which field of the incidents contract.

The canonical columns, the fields a mapping may name, the presets of known exports (recognised
by their columns), the English and Chinese names recognised without a mapping, and
:func:`column_mapping`, which reads a mapping as users write it (``--columns``, ``columns=``).
:func:`geo.incidents.load_incidents` resolves a file's columns with :func:`resolve_columns`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from .errors import IncidentError

__all__ = [
    "CANONICAL_COLUMNS",
    "MAPPABLE_FIELDS",
    "PRESETS",
    "Preset",
    "column_mapping",
    "detect_preset",
    "resolve_columns",
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


def detect_preset(columns: pd.Index) -> Preset | None:
    """The preset whose signature columns the file has (case-folded), or None."""
    present = {str(c).casefold() for c in columns}
    for candidate in PRESETS.values():
        if all(c.casefold() in present for c in candidate.signature):
            return candidate
    return None


def resolve_columns(
    source: Path,
    frame: pd.DataFrame,
    preset: Preset | None,
    columns: Mapping[str, str] | None,
) -> dict[str, str]:
    """Standard field -> source column name: geometry, then preset, aliases, ``columns``."""
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
