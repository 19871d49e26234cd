"""Weekday-hour charts: the vectorised encodings agree with a row-by-row computation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maps.charts import LEVELS, encode_profiles, top_hours


def encode_profile(values: np.ndarray) -> str:
    """The oracle: one row's 168 shares as digits, each its level relative to the row's peak."""
    arr = np.asarray(values, dtype=float).reshape(168)
    peak = float(arr.max()) if arr.size else 0.0
    if not np.isfinite(peak) or peak <= 0:
        return "0" * 168
    levels = np.ceil(np.clip(arr / peak, 0.0, 1.0) * (LEVELS - 1)).astype(int)
    return "".join(map(str, levels))


def decode_profile(code: str) -> np.ndarray:
    """Levels of an encoded profile as a ``(7, 24)`` int array (weekday rows, hour columns)."""
    return np.array([int(ch) for ch in code], dtype=int).reshape(7, 24)


def _top_hours_of_row(values: np.ndarray, top: int = 3) -> list[tuple[int, int]]:
    """The oracle: one row's ``top`` busiest hours as (weekday, hour), empty hours left out."""
    arr = np.asarray(values, dtype=float).reshape(168)
    order = np.argsort(-arr, kind="stable")[:top]
    return [(int(i) // 24, int(i) % 24) for i in order if arr[i] > 0]


profiles = arrays(
    np.float64,
    st.tuples(st.integers(1, 5), st.just(168)),
    elements=st.floats(min_value=0, max_value=1, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(profiles)
def test_vectorised_encodings_match(matrix: np.ndarray) -> None:
    """encode_profiles/top_hours equal encode_profile/the row oracle applied row by row."""
    assert encode_profiles(matrix) == [encode_profile(row) for row in matrix]
    assert top_hours(matrix) == [_top_hours_of_row(row) for row in matrix]


@settings(max_examples=60, deadline=None)
@given(profiles)
def test_peak_hour_has_top_level(matrix: np.ndarray) -> None:
    """The busiest hour encodes as 9, empty hours as 0, and levels never invert the order."""
    for row in matrix:
        levels = decode_profile(encode_profile(row)).ravel()
        if row.max() > 0:
            assert levels[int(np.argmax(row))] == 9
        assert (levels[row == 0] == 0).all()
        order = np.argsort(row, kind="stable")
        assert (np.diff(levels[order]) >= 0).all()
