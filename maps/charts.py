"""Small 7x24 weekday-hour charts of a grid's risk profile.

The risk table carries 168 columns ``how_000``..``how_167`` (hour of week = weekday * 24 +
hour, Monday = 0). A map with 20,000 grids cannot carry 20,000 SVG pictures, so the map
stores each profile as a 168-character string of levels ``0``..``9``
(:func:`encode_profile`) and draws the picture in the browser when a popup opens.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "HOW_COLUMNS",
    "decode_profile",
    "encode_profile",
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


def encode_profile(values: Sequence[float] | np.ndarray) -> str:
    """Encode 168 shares as 168 digits, each the share's level relative to the grid's peak.

    Parameters
    ----------
    values
        The 168 hour-of-week shares of one grid.

    Returns
    -------
    str
        168 characters ``0``..``9``; all ``0`` for a grid with no risk.

    Examples
    --------
    >>> s = encode_profile([0.0] * 167 + [1.0])
    >>> len(s), s[-1], s[0]
    (168, '9', '0')
    """
    arr = np.asarray(values, dtype=float).reshape(168)
    peak = float(arr.max()) if arr.size else 0.0
    if not np.isfinite(peak) or peak <= 0:
        return "0" * 168
    levels = np.ceil(np.clip(arr / peak, 0.0, 1.0) * (LEVELS - 1)).astype(int)
    return "".join(map(str, levels))


def encode_profiles(matrix: np.ndarray) -> list[str]:
    """:func:`encode_profile` for every row of an ``(n, 168)`` array, vectorised."""
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


def decode_profile(code: str) -> np.ndarray:
    """Levels of an encoded profile as a ``(7, 24)`` int array (weekday rows, hour columns)."""
    return np.array([int(ch) for ch in code], dtype=int).reshape(7, 24)
