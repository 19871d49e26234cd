"""Tests of geo.hotspots: the risk table per leaf grid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import GridError, IncidentError
from geo.hotspots import risk_table, to_timestamp
from geo.profiles import PROFILE_COLUMNS

NOW = "2024-03-01T00:00:00Z"


def _grids() -> gpd.GeoDataFrame:
    """One community with three 0.01-degree leaf cells side by side (Philadelphia)."""
    cells = [shapely.box(-75.16 + 0.01 * i, 39.98, -75.15 + 0.01 * i, 39.99) for i in range(3)]
    community = shapely.box(-75.16, 39.98, -75.13, 39.99)
    return gpd.GeoDataFrame(
        {
            "grid_id": ["c1", "c1-a", "c1-b", "c1-c"],
            "level": ["community", "grid", "grid", "grid"],
            "parent_id": [None, "c1", "c1", "c1"],
            "name": ["C", "A", "B", "C3"],
            "households": [None, 100, 0, None],
        },
        geometry=[community, *cells],
        crs="EPSG:4326",
    )


def _joined(rows: list[tuple[str | None, str, int]]) -> pd.DataFrame:
    """Joined incidents from (grid_id, UTC time, severity) triples."""
    return pd.DataFrame(
        {
            "incident_id": [f"i{k}" for k in range(len(rows))],
            "grid_id": [g for g, _, _ in rows],
            "occurred_at": pd.to_datetime([t for _, t, _ in rows], utc=True),
            "category": "Thefts",
            "severity": [s for _, _, s in rows],
        }
    )


def test_one_row_per_leaf_with_zeros_where_none() -> None:
    """Every leaf grid gets a row (in grid order), empty grids with zero counts and risk."""
    joined = _joined([("c1-a", "2024-02-28T10:00Z", 2)])
    table = risk_table(joined, _grids(), now=NOW)
    assert table["grid_id"].tolist() == ["c1-a", "c1-b", "c1-c"]
    assert table["count"].tolist() == [1, 0, 0]
    assert table.loc[1, "risk"] == 0.0
    assert table.loc[1, "profile_source"] == "city"


def test_window_counts_and_future_incidents() -> None:
    """Window counts include (now - w, now]; incidents after now are ignored and reported."""
    joined = _joined(
        [
            ("c1-a", "2024-02-27T00:00Z", 1),  # 3 days
            ("c1-a", "2024-02-01T00:00Z", 1),  # 29 days
            ("c1-a", "2023-06-01T00:00Z", 1),  # 274 days
            ("c1-a", "2022-01-01T00:00Z", 1),  # > 365 days
            ("c1-a", "2024-03-05T00:00Z", 1),  # after now
            (None, "2024-02-27T00:00Z", 1),  # outside every grid
        ]
    )
    table = risk_table(joined, _grids(), now=NOW).set_index("grid_id")
    row = table.loc["c1-a"]
    assert row["count"] == 4
    assert (row["count_7d"], row["count_28d"], row["count_90d"], row["count_365d"]) == (1, 1, 2, 3)
    assert table.attrs["incidents_after_now"] == 1
    assert table.attrs["incidents_outside"] == 1


def test_risk_is_severity_weighted_and_halves_per_half_life() -> None:
    """An incident one half-life old counts half its severity."""
    joined = _joined([("c1-a", "2024-02-20T00:00Z", 4), ("c1-b", "2024-03-01T00:00Z", 3)])
    table = risk_table(joined, _grids(), now=NOW, half_life_days=10.0).set_index("grid_id")
    assert table.loc["c1-a", "risk"] == pytest.approx(2.0)
    assert table.loc["c1-b", "risk"] == pytest.approx(3.0)


def test_missing_severity_counts_as_one() -> None:
    """Without a severity column every incident weighs 1."""
    joined = _joined([("c1-a", NOW, 5)]).drop(columns="severity")
    table = risk_table(joined, _grids(), now=NOW)
    assert table.loc[0, "risk"] == pytest.approx(1.0)


def test_profiles_sum_to_one_and_peak_at_local_hour() -> None:
    """The 168 shares sum to 1 in every row and peak at the incidents' local hour of week."""
    # Fridays 2024-02-16 and 2024-02-23 at 23:30 New York time = Saturday 04:30 UTC.
    joined = _joined([("c1-a", "2024-02-17T04:30Z", 1), ("c1-a", "2024-02-24T04:30Z", 1)])
    table = risk_table(joined, _grids(), now=NOW, timezone="America/New_York")
    profiles = table[list(PROFILE_COLUMNS)].to_numpy()
    np.testing.assert_allclose(profiles.sum(axis=1), 1.0)
    assert profiles[0].argmax() == 4 * 24 + 23
    # an empty grid takes the city-wide profile as its fallback
    np.testing.assert_allclose(profiles[1], profiles[2])


