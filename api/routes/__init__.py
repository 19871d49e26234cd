"""One router per resource; :data:`ROUTERS` is what :func:`api.app.create_app` includes."""

from __future__ import annotations

from fastapi import APIRouter

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
def healthz() -> dict[str, str]:
    """Answers ``{"status": "ok"}`` while the process serves requests (no token needed)."""
    return {"status": "ok"}


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
