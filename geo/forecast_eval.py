"""Scoring hotspot forecasts as in the NIJ Real-Time Crime Forecasting Challenge (2017).

The forecast flags its highest-scoring cells until they cover a chosen area (the NIJ rule: 0.25 to
0.75 square miles). Against the incidents of a later window:

- PAI (predictive accuracy index) = (hits / all incidents) / (flagged area / study area);
- PEI* (predictive efficiency index) = hits / the most any choice of the same number of cells
  could have caught (the top cells by the window's own counts), between 0 and 1.

A window without incidents has neither; the result then carries ``None`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import GeoError

__all__ = [
    "NIJ_MAX_SQ_MI",
    "NIJ_MIN_SQ_MI",
    "SQ_MI_M2",
    "WINDOWS",
    "ForecastScore",
    "flag_cells",
    "score_forecast",
    "window_end",
]

#: Square metres in a square mile.
SQ_MI_M2 = 2_589_988.110336
NIJ_MIN_SQ_MI = 0.25
NIJ_MAX_SQ_MI = 0.75

#: The NIJ evaluation windows after the forecast origin.
WINDOWS: dict[str, pd.DateOffset] = {
    "1w": pd.DateOffset(weeks=1),
    "2w": pd.DateOffset(weeks=2),
    "1m": pd.DateOffset(months=1),
    "2m": pd.DateOffset(months=2),
    "3m": pd.DateOffset(months=3),
}


def window_end(origin: pd.Timestamp, window: str) -> pd.Timestamp:
    """End of an NIJ window (``1w``, ``2w``, ``1m``, ``2m``, ``3m``) starting at ``origin``.

    >>> str(window_end(pd.Timestamp("2016-01-31", tz="UTC"), "1m"))
    '2016-02-29 00:00:00+00:00'
    """
    if window not in WINDOWS:
        msg = f"unknown window {window!r}; choose one of {', '.join(WINDOWS)}"
        raise GeoError(msg)
    return origin + WINDOWS[window]


@dataclass(frozen=True)
class ForecastScore:
    """PAI and PEI* of one forecast on one window (``None`` with ``reason`` when undefined)."""

    pai: float | None
    pei_star: float | None
    hits: int
    incidents: int
    flagged_cells: int
    flagged_sq_mi: float
    study_sq_mi: float
    reason: str | None = None


def flag_cells(
    scores: np.ndarray, area_m2: np.ndarray | float, *, area_sq_mi: float = NIJ_MAX_SQ_MI
) -> np.ndarray:
    """Indices of the highest-scoring cells whose total area stays within ``area_sq_mi``.

    Ties are broken by cell order (stable sort), so the choice is deterministic.

    Raises
    ------
    GeoError
        ``area_sq_mi`` outside the NIJ range 0.25..0.75, or not even one cell fits.
    """
    if not NIJ_MIN_SQ_MI <= area_sq_mi <= NIJ_MAX_SQ_MI:
        msg = f"forecast area must be {NIJ_MIN_SQ_MI}..{NIJ_MAX_SQ_MI} sq mi (NIJ rule), got {area_sq_mi}"
        raise GeoError(msg)
    scores = np.asarray(scores, dtype=float)
    areas = np.broadcast_to(np.asarray(area_m2, dtype=float), scores.shape)
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
    cumulative = np.cumsum(areas[order])
    k = int(np.searchsorted(cumulative, area_sq_mi * SQ_MI_M2, side="right"))
    if k == 0:
        msg = f"one forecast cell is larger than {area_sq_mi} sq mi; use smaller cells"
        raise GeoError(msg)
    return order[:k]


def score_forecast(
    scores: np.ndarray,
    actual: np.ndarray,
    area_m2: np.ndarray | float,
    *,
    area_sq_mi: float = NIJ_MAX_SQ_MI,
) -> ForecastScore:
    """PAI and PEI* of ``scores`` against the window's ``actual`` counts per cell.

    Parameters
    ----------
    scores
        Forecast score per cell (higher = more expected).
    actual
        Incidents per cell in the evaluation window.
    area_m2
        Area of each cell (or one area for all).
    area_sq_mi
        Area to flag, 0.25..0.75 square miles.

    Examples
    --------
    >>> s = score_forecast(np.array([3.0, 2.0, 1.0, 0.0]), np.array([0, 4, 0, 4]), 0.25 * SQ_MI_M2)
    >>> (s.flagged_cells, s.hits, s.pai, s.pei_star)
    (3, 4, 0.6666666666666666, 0.5)
    """
    scores = np.asarray(scores, dtype=float)
    actual = np.asarray(actual, dtype=float)
    if scores.shape != actual.shape:
        msg = f"scores ({scores.shape}) and actual counts ({actual.shape}) differ in shape"
        raise GeoError(msg)
    areas = np.broadcast_to(np.asarray(area_m2, dtype=float), scores.shape)
    flagged = flag_cells(scores, areas, area_sq_mi=area_sq_mi)
    study = float(areas.sum())
    flagged_area = float(areas[flagged].sum())
    total = int(actual.sum())
    hits = int(actual[flagged].sum())
    best = float(np.sort(actual)[::-1][: flagged.size].sum())
    flagged_sq_mi = flagged_area / SQ_MI_M2
    study_sq_mi = study / SQ_MI_M2
    n_flagged = int(flagged.size)
    if total == 0:
        return ForecastScore(
            None,
            None,
            hits,
            total,
            n_flagged,
            flagged_sq_mi,
            study_sq_mi,
            "no incident in the window",
        )
    pai = (hits / total) / (flagged_area / study)
    return ForecastScore(pai, hits / best, hits, total, n_flagged, flagged_sq_mi, study_sq_mi)
