"""Tests of ``patrolgrid hotspots`` and ``patrolgrid forecast`` (+ ``evaluate``)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from api.cli import app


def _files(tmp_path: Path) -> tuple[Path, Path]:
    """A 4x4 grid of 250 m cells under one community and 400 canonical-CSV incidents in it."""
    cells, ids = [], []
    for i in range(4):
        for j in range(4):
            x0, y0 = 485_000 + 250 * i, 4_425_000 + 250 * j
            cells.append(shapely.box(x0, y0, x0 + 250, y0 + 250))
            ids.append(f"c-{i}-{j}")
    grids = gpd.GeoDataFrame(
        {
            "grid_id": ["com", *ids],
            "level": ["community", *["grid"] * 16],
            "parent_id": [None, *["com"] * 16],
            "name": ["com", *ids],
        },
        geometry=[shapely.box(485_000, 4_425_000, 486_000, 4_426_000), *cells],
        crs="EPSG:32618",
    ).to_crs("EPSG:4326")
    grids_path = tmp_path / "grids.geojson"
    grids.to_file(grids_path, driver="GeoJSON")
    rng = np.random.default_rng(0)
    n = 400
    hot = rng.random(n) < 0.5
    x = np.where(hot, rng.uniform(485_000, 485_250, n), rng.uniform(485_000, 486_000, n))
    y = np.where(hot, rng.uniform(4_425_000, 4_425_250, n), rng.uniform(4_425_000, 4_426_000, n))
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:32618").to_crs("EPSG:4326")
    when = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 120, n), unit="D")
    incidents = pd.DataFrame(
        {
            "incident_id": [f"i{k}" for k in range(n)],
            "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "category": np.where(rng.random(n) < 0.3, "Burglary Residential", "Thefts"),
            "lon": pts.x.round(7),
            "lat": pts.y.round(7),
        }
    )
    incidents_path = tmp_path / "incidents.csv"
    incidents.to_csv(incidents_path, index=False)
    return grids_path, incidents_path


def test_hotspots_writes_tables_geojson_and_flareups(tmp_path: Path) -> None:
    """The command writes leaf and level tables, a GeoJSON of leaves and a flare-up list;
    the hot corner cell tops the risk."""
    grids, incidents = _files(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "hotspots",
            "--grids",
            str(grids),
            "--incidents",
            str(incidents),
            "--out",
            str(out),
            "--now",
            "2024-05-01T00:00:00Z",
            "--timezone",
            "America/New_York",
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "hotspots.csv")
    assert len(table) == 16
    assert table.loc[table["risk"].idxmax(), "grid_id"] == "c-0-0"
    assert {"how_000", "how_167", "gi_z", "kde", "trend", "warning", "why"} <= set(table.columns)
    levels = pd.read_csv(out / "hotspots_levels.csv")
    assert levels.loc[levels["grid_id"] == "com", "count"].iloc[0] == table["count"].sum()
    geojson = json.loads((out / "hotspots.geojson").read_text())
    assert len(geojson["features"]) == 16
    assert "why" in geojson["features"][0]["properties"]
    assert (out / "flareups.csv").exists()


def test_hotspots_bad_grids_file_is_one_line(tmp_path: Path) -> None:
    """A missing grids file is a one-line error with exit code 2, no traceback."""
    _, incidents = _files(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "hotspots",
            "--grids",
            str(tmp_path / "nope.geojson"),
            "--incidents",
            str(incidents),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_forecast_then_evaluate(tmp_path: Path) -> None:
    """forecast writes scored cells; evaluate scores them on later incidents with PAI/PEI*."""
    _, incidents = _files(tmp_path)
    cells_path = tmp_path / "cells.geojson"
    result = CliRunner().invoke(
        app,
        [
            "forecast",
            "--incidents",
            str(incidents),
            "--cell-m",
            "100",
            "--train-until",
            "2024-03-01",
            "--horizon-days",
            "7",
            "--out",
            str(cells_path),
            "--method",
            "recency",
        ],
    )
    assert result.exit_code == 0, result.output
    cells = gpd.read_file(cells_path)
    assert {"cell_id", "score", "rank", "train_until"} <= set(cells.columns)
    scores_csv = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app,
        [
            "forecast",
            "evaluate",
            "--forecast",
            str(cells_path),
            "--incidents",
            str(incidents),
            "--window",
            "1w",
            "--window",
            "1m",
            "--area-sq-mi",
            "0.25",
            "--out",
            str(scores_csv),
        ],
    )
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(scores_csv)
    assert scores["window"].tolist() == ["1w", "1m"]
    assert (scores["pai"] > 1).all()  # the hot corner is flagged
    assert (scores["pei_star"] <= 1).all()


def test_forecast_needs_its_options(tmp_path: Path) -> None:
    """Without --incidents/--out/--train-until the forecast says which are missing (exit 2)."""
    result = CliRunner().invoke(app, ["forecast", "--cell-m", "100"])
    assert result.exit_code == 2
    assert "--incidents" in result.output
    assert "--train-until" in result.output


def test_forecast_on_the_city_grids_rolls_up_and_reports_the_choice(tmp_path: Path) -> None:
    """forecast --grids scores every leaf grid, sums them into the community, reports auto's
    choice and backtest in the output and on the console; the hot corner ranks first."""
    grids, incidents = _files(tmp_path)
    out = tmp_path / "grid_forecast.csv"
    result = CliRunner().invoke(
        app,
        [
            "forecast",
            "--incidents",
            str(incidents),
            "--grids",
            str(grids),
            "--train-until",
            "2024-04-01",
            "--horizon-days",
            "14",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "backtest" in result.output
    table = pd.read_csv(out)
    leaves = table.loc[table["level"] == "grid"]
    assert len(leaves) == 16
    assert table.loc[table["grid_id"] == "com", "expected"].iloc[0] == pytest.approx(
        leaves["expected"].sum()
    )
    assert leaves.sort_values("rank")["grid_id"].iloc[0] == "c-0-0"
    record = json.loads(table["backtest"].iloc[0])
    assert record["method"] == table["method"].iloc[0]
    assert "naive" in record["ratios"]
