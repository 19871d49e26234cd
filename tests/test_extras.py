"""Optional extras: a missing package's error names the extra to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app


def test_cli_names_the_extra_when_dask_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without dask, `patrolgrid join --scheduler` exits 2 with one line naming [scale]."""
    monkeypatch.setitem(sys.modules, "dask", None)  # as if not installed: import fails
    monkeypatch.delitem(sys.modules, "geo.join_dask", raising=False)
    parts = tmp_path / "parts"
    parts.mkdir()
    result = CliRunner().invoke(
        app,
        ["join", "--grids", str(tmp_path / "g.geojson"), "--incidents", str(parts),
         "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:1"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "pip install 'patrolgrid[scale]'" in result.output
    assert "Traceback" not in result.output


def test_library_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing the scale-out module without dask raises ModuleNotFoundError naming [scale]."""
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.delitem(sys.modules, "geo.join_dask", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"patrolgrid\[scale\]"):
        import geo.join_dask  # noqa: F401


def test_gbm_forecast_names_the_ml_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scoring with method='gbm' without scikit-learn raises an error naming [ml]."""
    import numpy as np

    from geo.forecast import CellEvents, make_lattice, score_cells

    lattice = make_lattice(np.array([-75.16, -75.15]), np.array([39.98, 39.99]), cell_m=200.0)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    events = CellEvents(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'patrolgrid\[ml\]'"):
        score_cells(lattice, events, train_until_ns=0, horizon_days=7.0, method="gbm")


def test_station_fanout_names_the_scale_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Planning stations over Dask without distributed raises an error naming [scale]."""
    from planner.fanout import plan_stations

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'patrolgrid\[scale\]'"):
        plan_stations({}, scheduler="tcp://127.0.0.1:1")


def test_postgis_column_type_names_the_postgres_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """A geometry column on PostgreSQL without GeoAlchemy2 raises an error naming [postgres]."""
    from sqlalchemy.dialects import postgresql

    from api.db.spatial import SpatialGeometry

    monkeypatch.setitem(sys.modules, "geoalchemy2", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'patrolgrid\[postgres\]'"):
        SpatialGeometry().load_dialect_impl(postgresql.dialect())


def test_plan_scheduler_names_the_scale_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's plan executor with PATROLGRID_PLAN_SCHEDULER set, without distributed,
    raises an error naming [scale] (without a scheduler it needs nothing of the extra)."""
    from api.services.plan_executor import PlanExecutor

    monkeypatch.setitem(sys.modules, "distributed", None)
    PlanExecutor.start(scheduler=None).close()
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'patrolgrid\[scale\]'"):
        PlanExecutor.start(scheduler="tcp://127.0.0.1:1")
