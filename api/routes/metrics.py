"""Workflow metrics per grid and per level."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.auth import Principal, require_roles
from api.deps import DatabaseDep
from api.problems import responses
from api.services import incidents as service

router = APIRouter(tags=["metrics"])


class MetricsRow(BaseModel):
    """Workflow numbers of one grid."""

    grid_id: str
    level: str
    incidents: int
    response_s: float | None
    handling_s: float | None
    closed: int
    closure_rate: float
    overdue: int
    rated: int
    satisfaction_mean: float | None
    satisfaction_rate: float | None


@router.get(
    "/metrics",
    response_model=list[MetricsRow],
    summary="Workflow metrics per grid",
    responses=responses(401, 403, 422),
)
async def get_metrics(
    principal: Annotated[Principal, require_roles("admin", "dispatcher", "supervisor")],
    database: DatabaseDep,
    level: Annotated[Literal["district", "street", "community", "grid"], Query()] = "grid",
) -> list[dict[str, Any]]:
    """Response and handling time, closure rate, overdue count, satisfaction, per grid of a level."""
    return await run_in_threadpool(service.metrics, database, principal, level=level)
