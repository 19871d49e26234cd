"""``patrolgrid map`` and ``patrolgrid export`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def _files(
    tmp_path: Path, grids: gpd.GeoDataFrame, risk: pd.DataFrame, plan: dict[str, Any]
) -> tuple[Path, Path, Path]:
    g = tmp_path / "grids.geojson"
    grids.to_file(g, driver="GeoJSON")
    r = tmp_path / "risk.csv"
    risk.to_csv(r, index=False)
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(plan), encoding="utf-8")
    return g, r, p


def test_export_writes_files_and_sizes(plan: dict[str, Any], tmp_path: Path) -> None:
    """``export --format gpx`` writes one file per unit and reports each unit's bytes."""
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(plan), encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "export",
            "--plan",
            str(p),
            "--format",
            "gpx",
            "--out",
            str(tmp_path / "out"),
            "--simplify-m",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == [
        "police_car-1.gpx",
        "volunteer-2.gpx",
    ]
    assert str((tmp_path / "out" / "volunteer-2.gpx").stat().st_size) in result.output


def test_export_bad_input_is_one_line(plan: dict[str, Any], tmp_path: Path) -> None:
    """A bad format or a broken plan file exits 2 with one error line naming the problem."""
    p = tmp_path / "plan.json"
    p.write_text(json.dumps(plan), encoding="utf-8")
    result = runner.invoke(
        app, ["export", "--plan", str(p), "--format", "pdf", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "--format" in result.output
    p.write_text("{not json", encoding="utf-8")
    result = runner.invoke(
        app, ["export", "--plan", str(p), "--format", "csv", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "not valid JSON" in result.output
    assert "Traceback" not in result.output


def test_map_command_writes_offline_page_and_report(
    grids: gpd.GeoDataFrame, risk: pd.DataFrame, plan: dict[str, Any], tmp_path: Path
) -> None:
    """``map`` with grids, risk and plan writes an offline page and, with --report, the report."""
    g, r, p = _files(tmp_path, grids, risk, plan)
    out = tmp_path / "map.html"
    rep = tmp_path / "report.html"
    result = runner.invoke(
        app,
        [
            "map",
            "--grids",
            str(g),
            "--risk",
            str(r),
            "--plan",
            str(p),
            "--out",
            str(out),
            "--lang",
            "zh",
            "--report",
            str(rep),
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script src=" not in html
    assert "网格风险" in html
    assert "巡逻方案报告" in rep.read_text(encoding="utf-8")
