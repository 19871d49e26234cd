"""One router per resource; :data:`ROUTERS` is what :func:`api.app.create_app` includes."""

from __future__ import annotations

from fastapi import APIRouter, Request

from . import (
    collections,
    departments,
    dosage,
    grids,
    hotspots,
    incidents,
    metrics,
    open311,
    plan_events,
    plans,
    positions,
    workflow,
)

health = APIRouter(tags=["ogc"])


@health.get("/healthz", summary="Liveness", response_model=dict[str, str])
def healthz(request: Request) -> dict[str, str]:
    """``{"status": "ok", "plan_executor": "threads" | "dask"}`` while the process serves
    requests (no token needed); ``dask``: plan solves run on a Dask cluster."""
    executor = getattr(request.app.state, "plan_executor", None)
    return {"status": "ok", "plan_executor": "threads" if executor is None else executor.kind}


ROUTERS: list[APIRouter] = [
    health,
    collections.router,
    incidents.router,
    workflow.router,
    grids.router,
    metrics.router,
    hotspots.router,
    plans.router,
    plan_events.router,
    positions.router,
    dosage.router,
    open311.router,
    departments.router,
]
