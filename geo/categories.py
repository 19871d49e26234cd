"""The category table: incident category -> severity (1..5), group and police_only.

Severity weights an incident in the risk table, so the table is data that users edit, not
code: a CSV with the columns ``category``, ``severity``, ``group`` (and optionally
``police_only``), or a YAML file::

    default_severity: 2          # optional: what a category the table does not list gets
    categories:
      THEFT: {severity: 2, group: property}
      ROBBERY: {severity: 4, group: violent, police_only: true}
      NARCOTICS: 3               # a bare number is the severity

Tables shipped with patrolgrid, usable by name (``load_categories("chicago_iucr")``):
:data:`SHIPPED_TABLES` (Philadelphia UCR text codes, Chicago IUCR primary types, FBI NIBRS
offence groups, Chinese 110 police call classes 刑事 / 治安 / 交通 / 纠纷 / 求助 / 火灾...). The
default table is ``geo/data/categories.csv`` (Philadelphia and common Chinese case types) merged
with every shipped table, the first listing of a category winning. Categories are matched after
trimming and case folding, so ``"thefts "`` finds ``Thefts``. A category the table does not list
gets :data:`DEFAULT_SEVERITY` and group ``"unknown"``, and is reported with its count, never
silently accepted. ``police_only`` marks categories volunteers are never sent to.
"""

from __future__ import annotations

import csv
import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .errors import IncidentError

__all__ = [
    "DEFAULT_CATEGORIES_PATH",
    "DEFAULT_SEVERITY",
    "SHIPPED_TABLES",
    "UNKNOWN_GROUP",
    "CategoryTable",
    "Classified",
    "default_categories",
    "load_categories",
]

#: The category table shipped with patrolgrid.
DEFAULT_CATEGORIES_PATH = Path(__file__).with_name("data") / "categories.csv"

#: Tables shipped with patrolgrid, by the name ``load_categories`` and ``--categories`` accept.
SHIPPED_TABLES: Mapping[str, Path] = {
    name: Path(__file__).with_name("data") / f"categories_{name}.yaml"
    for name in ("philadelphia_ucr", "chicago_iucr", "nibrs", "china_police")
}

#: Severity given to a category the table does not list.
DEFAULT_SEVERITY = 2

#: Group given to a category the table does not list.
UNKNOWN_GROUP = "unknown"


def _key(category: object) -> str:
    return " ".join(str(category).split()).casefold()


@dataclass(frozen=True)
class Classified:
    """Severity and group for a column of categories.

    Attributes
    ----------
    severity
        int array, 1..5, one per input category.
    group
        object array of group names, one per input category.
    unknown
        The distinct categories the table does not list (sorted), which got
        ``default_severity``.
    police_only
        bool array: the category is for police only (volunteers are never sent to it).
    unknown_counts
        ``(category, rows)`` for every unknown category, most frequent first.
    """

    severity: np.ndarray
    group: np.ndarray
    unknown: tuple[str, ...]
    police_only: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    unknown_counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class CategoryTable:
    """An editable mapping category -> (severity 1..5, group), checked on construction.

    Attributes
    ----------
    table
        Frame with the columns ``category``, ``severity`` and ``group``, one row per category.
    default_severity
        Severity of categories the table does not list.
    source
        Where the table came from (a path, or ``"<frame>"``), for messages.

    Examples
    --------
    >>> t = CategoryTable(pd.DataFrame({"category": ["Thefts"], "severity": [2], "group": ["p"]}))
    >>> c = t.classify(["thefts", "Arson"])
    >>> c.severity.tolist(), c.unknown
    ([2, 2], ('Arson',))
    """

    table: pd.DataFrame
    default_severity: int = DEFAULT_SEVERITY
    source: str = "<frame>"
    _index: dict[str, tuple[int, str, bool]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        missing = [c for c in ("category", "severity") if c not in self.table.columns]
        if missing:
            msg = (
                f"category table {self.source}: missing column(s) {', '.join(missing)}; "
                "expected the columns category, severity, group"
            )
            raise IncidentError(msg)
        if not 1 <= int(self.default_severity) <= 5:
            msg = f"category table {self.source}: default severity must be 1..5, not {self.default_severity}"
            raise IncidentError(msg)
        index: dict[str, tuple[int, str, bool]] = {}
        groups = self.table["group"] if "group" in self.table.columns else [""] * len(self.table)
        police = (
            self.table["police_only"]
            if "police_only" in self.table.columns
            else [False] * len(self.table)
        )
        for row, (category, severity, group, only) in enumerate(
            zip(self.table["category"], self.table["severity"], groups, police, strict=True),
            start=2,
        ):
            if pd.isna(category) or not str(category).strip():
                msg = f"category table {self.source}: line {row} has an empty category"
                raise IncidentError(msg)
            value = pd.to_numeric(pd.Series([severity]), errors="coerce").iloc[0]
            if pd.isna(value) or value != int(value) or not 1 <= int(value) <= 5:
                msg = (
                    f"category table {self.source}: line {row} ({category!r}) has severity "
                    f"{severity!r}; use a whole number from 1 to 5"
                )
                raise IncidentError(msg)
            key = _key(category)
            if key in index:
                msg = f"category table {self.source}: line {row} repeats category {category!r}"
                raise IncidentError(msg)
            index[key] = (int(value), "" if pd.isna(group) else str(group), _flag(only))
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, category: object) -> bool:
        return _key(category) in self._index

    def classify(self, categories: Iterable[object]) -> Classified:
        """Severity and group of each category; unknown ones get the default and are listed.

        Parameters
        ----------
        categories
            Category names (missing values count as unknown).
        """
        values = pd.Series(list(categories), dtype=object)
        distinct = values.dropna().unique()
        lookup = {c: self._index.get(_key(c)) for c in distinct}
        unknown = sorted(str(c) for c, hit in lookup.items() if hit is None)
        severity = np.full(len(values), self.default_severity, dtype=np.int64)
        group = np.full(len(values), UNKNOWN_GROUP, dtype=object)
        police_only = np.zeros(len(values), dtype=bool)
        codes, uniques = pd.factorize(values)
        counts: Counter[str] = Counter()
        for code, category in enumerate(uniques):
            hit = lookup.get(category)
            mask = codes == code
            if hit is not None:
                severity[mask] = hit[0]
                group[mask] = hit[1]
                police_only[mask] = hit[2]
            else:
                counts[str(category)] += int(mask.sum())
        if values.isna().any():
            unknown = sorted({*unknown, ""})
            counts[""] += int(values.isna().sum())
        ranked = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return Classified(
            severity=severity,
            group=group,
            unknown=tuple(unknown),
            police_only=police_only,
            unknown_counts=ranked,
        )