def test_rates_where_known() -> None:
    """Rates per household exist only where households are known and positive; area in km2."""
    joined = _joined([("c1-a", NOW, 1), ("c1-b", NOW, 1)])
    table = risk_table(joined, _grids(), now=NOW).set_index("grid_id")
    assert table.loc["c1-a", "count_per_household"] == pytest.approx(0.01)
    assert table.loc["c1-b", "count_per_household"] is None
    assert table.loc["c1-c", "count_per_household"] is None
    # 0.01 degree cells at 40N: about 1.11 km x 0.85 km
    assert table.loc["c1-a", "area_km2"] == pytest.approx(0.948, rel=0.02)
    assert table.loc["c1-a", "count_per_km2"] == pytest.approx(1 / table.loc["c1-a", "area_km2"])


def test_bad_input_is_reported_with_the_field() -> None:
    """Unknown grid ids, bad severities and naive times raise errors naming the field."""
    with pytest.raises(GridError, match="not a leaf"):
        risk_table(_joined([("nope", NOW, 1)]), _grids(), now=NOW)
    with pytest.raises(IncidentError, match="severity"):
        risk_table(_joined([("c1-a", NOW, 9)]), _grids(), now=NOW)
    naive = _joined([("c1-a", NOW, 1)])
    naive["occurred_at"] = naive["occurred_at"].dt.tz_localize(None)
    with pytest.raises(IncidentError, match="timezone-aware"):
        risk_table(naive, _grids(), now=NOW)
    with pytest.raises(IncidentError, match="grid_id"):
        risk_table(naive.drop(columns="grid_id"), _grids(), now=NOW)


def test_no_incidents_at_all() -> None:
    """An empty incident frame gives zeros and flat profiles, not NaN."""
    table = risk_table(_joined([]), _grids(), now=NOW)
    assert table["count"].sum() == 0
    assert not table[list(PROFILE_COLUMNS)].isna().any().any()


def test_naive_now_is_local_time() -> None:
    """A naive `now` is read in the city's zone."""
    assert to_timestamp("2024-03-01 00:00", "America/New_York") == pd.Timestamp(
        "2024-03-01 05:00", tz="UTC"
    )


# --- Gi*, kernel density, the full table and the roll-up ------------------------------------


def _lattice_grids(n: int = 7, cell_m: float = 200.0) -> gpd.GeoDataFrame:
    """An n x n square grid laid in UTM 18N under one community (ids g<i>_<j>)."""
    cells, ids = [], []
    for i in range(n):
        for j in range(n):
            x0, y0 = 485_000 + i * cell_m, 4_425_000 + j * cell_m
            cells.append(shapely.box(x0, y0, x0 + cell_m, y0 + cell_m))
            ids.append(f"g{i}_{j}")
    community = shapely.box(485_000, 4_425_000, 485_000 + n * cell_m, 4_425_000 + n * cell_m)
    frame = gpd.GeoDataFrame(
        {
            "grid_id": ["com", *ids],
            "level": ["community", *["grid"] * len(ids)],
            "parent_id": [None, *["com"] * len(ids)],
            "name": ["com", *ids],
            "households": [None, *[10] * len(ids)],
        },
        geometry=[community, *cells],
        crs="EPSG:32618",
    )
    return frame.to_crs("EPSG:4326")


