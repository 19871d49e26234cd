"""What a grids check found: :class:`GridReport` and the rows it is made of.

One row per finding (columns :data:`ISSUE_COLUMNS`), each an ``error`` (the grids would give
wrong joins or no hierarchy) or a ``warning`` (repaired on load, or suspicious but possibly
right). :func:`finding` builds a row and :func:`findings_frame` orders rows into the report's
frame; the checks themselves live in :mod:`geo.validate` and :mod:`geo.crs_checks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

__all__ = ["ISSUE_COLUMNS", "GridReport", "finding", "findings_frame"]

ISSUE_COLUMNS: tuple[str, ...] = (
    "severity",
    "check",
    "grid_id",
    "other_id",
    "area_m2",
    "lon",
    "lat",
    "detail",
)


@dataclass(frozen=True)
class GridReport:
    """What :func:`check_grids` / :func:`check_file` found.

    Attributes
    ----------
    issues
        One row per finding, columns :data:`ISSUE_COLUMNS` (``area_m2``, ``lon``, ``lat`` and
        ``other_id`` where they apply, else NaN / None).
    n_grids
        Rows checked.
    levels
        Rows per level.
    source
        The file checked, or ``"frame"``.
    """

    issues: pd.DataFrame
    n_grids: int
    levels: Mapping[str, int]
    source: str = "frame"

    def __post_init__(self) -> None:
        missing = set(ISSUE_COLUMNS) - set(self.issues.columns)
        if missing:
            msg = f"GridReport.issues lacks columns {sorted(missing)}"
            raise ValueError(msg)

    @property
    def errors(self) -> int:
        """Number of error findings."""
        return int((self.issues["severity"] == "error").sum())

    @property
    def warnings(self) -> int:
        """Number of warning findings."""
        return int((self.issues["severity"] == "warning").sum())

    @property
    def ok(self) -> bool:
        """True when nothing is an error (warnings allowed)."""
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary and the findings."""
        records = [
            {k: (None if _missing(v) else _plain(v)) for k, v in row.items()}
            for row in self.issues.to_dict(orient="records")
        ]
        return {
            "source": self.source,
            "grids": self.n_grids,
            "levels": dict(self.levels),
            "errors": self.errors,
            "warnings": self.warnings,
            "ok": self.ok,
            "issues": records,
        }


def _missing(value: object) -> bool:
    """None, NaN, pandas NA or NaT: every form a missing value takes in a findings frame."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes are values, not missing
        return False


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return value


def finding(
    severity: str,
    check: str,
    grid_id: object = None,
    detail: str = "",
    *,
    other_id: object = None,
    area_m2: float = float("nan"),
    point: shapely.Geometry | None = None,
) -> dict[str, object]:
    """One finding as a row of :attr:`GridReport.issues` (``point`` gives its lon/lat)."""
    lon = lat = float("nan")
    if point is not None and not point.is_empty:
        lon, lat = round(float(point.x), 6), round(float(point.y), 6)
    return {
        "severity": severity,
        "check": check,
        "grid_id": None if grid_id is None else str(grid_id),
        "other_id": None if other_id is None else str(other_id),
        "area_m2": float(area_m2),
        "lon": lon,
        "lat": lat,
        "detail": detail,
    }


def findings_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The findings as a frame of :data:`ISSUE_COLUMNS`, errors first, then by check and id."""
    frame = pd.DataFrame(rows, columns=list(ISSUE_COLUMNS))
    for column in ("severity", "check", "grid_id", "other_id", "detail"):
        # one missing value (None) whatever mix of findings was concatenated
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    if len(frame):
        order = {"error": 0, "warning": 1}
        frame = frame.sort_values(
            ["severity", "check", "grid_id", "other_id"],
            key=lambda s: s.map(order) if s.name == "severity" else s.fillna(""),
            kind="stable",
        )
    return frame.reset_index(drop=True)