def _flag(value: object) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    return str(value).strip().casefold() in {"true", "yes", "1", "y", "是"}


def _yaml_table(source: Path) -> tuple[pd.DataFrame, int | None]:
    """Rows and default severity of a YAML category table (see the module docstring)."""
    try:
        doc = yaml.safe_load(source.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        msg = f"category table {source}: not valid YAML ({' '.join(str(exc).split())})"
        raise IncidentError(msg) from None
    if isinstance(doc, Mapping) and "categories" in doc:
        entries, default = doc["categories"], doc.get("default_severity")
    else:
        entries, default = doc, None
    if not isinstance(entries, Mapping):
        msg = (
            f"category table {source}: expected 'categories:' mapping each category to "
            "{severity, group, police_only, skill} (or to a severity)"
        )
        raise IncidentError(msg)
    rows = []
    for category, spec in entries.items():
        if not isinstance(spec, Mapping):
            spec = {"severity": spec}
        unknown = set(spec) - {"severity", "group", "police_only", "skill"}
        if unknown:
            msg = (
                f"category table {source}: category {category!r} has unknown key(s) "
                f"{', '.join(sorted(map(str, unknown)))}; use severity, group, police_only, skill"
            )
            raise IncidentError(msg)
        rows.append(
            {
                "category": str(category),
                "severity": spec.get("severity"),
                "group": spec.get("group", ""),
                "police_only": spec.get("police_only", False),
                "skill": str(spec.get("skill") or ""),
            }
        )
    table = pd.DataFrame(rows, columns=["category", "severity", "group", "police_only", "skill"])
    return table, None if default is None else int(default)


def load_categories(
    path: str | Path | None = None, *, default_severity: int = DEFAULT_SEVERITY
) -> CategoryTable:
    """Read a category table: CSV (``category, severity, group[, police_only]``) or YAML.

    Parameters
    ----------
    path
        The file, the name of a shipped table (:data:`SHIPPED_TABLES`, e.g. ``"chicago_iucr"``),
        or None for the default table (the shipped CSV and every shipped table together).
    default_severity
        Severity given to categories the table does not list (a YAML table's own
        ``default_severity`` wins).

    Raises
    ------
    IncidentError
        When the file is missing, lacks a column, or a severity is not 1..5.
    """
    if path is None:
        return default_categories(default_severity=default_severity)
    if str(path) in SHIPPED_TABLES:
        path = SHIPPED_TABLES[str(path)]
    source = Path(path)
    if not source.is_file():
        msg = (
            f"category table {source}: file not found (shipped tables: {', '.join(SHIPPED_TABLES)})"
        )
        raise IncidentError(msg)
    if source.suffix.lower() in {".yaml", ".yml"}:
        table, own_default = _yaml_table(source)
        return CategoryTable(
            table,
            default_severity=own_default if own_default is not None else default_severity,
            source=str(source),
        )
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    table = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["category", "severity"])
    return CategoryTable(table, default_severity=default_severity, source=str(source))


def default_categories(*, default_severity: int = DEFAULT_SEVERITY) -> CategoryTable:
    """The default table: ``geo/data/categories.csv`` and every shipped table, merged.

    A category listed by several tables keeps its first listing (the CSV, then
    :data:`SHIPPED_TABLES` in order).
    """
    return _default_table(default_severity)


@functools.cache
def _default_table(default_severity: int) -> CategoryTable:
    frames = [load_categories(DEFAULT_CATEGORIES_PATH).table]
    frames += [load_categories(p).table for p in SHIPPED_TABLES.values()]
    table = pd.concat(frames, ignore_index=True)
    if "police_only" not in table:
        table["police_only"] = False
    table["police_only"] = table["police_only"].map(_flag)
    table = table.loc[~table["category"].map(_key).duplicated()].reset_index(drop=True)
    return CategoryTable(table, default_severity=default_severity, source="default")
