"""Small 7x24 weekday-hour charts of a grid's risk profile.

The risk table carries 168 columns ``how_000``..``how_167`` (hour of week = weekday * 24 +
hour, Monday = 0). A map with 20,000 grids cannot carry 20,000 SVG pictures, so the map
stores each profile as a 168-character string of levels ``0``..``9``
(:func:`encode_profiles`) and draws the picture in the browser when a popup opens.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "HOW_COLUMNS",
    "encode_profiles",
    "profile_matrix",
    "top_hours",
]

HOW_COLUMNS: tuple[str, ...] = tuple(f"how_{i:03d}" for i in range(168))
LEVELS = 10


def profile_matrix(risk: pd.DataFrame) -> np.ndarray:
    """The ``how_*`` columns of a risk table as an ``(n, 168)`` float array (0 where missing)."""
    present = [c for c in HOW_COLUMNS if c in risk.columns]
    out = np.zeros((len(risk), 168), dtype=float)
    if present:
        idx = [HOW_COLUMNS.index(c) for c in present]
        values = risk[present].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        out[:, idx] = np.nan_to_num(values, nan=0.0)
    return out


def encode_profiles(matrix: np.ndarray) -> list[str]:
    """Encode each row of an ``(n, 168)`` array of shares as 168 digits ``0``..``9``.

    Each digit is the hour's share relative to the row's peak (rounded up, so only empty hours
    are ``0`` and the peak is ``9``); a row with no risk is all ``0``.

    >>> codes = encode_profiles(np.array([[0.0] * 167 + [1.0], [0.0] * 168]))
    >>> len(codes[0]), codes[0][-1], codes[0][0], set(codes[1])
    (168, '9', '0', {'0'})
    """
    arr = np.nan_to_num(np.asarray(matrix, dtype=float).reshape(-1, 168), nan=0.0)
    peak = arr.max(axis=1, keepdims=True)
    safe = np.where(peak > 0, peak, 1.0)
    levels = np.ceil(np.clip(arr / safe, 0.0, 1.0) * (LEVELS - 1)).astype(np.uint8)
    digits = (levels + ord("0")).astype(np.uint8)
    return [row.tobytes().decode("ascii") for row in digits]


def top_hours(matrix: np.ndarray, *, top: int = 3) -> list[list[tuple[int, int]]]:
    """The ``top`` hours of the week with the largest share, as ``(weekday, hour)`` pairs, per row
    of an ``(n, 168)`` array; hours with no share are left out."""
    arr = np.nan_to_num(np.asarray(matrix, dtype=float).reshape(-1, 168), nan=0.0)
    order = np.argsort(-arr, axis=1, kind="stable")[:, :top]
    picked = np.take_along_axis(arr, order, axis=1)
    return [
        [(int(i) // 24, int(i) % 24) for i, v in zip(idx, val, strict=True) if v > 0]
        for idx, val in zip(order, picked, strict=True)
    ]
