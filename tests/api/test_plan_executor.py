"""Plan jobs solved on a Dask cluster (``PATROLGRID_PLAN_SCHEDULER``), as on the thread path."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.services.grids import store_grids
from api.services.plan_executor import PlanExecutor, SchedulerUnreachableError
from api.services.plans import INTERRUPTED, get_job
from benchmarks._server import free_port
from geo.incidents import load_incidents
from tests.api.conftest import SECRET, settings_for, token_headers
from tests.conftest import PHL, north_philly_grids

UNITS = """\
timezone: America/New_York
shift: {start: "2025-01-22T18:00", end: "2025-01-23T02:00"}
max_stops: 20
units:
  - {unit_id: car-1, kind: police_car, depot: [-75.1627, 39.9796]}
  - {unit_id: vol-1, kind: volunteer, mode: walk, depot: [-75.155, 39.982], grids: [NORTH_CENTRAL]}
"""


def _unreachable() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


def test_unreachable_scheduler_stops_the_start(backend: tuple[str, str | None]) -> None:
    """A scheduler that does not answer stops the start with an error naming the setting and
    the address (the thread path is not taken silently instead)."""
    url, schema = backend
    address = _unreachable()
    settings = settings_for(url, plan_scheduler=address, plan_scheduler_timeout_s=1.0)
    application = create_app(settings, schema=schema)
    with pytest.raises(SchedulerUnreachableError) as caught, TestClient(application):
        pass
    message = str(caught.value)
    assert "PATROLGRID_PLAN_SCHEDULER" in message
    assert address in message


def test_serve_names_the_unreachable_scheduler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`patrolgrid serve` with an unreachable scheduler exits 2 with one line, no traceback."""
    address = _unreachable()
    monkeypatch.setenv("PATROLGRID_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("PATROLGRID_SECRET", SECRET)
    monkeypatch.setenv("PATROLGRID_PLAN_SCHEDULER", address)
    monkeypatch.setenv("PATROLGRID_PLAN_SCHEDULER_TIMEOUT_S", "1")
    result = CliRunner().invoke(cli, ["serve", "--port", str(free_port())])
    assert result.exit_code == 2, result.output
    assert "PATROLGRID_PLAN_SCHEDULER" in result.output
    assert address in result.output
    assert "Traceback" not in result.output


def test_without_a_scheduler_jobs_run_in_threads(client: TestClient) -> None:
    """No scheduler set: plan jobs run in this process, as /healthz says."""
    assert client.get("/healthz").json() == {"status": "ok", "plan_executor": "threads"}


def test_a_bad_scheduler_address_is_named() -> None:
    """An address that is no Dask address fails at once, naming the setting and the fix."""
    with pytest.raises(SchedulerUnreachableError, match="PATROLGRID_PLAN_SCHEDULER: 'http://x:1'"):
        PlanExecutor.start(scheduler="http://x:1")


def test_executor_refuses_zero_threads() -> None:
    """PATROLGRID_PLAN_WORKERS below 1 is an error naming the setting."""
    with pytest.raises(ValueError, match="PATROLGRID_PLAN_WORKERS"):
        PlanExecutor(workers=0)


def _store_north_philly(application: Any, client: TestClient) -> None:
    """Three neighbourhoods with 400 m cells, and January 2025's incidents inside them."""
    grids = north_philly_grids()
    with application.state.database.session() as session:
        store_grids(session, grids)
    application.state.grid_cache.invalidate()
    west, south, east, north = grids.loc[grids["level"] == "community"].total_bounds
    incidents = load_incidents(PHL / "phl_incidents_2025-01.csv").incidents
    incidents = incidents.cx[west:east, south:north]
    rows = [
        {
            "incident_id": str(r.incident_id),
            "occurred_at": pd.Timestamp(r.occurred_at).isoformat(),
            "category": str(r.category),
            "severity": int(r.severity),
            "lon": float(r.geometry.x),
            "lat": float(r.geometry.y),
        }
        for r in incidents.itertuples()
    ]
    answer = client.post("/incidents", json={"incidents": rows}, headers=token_headers("admin"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] > 100


def _post(client: TestClient, time_limit_s: float = 1) -> str:
    """POST the North Philadelphia shift; the job's URL."""
    body = {"units": yaml.safe_load(UNITS), "time_limit_s": time_limit_s, "seed": 1}
    response = client.post("/plans", json=body, headers=token_headers("admin"))
    assert response.status_code == 202, response.text
    return str(response.headers["location"])


def _plan(client: TestClient) -> dict[str, Any]:
    """POST the North Philadelphia shift and poll the job until it is done or failed."""
    admin = token_headers("admin")
    href = _post(client)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        job = client.get(href, headers=admin).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError("the plan job did not finish in 600 s")


def _shape(value: Any, path: str = "") -> set[str]:
    """The member paths of a JSON document (``routes[].steps[].lon``), list items merged."""
    if isinstance(value, dict):
        return {path} | {p for k, v in value.items() for p in _shape(v, f"{path}.{k}")}
    if isinstance(value, list):
        return {path} | {p for v in value for p in _shape(v, f"{path}[]")}
    return {path}


@pytest.mark.slow
def test_plan_job_solved_on_a_dask_cluster(
    app: Any, client: TestClient, backend: tuple[str, str | None]
) -> None:
    """With PATROLGRID_PLAN_SCHEDULER the job's solve runs on a worker process of that cluster;
    the job is polled to done like a thread job, and its result has the thread job's shape.
    A solve still running on the cluster when the server stops is cancelled and its job failed
    as interrupted (not left running, not reported as a bug)."""
    from distributed import LocalCluster

    _store_north_philly(app, client)
    app.state.settings.network_path = PHL / "temple_north_philly.osm"
    threads = _plan(client)
    assert threads["status"] == "done", threads["error"]

    url, schema = backend
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        settings = settings_for(
            url,
            plan_scheduler=cluster.scheduler_address,
            network_path=app.state.settings.network_path,
            plan_time_limit_s=300.0,
        )
        on_dask = create_app(settings, schema=schema)
        with TestClient(on_dask) as dask_client:
            assert dask_client.get("/healthz").json()["plan_executor"] == "dask"
            assert on_dask.state.plan_executor.workers == 1  # the cluster's worker threads
            job = _plan(dask_client)
            prefixes = set(cluster.scheduler.task_prefixes)
            long_job = _post(dask_client, time_limit_s=300).rsplit("/", 1)[1]
            _wait_for_a_solve(cluster.scheduler)
        stopped = _wait_for_status(on_dask.state.database, long_job)
    assert job["status"] == "done", job["error"]
    assert "patrolgrid-plan" in prefixes, "the solve ran on the cluster"
    assert job["result"]["summary"]["visits"] > 0
    assert job["result"]["summary"]["valid"] is True
    assert {r["unit_id"] for r in job["result"]["routes"]} == {"car-1", "vol-1"}
    assert _shape(job["result"]) == _shape(threads["result"])
    assert set(job) == set(threads)
    assert stopped.status == "failed"
    assert stopped.error == INTERRUPTED


def _wait_for_a_solve(scheduler: Any, timeout_s: float = 300) -> None:
    """Wait until a plan solve is processing on the cluster."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = {str(k): t.state for k, t in list(scheduler.tasks.items())}
        if any(k.startswith("patrolgrid-plan-") and s == "processing" for k, s in states.items()):
            return
        time.sleep(0.2)
    raise AssertionError(f"no plan solve started on the cluster in {timeout_s} s")


def _wait_for_status(database: Any, plan_id: str, timeout_s: float = 60) -> Any:
    """The job row once it is no longer queued or running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = get_job(database, plan_id)
        if job is not None and job.status not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"plan job {plan_id} still unfinished {timeout_s} s after the stop")
