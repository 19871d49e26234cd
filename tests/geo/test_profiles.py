"""Tests of geo.profiles: hour of week, circular smoothing, shrinkage, risky hours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import IncidentError
from geo.profiles import (
    HOURS_PER_WEEK,
    PROFILE_COLUMNS,
    hour_of_week,
    profile_matrix,
    smooth_circular,
)


def test_profile_columns_are_168_zero_padded() -> None:
    """The profile columns are how_000..how_167 in order."""
    assert len(PROFILE_COLUMNS) == HOURS_PER_WEEK
    assert PROFILE_COLUMNS[0] == "how_000"
    assert PROFILE_COLUMNS[-1] == "how_167"


def test_hour_of_week_is_local_monday_based() -> None:
    """Hour of week counts from Monday 00:00 in the city's zone, not in UTC."""
    # 2024-01-01 is a Monday. 03:00 UTC is Sunday 22:00 in New York.
    ts = pd.Series(pd.to_datetime(["2024-01-01 03:00Z", "2024-01-01 15:00Z"]))
    assert hour_of_week(ts, "UTC").tolist() == [3, 15]
    assert hour_of_week(ts, "America/New_York").tolist() == [6 * 24 + 22, 10]


def test_hour_of_week_rejects_naive_timestamps() -> None:
    """Naive timestamps are an input error naming occurred_at, not a silent guess."""
    with pytest.raises(IncidentError, match="occurred_at"):
        hour_of_week(pd.Series(pd.to_datetime(["2024-01-01 03:00"])), "UTC")


def test_smoothing_wraps_around_the_week() -> None:
    """Sunday 23h spills onto Monday 0h and vice versa; the row sum is unchanged."""
    row = np.zeros((1, HOURS_PER_WEEK))
    row[0, 167] = 9.0
    out = smooth_circular(row, 2)
    assert out.sum() == pytest.approx(9.0)
    assert out[0, 0] > 0
    assert out[0, 1] > 0
    assert out[0, 165] == pytest.approx(out[0, 1])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 167), st.floats(0.01, 10.0)),
        min_size=0,
        max_size=60,
    ),
    st.integers(0, 3),
    st.floats(0.0, 20.0),
)
def test_profiles_are_shares(
    incidents: list[tuple[int, int, float]], smoothing: int, prior: float
) -> None:
    """Every profile row is non-negative and sums to 1, with or without incidents."""
    group = np.array([g for g, _, _ in incidents], dtype=np.int64)
    how = np.array([h for _, h, _ in incidents], dtype=np.int64)
    weights = np.array([w for _, _, w in incidents], dtype=float)
    out = profile_matrix(group, how, weights, 5, smoothing_hours=smoothing, prior_incidents=prior)
    assert out.shape == (5, HOURS_PER_WEEK)
    assert (out >= 0).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_empty_group_gets_city_profile_and_no_data_is_flat() -> None:
    """A group without incidents falls back to the city-wide shape; no data at all is flat."""
    out = profile_matrix(
        np.array([0, 0]), np.array([10, 10]), np.ones(2), 2, smoothing_hours=0, prior_incidents=0
    )
    assert out[0, 10] == pytest.approx(1.0)
    assert out[1, 10] == pytest.approx(1.0)  # the city's profile
    empty = profile_matrix(np.array([], dtype=int), np.array([], dtype=int), np.array([]), 3)
    np.testing.assert_allclose(empty, 1.0 / HOURS_PER_WEEK)


def test_shrinkage_weights_own_shape_by_incident_count() -> None:
    """With prior k, a group of n incidents keeps n/(n+k) of its own shape."""
    group = np.array([0] * 3 + [1] * 30)
    how = np.array([5] * 3 + [100] * 30)
    out = profile_matrix(group, how, np.ones(33), 2, smoothing_hours=0, prior_incidents=3.0)
    city_at_5 = 3 / 33
    assert out[0, 5] == pytest.approx(0.5 * 1.0 + 0.5 * city_at_5)


def test_underflowed_weights_fall_back_to_counts() -> None:
    """A group whose decayed weights are all zero still gets its own (count) shape."""
    out = profile_matrix(np.array([0]), np.array([42]), np.zeros(1), 1, smoothing_hours=0)
    assert out[0].argmax() == 42
    assert out.sum() == pytest.approx(1.0)