def _joined_points(grids: gpd.GeoDataFrame, counts: dict[str, int], seed: int = 0):
    """Incidents placed at random inside the named leaf cells, over the last 400 days."""
    from geo.hierarchy import leaf_grids

    rng = np.random.default_rng(seed)
    leaves = leaf_grids(grids).set_index("grid_id")
    rows = []
    for gid, k in counts.items():
        minx, miny, maxx, maxy = leaves.geometry[gid].bounds
        rows.extend(
            (gid, rng.uniform(minx, maxx), rng.uniform(miny, maxy), rng.uniform(0, 400))
            for _ in range(k)
        )
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"i{k}" for k in range(len(rows))],
            "grid_id": [r[0] for r in rows],
            "occurred_at": pd.Timestamp(NOW) - pd.to_timedelta([r[3] for r in rows], unit="D"),
            "category": ["Thefts" if k % 3 else "Burglary Residential" for k in range(len(rows))],
            "severity": 2,
            "community_id": "com",
        },
        geometry=gpd.points_from_xy([r[1] for r in rows], [r[2] for r in rows]),
        crs="EPSG:4326",
    )


def test_getis_ord_matches_the_formula_and_flags_the_cluster() -> None:
    """Gi* equals the textbook formula and esda's G_Local (star, binary); the centre of a
    cluster has the largest z."""
    from geo.hotspot_stats import getis_ord
    from geo.weights import lattice_weights

    ix, iy = np.meshgrid(np.arange(7), np.arange(7), indexing="ij")
    w = lattice_weights(ix.ravel(), iy.ravel())
    y = np.zeros(49)
    y[24] = 10
    y[[17, 23, 25, 31]] = 5
    y[0] = 1
    gi = getis_ord(y, w)
    full = w.matrix.toarray() + np.eye(49)
    wi = full.sum(axis=1)
    s = np.sqrt((y**2).mean() - y.mean() ** 2)
    z = (full @ y - y.mean() * wi) / (s * np.sqrt((49 * (full**2).sum(axis=1) - wi**2) / 48))
    np.testing.assert_allclose(gi["gi_z"].to_numpy(dtype=float), z, rtol=1e-9)
    from esda.getisord import G_Local

    reference = G_Local(y, w.to_libpysal(), transform="B", star=True, permutations=0)
    np.testing.assert_allclose(gi["gi_z"].to_numpy(dtype=float), reference.Zs, rtol=1e-9)
    np.testing.assert_allclose(gi["gi_p"].to_numpy(dtype=float), reference.p_norm, rtol=1e-9)
    assert int(np.argmax(gi["gi_z"].to_numpy(dtype=float))) == 24
    assert gi["gi_p"][24] < 0.001


def test_getis_ord_omitted_with_reason_when_data_too_thin() -> None:
    """Too few grids or too few non-zero values: no z, no p, a reason; never NaN soup."""
    from geo.hotspot_stats import getis_ord
    from geo.weights import lattice_weights

    w = lattice_weights(np.arange(4), np.zeros(4, dtype=int))
    out = getis_ord(np.array([1.0, 0, 0, 0]), w)
    assert out["gi_z"].isna().all()
    assert out["gi_reason"].str.contains("too few grids").all()
    ix, iy = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    w = lattice_weights(ix.ravel(), iy.ravel())
    out = getis_ord(np.r_[1.0, np.zeros(24)], w)
    assert out["gi_reason"].str.contains("with incidents").all()


def test_kernel_density_integrates_to_the_weight() -> None:
    """Density (per km2) summed over a fine covering grid times cell area equals the weights."""
    from geo.hotspot_stats import kernel_density

    grids = _lattice_grids(n=30, cell_m=50.0)
    leaves = grids.iloc[1:]
    centre = leaves.geometry.iloc[15 * 30 + 15].centroid
    lon = np.array([centre.x, centre.x])
    lat = np.array([centre.y, centre.y])
    density = kernel_density(lon, lat, leaves, weights=np.array([1.0, 2.0]), bandwidth_m=100.0)
    assert density.sum() * 0.05 * 0.05 == pytest.approx(3.0, rel=0.03)
    assert int(np.argmax(density)) in {15 * 30 + 15, 15 * 30 + 14, 14 * 30 + 15, 14 * 30 + 14}


