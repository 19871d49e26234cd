"""Tests for geo.join_dask: the partitioned join gives the in-memory answer, row for row."""

from __future__ import annotations

from pathlib import Path

import dask_geopandas
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from geo.join import assign_grids
from geo.join_dask import join_geoparquet, join_partitions


@pytest.fixture(scope="module")
def cells() -> gpd.GeoDataFrame:
    """200 Voronoi cells over the unit square, ids in shuffled order."""
    rng = np.random.default_rng(7)
    sites = shapely.multipoints(rng.uniform(0, 1, (200, 2)))
    frame = box(0, 0, 1, 1)
    geoms = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(sites, extend_to=frame)), frame
    )
    ids = [f"c{i:03d}" for i in rng.permutation(len(geoms))]
    return gpd.GeoDataFrame({"grid_id": ids}, geometry=geoms, crs=4326)


@pytest.fixture(scope="module")
def points() -> gpd.GeoDataFrame:
    """5,000 incidents, some outside the cells."""
    rng = np.random.default_rng(8)
    lon, lat = rng.uniform(-0.1, 1.1, 5000), rng.uniform(-0.1, 1.1, 5000)
    ids = [f"i{i}" for i in range(5000)]
    return gpd.GeoDataFrame({"incident_id": ids}, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def _ids(series: pd.Series) -> list[object]:
    """A string column with missing values as a list with None."""
    return [None if pd.isna(v) else v for v in series]


def test_partitions_match_in_memory(cells: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> None:
    """Joining 7 partitions gives the same grid per incident as assign_grids on all of them."""
    frame = dask_geopandas.from_geopandas(points, npartitions=7)
    joined = join_partitions(frame, cells).compute(scheduler="sync")
    expected = assign_grids(points.geometry.x.to_numpy(), points.geometry.y.to_numpy(), cells)
    assert _ids(joined["grid_id"]) == _ids(pd.Series(expected))
    assert joined["incident_id"].tolist() == points["incident_id"].tolist()


@pytest.mark.slow
def test_geoparquet_on_a_cluster(
    cells: gpd.GeoDataFrame, points: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    """GeoParquet parts joined on a 2-worker cluster are written with the in-memory answer."""
    from distributed import Client

    source, out = tmp_path / "in", tmp_path / "out"
    dask_geopandas.from_geopandas(points, npartitions=4).to_parquet(source)
    with Client(
        processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as client:
        summary = join_geoparquet(source, cells, out=out, client=client)
    written = gpd.read_parquet(out)
    expected = assign_grids(points.geometry.x.to_numpy(), points.geometry.y.to_numpy(), cells)
    assert _ids(written["grid_id"]) == _ids(pd.Series(expected))
    assert summary.outside == int((expected.codes < 0).sum())
    assert summary.incidents == len(points)


def test_cli_scheduler_needs_geoparquet(tmp_path: Path) -> None:
    """`patrolgrid join --scheduler` on a CSV is a one-line error (exit 2) naming the file."""
    from typer.testing import CliRunner

    from api.cli import app

    csv = tmp_path / "incidents.csv"
    csv.write_text("incident_id,lon,lat\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["join", "--grids", "g.geojson", "--incidents", str(csv), "--out", str(tmp_path / "o"),
         "--scheduler", "tcp://127.0.0.1:1"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "incidents.csv" in result.output
    assert "GeoParquet" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_cli_joins_geoparquet_on_a_scheduler(
    cells: gpd.GeoDataFrame, points: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    """`patrolgrid join --scheduler ADDRESS` writes GeoParquet parts with the in-memory answer."""
    from distributed import LocalCluster
    from typer.testing import CliRunner

    from api.cli import app

    source, out, grids = tmp_path / "in", tmp_path / "out", tmp_path / "grids.geojson"
    dask_geopandas.from_geopandas(points, npartitions=3).to_parquet(source)
    cells.to_file(grids, driver="GeoJSON")
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = CliRunner().invoke(
            app,
            ["join", "--grids", str(grids), "--incidents", str(source), "--out", str(out),
             "--scheduler", cluster.scheduler_address],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = gpd.read_parquet(out)
    expected = assign_grids(points.geometry.x.to_numpy(), points.geometry.y.to_numpy(), cells)
    assert _ids(written["grid_id"]) == _ids(pd.Series(expected))
