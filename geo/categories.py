"""The category table: incident category -> severity (1..5) and group.

Severity weights an incident in the risk table, so the table is data that users edit, not
code: a CSV with the columns ``category``, ``severity`` and ``group``. The default table
(``geo/data/categories.csv``) covers the Philadelphia ``text_general_code`` values and common
Chinese police categories (盗窃, 抢劫, 诈骗, 纠纷...). Categories are matched after trimming and
case folding, so ``"thefts "`` finds ``Thefts``. A category the table does not list gets
:data:`DEFAULT_SEVERITY` and group ``"unknown"``, and is reported, never silently accepted.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import IncidentError

__all__ = [
    "DEFAULT_CATEGORIES_PATH",
    "DEFAULT_SEVERITY",
    "UNKNOWN_GROUP",
    "CategoryTable",
    "Classified",
    "default_categories",
    "load_categories",
]

#: The category table shipped with patrolgrid.
DEFAULT_CATEGORIES_PATH = Path(__file__).with_name("data") / "categories.csv"

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
    """

    severity: np.ndarray
    group: np.ndarray
    unknown: tuple[str, ...]


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
    _index: dict[str, tuple[int, str]] = field(init=False, repr=False, compare=False)

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
        index: dict[str, tuple[int, str]] = {}
        groups = self.table["group"] if "group" in self.table.columns else [""] * len(self.table)
        for row, (category, severity, group) in enumerate(
            zip(self.table["category"], self.table["severity"], groups, strict=True), start=2
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
            index[key] = (int(value), "" if pd.isna(group) else str(group))
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
        codes, uniques = pd.factorize(values)
        for code, category in enumerate(uniques):
            hit = lookup.get(category)
            if hit is not None:
                mask = codes == code
                severity[mask] = hit[0]
                group[mask] = hit[1]
        if values.isna().any():
            unknown = sorted({*unknown, ""})
        return Classified(severity=severity, group=group, unknown=tuple(unknown))


def load_categories(
    path: str | Path | None = None, *, default_severity: int = DEFAULT_SEVERITY
) -> CategoryTable:
    """Read a category table CSV (``category, severity, group``; UTF-8).

    Parameters
    ----------
    path
        The CSV; None reads the default table shipped with patrolgrid.
    default_severity
        Severity given to categories the table does not list.

    Raises
    ------
    IncidentError
        When the file is missing, lacks a column, or a severity is not 1..5.
    """
    source = Path(path) if path is not None else DEFAULT_CATEGORIES_PATH
    if not source.is_file():
        msg = f"category table {source}: file not found"
        raise IncidentError(msg)
    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    table = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["category", "severity"])
    return CategoryTable(table, default_severity=default_severity, source=str(source))


def default_categories() -> CategoryTable:
    """The category table shipped with patrolgrid (``geo/data/categories.csv``)."""
    return load_categories(None)