def test_hotspot_table_finds_the_hot_cluster_and_explains_it() -> None:
    """A cluster of busy cells gets the top Gi* z, density, and a why naming its categories."""
    grids = _lattice_grids()
    counts = {f"g{i}_{j}": 1 for i in range(7) for j in range(7) if (i + j) % 3 == 0}
    counts.update({"g3_3": 60, "g3_4": 30, "g2_3": 30, "g4_3": 30, "g3_2": 30})
    joined = _joined_points(grids, counts)
    from geo.hotspot_report import hotspot_table

    table = hotspot_table(joined, grids, now=NOW, timezone="America/New_York")
    top = table.sort_values("gi_z", ascending=False).iloc[0]
    assert top["grid_id"] == "g3_3"
    assert table.loc[table["kde"].idxmax(), "grid_id"] == "g3_3"
    assert "Thefts" in top["why"]
    assert "peak" in top["why"]
    assert table.loc[table["count"] == 0, "why"].eq("no incidents").all()
    assert table["gi_reason"].isna().all()
    assert set(table["trend"].dropna()) <= {"up", "down", "steady"}


def test_explanation_survives_weights_that_decayed_to_zero() -> None:
    """With a half-life so short that every weight underflows to 0, the why still names the
    categories (equal shares) instead of failing on 0/0."""
    grids = _lattice_grids()
    joined = _joined_points(grids, {"g3_3": 5, "g1_1": 2})
    joined["occurred_at"] = joined["occurred_at"] - pd.Timedelta(days=400)
    from geo.hotspot_report import hotspot_table

    table = hotspot_table(
        joined, grids, now=NOW, timezone="America/New_York", half_life_days=0.03125
    )
    why = table.set_index("grid_id")["why"]
    assert "Thefts 50%" in why["g3_3"]


def test_roll_up_risk_sums_and_keeps_profiles_shares() -> None:
    """The community row sums its leaves; its profile is a share vector; rates are recomputed."""
    from geo.hotspot_report import roll_up_risk

    grids = _lattice_grids(n=3)
    joined = _joined_points(grids, {"g0_0": 5, "g1_1": 3})
    table = risk_table(joined, grids, now=NOW)
    rolled = roll_up_risk(table, grids).set_index("grid_id")
    assert rolled.loc["com", "level"] == "community"
    assert rolled.loc["com", "count"] == 8
    assert rolled.loc["com", "risk"] == pytest.approx(table["risk"].sum())
    assert rolled.loc["com", "households"] == 90
    assert rolled.loc["com", "count_per_household"] == pytest.approx(8 / 90)
    profile = rolled.loc["com", list(PROFILE_COLUMNS)].to_numpy(dtype=float)
    assert profile.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(
        rolled.loc["g0_0", list(PROFILE_COLUMNS)].to_numpy(dtype=float),
        table.set_index("grid_id").loc["g0_0", list(PROFILE_COLUMNS)].to_numpy(dtype=float),
    )


@pytest.mark.slow
def test_philadelphia_districts_risk_table(phl_dir) -> None:
    """Real data: January 2025 incidents over the 22 police districts. Every located incident
    inside a district is counted once, profiles are shares, and the busiest district's Gi*
    is computed (22 grids) from tolerant contiguity weights."""
    from tests.conftest import require

    path = phl_dir / "phl_incidents_2025-01.csv"
    require(path.exists(), "the Philadelphia 2025 incidents")
    from geo.hotspot_report import hotspot_table
    from geo.incidents import load_incidents
    from geo.join import join_incidents

    districts = gpd.read_file(phl_dir / "phl_police_districts.geojson")
    grids = gpd.GeoDataFrame(
        {
            "grid_id": districts["DIST_NUM"].astype(str).to_numpy(),
            "level": "grid",
            "parent_id": None,
            "name": districts["DIST_NUM"].astype(str).to_numpy(),
        },
        geometry=districts.geometry.to_numpy(),
        crs=districts.crs,
    )
    incidents = load_incidents(path).incidents
    joined = join_incidents(incidents, grids)
    table = hotspot_table(joined, grids, now="2025-01-22T12:00:00Z", timezone="America/New_York")
    assert len(table) == 22
    assert table["count"].sum() == joined["grid_id"].notna().sum()
    np.testing.assert_allclose(table[list(PROFILE_COLUMNS)].sum(axis=1), 1.0)
    assert table["gi_z"].notna().all()
    # January only: no year-long baseline, so trend tests are omitted with the reason
    assert table["trend_reason"].str.startswith("baseline shorter").all()
