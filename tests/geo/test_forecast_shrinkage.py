"""Tests of the ``shrinkage`` forecast (geo.forecast): Gamma-Poisson shrinkage toward a prior."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.forecast import CellEvents, cell_events, make_lattice, score_cells
from tests.geo.test_forecast import _area, _hotspot_scene, _incidents, _lattice_and_events

ORIGIN = int(pd.Timestamp("2016-07-01", tz="UTC").value)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-scores, kind="stable")[:k]


def test_without_smoothing_or_with_a_vanishing_prior_it_is_the_naive_count() -> None:
    """No kernel (prior = own count) or alpha -> 0 gives back the past-year counts: the prior
    only ever reorders cells whose own history is thin."""
    lattice, events = _lattice_and_events(seed=1, n=800)
    kwargs = {"train_until_ns": ORIGIN, "horizon_days": 7.0}
    naive = score_cells(lattice, events, method="naive", **kwargs)
    unsmoothed = score_cells(
        lattice, events, method="shrinkage", params={"bandwidth_m": 0.0}, **kwargs
    )
    np.testing.assert_allclose(unsmoothed, naive)
    no_prior = score_cells(lattice, events, method="shrinkage", params={"alpha": 1e-9}, **kwargs)
    np.testing.assert_allclose(no_prior, naive, atol=1e-6)


def test_ties_among_thin_cells_go_to_the_ones_near_other_incidents() -> None:
    """Two cells with one incident each: the one inside a cluster outranks the isolated one, and
    a cell with several incidents still outranks both."""
    east = np.array([50.0, 150.0, 150.0, 250.0, 50.0, 1850.0, 1050.0, 1050.0, 1050.0])
    north = np.array([50.0, 50.0, 150.0, 50.0, 150.0, 1850.0, 1050.0, 1050.0, 1050.0])
    inc = _incidents(east, north, np.arange(9.0))
    lattice = make_lattice(inc.geometry.x, inc.geometry.y, cell_m=100.0, area=_area())
    events, _ = cell_events(inc, lattice)
    scores = score_cells(
        lattice, events, train_until_ns=ORIGIN, horizon_days=7.0, method="shrinkage"
    )
    x, y = inc.to_crs("EPSG:32618").geometry.x.to_numpy(), inc.to_crs("EPSG:32618").geometry.y
    cells = lattice.locate(x, y.to_numpy())
    clustered, isolated, busy = cells[0], cells[5], cells[6]
    assert scores[busy] > scores[clustered] > scores[isolated] > 0


def test_a_sparse_category_borrows_the_all_incident_hotspot() -> None:
    """A category with a handful of past incidents, none in the all-incident hotspot, but whose
    later incidents follow all incidents: shrinkage flags the hotspot (naive and the category's
    own smoothed counts cannot)."""
    rng, xy, days, everything, lattice, context = _hotspot_scene()
    later = everything.iloc[rng.choice(len(xy), 600, replace=False)]
    later = later.loc[later["occurred_at"] >= pd.Timestamp(ORIGIN, tz="UTC")]
    truth = cell_events(later, lattice)[0].counts(lattice.n_cells)
    far = (xy[:, 0] > 1000) & (xy[:, 1] > 1000) & (days < 180)
    few = everything.loc[far].iloc[:5]  # five past incidents of the category, far from the hotspot
    own, _ = cell_events(few, lattice)
    kwargs = {"train_until_ns": ORIGIN, "horizon_days": 60.0, "context": context}
    shrunk = score_cells(lattice, own, method="shrinkage", **kwargs)
    naive = score_cells(lattice, own, method="naive", **kwargs)
    alone = score_cells(lattice, own, method="shrinkage", **{**kwargs, "context": None})
    assert truth[_top(shrunk, 9)].sum() > 1.5 * truth[_top(naive, 9)].sum()
    assert truth[_top(shrunk, 9)].sum() > 1.5 * truth[_top(alone, 9)].sum()


def test_a_category_elsewhere_is_not_pulled_to_the_all_incident_hotspot() -> None:
    """A category that lives far from where most incidents are (car theft in a quiet corner) keeps
    its own hot cells: the all-incident map is scaled by the category's local share, which is
    near zero around the busy hotspot. (The share kernel is scaled to this 2 km area.)"""
    rng = np.random.default_rng(7)
    busy = rng.uniform(1500, 1800, (8000, 2))  # most incidents in one corner
    background = rng.uniform(0, 2000, (2000, 2))
    other = np.vstack([busy, background])
    cars = rng.uniform(0, 600, (40, 2))  # a thin category in the opposite corner
    xy = np.vstack([other, cars])
    days = rng.uniform(0, 240, len(xy))
    labels = np.array(["other"] * len(other) + ["cars"] * len(cars))
    everything = _incidents(xy[:, 0], xy[:, 1], days)
    everything["category"] = labels
    lattice = make_lattice(everything.geometry.x, everything.geometry.y, cell_m=100.0, area=_area())
    context, _ = cell_events(everything, lattice)
    own, _ = cell_events(everything.loc[labels == "cars"], lattice)
    params = {"share_bandwidth_m": 300.0}
    kwargs = {"train_until_ns": ORIGIN, "horizon_days": 30.0, "context": context}
    scores = score_cells(lattice, own, method="shrinkage", params=params, **kwargs)
    top = _top(scores, 9)
    col = lattice.active[top] % lattice.nx
    row = lattice.active[top] // lattice.nx
    # the 9 flagged cells all lie in the category's corner (cells 0..5 of 20), none near the hotspot
    assert (col <= 6).all()
    assert (row <= 6).all()


def test_no_history_scores_zero_everywhere() -> None:
    """A category without incidents before the origin gets all-zero scores, not an error."""
    lattice, context = _lattice_and_events(seed=2)
    empty = CellEvents(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    scores = score_cells(
        lattice, empty, train_until_ns=ORIGIN, horizon_days=7.0, method="shrinkage", context=context
    )
    assert scores.shape == (lattice.n_cells,)
    assert not scores.any()
