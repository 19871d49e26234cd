"""Weekday-hour charts: encodings agree row by row, SVG has one cell per non-empty hour."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maps.charts import (
    decode_profile,
    encode_profile,
    encode_profiles,
    risky_hours,
    top_hours,
    weekday_hour_svg,
)

profiles = arrays(
    np.float64,
    st.tuples(st.integers(1, 5), st.just(168)),
    elements=st.floats(min_value=0, max_value=1, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(profiles)
def test_vectorised_encodings_match(matrix: np.ndarray) -> None:
    """encode_profiles/top_hours equal encode_profile/risky_hours applied row by row."""
    assert encode_profiles(matrix) == [encode_profile(row) for row in matrix]
    assert top_hours(matrix) == [risky_hours(row) for row in matrix]


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


def test_svg_cells() -> None:
    """The SVG draws one rect per non-empty hour plus the background."""
    row = np.zeros(168)
    row[[0, 30, 167]] = [1.0, 0.5, 0.25]
    svg = weekday_hour_svg(row)
    assert svg.startswith("<svg")
    assert svg.count("<rect") == 4
