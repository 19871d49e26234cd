"""Delivered against planned presence of a plan, from stored AVL positions and check-ins."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.auth import Principal, require_roles
from api.deps import DatabaseDep
from api.problems import ProblemError, responses
from api.routes.plans import _done_plan
from api.services import plans as plans_service
from api.services import shift as service
from api.shift import dosage_document
from geo.tracks import track_frame
from planner.shift_file import read_shift

router = APIRouter(tags=["plans"])

PlanId = Annotated[str, PathParam(max_length=64)]
Staff = Annotated[Principal, require_roles("admin", "dispatcher", "supervisor")]


def _measure(
    request: Request, database: Any, plan_id: str, principal: Principal
) -> tuple[Any, ...]:
    job, plan = _done_plan(request, database, plan_id, principal)
    summary = plan.get("summary", {})
    if "shift_start" not in summary:
        raise ProblemError(409, f"plan {plan_id!r} has no shift times", field="path.plan_id")
    start = pd.Timestamp(summary["shift_start"]) - timedelta(hours=1)
    end = pd.Timestamp(summary["shift_end"]) + timedelta(hours=1)
    units = [str(r["unit_id"]) for r in plan["routes"]]
    rows = service.positions(database, units, start.to_pydatetime(), end.to_pydatetime())
    version = service.latest_version(database, plan_id)
    if version is not None:
        grids = read_shift(version.shift).grids()
    else:
        from geo.hierarchy import leaf_grids

        grids = leaf_grids(
            plans_service.district_grids(request.app.state.grid_cache.get(), job.district_id)
        )
    (clean, result), doc = dosage_document(
        plan, track_frame(rows), grids, checkins=service.checkins(database, plan_id)
    )
    return plan, grids, clean, result, doc


@router.get(
    "/plans/{plan_id}/dosage",
    summary="Delivered against planned presence (JSON, CSV or an HTML report)",
    responses={
        200: {
            "content": {"application/json": {}, "text/csv": {}, "text/html": {}},
            "description": "dosage.json, dosage.csv or the report page",
        },
        **responses(401, 403, 404, 409),
    },
)
async def get_dosage(
    request: Request,
    plan_id: PlanId,
    principal: Staff,
    database: DatabaseDep,
    format: Annotated[Literal["json", "csv", "html"], Query()] = "json",
) -> Response:
    """Per unit and grid, planned and delivered seconds, visits made and missed, check-ins."""
    _plan, _grids, _clean, result, doc = await run_in_threadpool(
        _measure, request, database, plan_id, principal
    )
    if format == "csv":
        return Response(result.table.to_csv(index=False), media_type="text/csv; charset=utf-8")
    if format == "html":
        from maps.dosage import render_dosage_report

        return HTMLResponse(render_dosage_report(doc))
    return JSONResponse(doc)


@router.get(
    "/plans/{plan_id}/dosage/map",
    response_class=HTMLResponse,
    summary="Planned against delivered presence on the map",
    responses={
        200: {"content": {"text/html": {}}, "description": "Offline HTML map"},
        **responses(401, 403, 404, 409),
    },
)
async def get_dosage_map(
    request: Request, plan_id: PlanId, principal: Staff, database: DatabaseDep
) -> HTMLResponse:
    """Grids coloured by delivered / planned, tracks, missed visits and checkpoints."""
    from maps.dosage import dosage_map
    from maps.folium_map import map_html

    def render() -> str:
        plan, grids, clean, _result, doc = _measure(request, database, plan_id, principal)
        return map_html(dosage_map(grids, doc, plan, tracks=clean))

    return HTMLResponse(await run_in_threadpool(render))


@router.get(
    "/metrics/dosage",
    summary="Dosage figures of a plan per unit, for supervisors",
    responses=responses(401, 403, 404, 409, 422),
)
async def get_dosage_metrics(
    request: Request,
    principal: Staff,
    database: DatabaseDep,
    plan_id: Annotated[str, Query(max_length=64, description="The plan measured")],
) -> list[dict[str, Any]]:
    """One row per unit: planned_s, delivered_s, share, visits planned/delivered, missed count."""
    _plan, _grids, _clean, _result, doc = await run_in_threadpool(
        _measure, request, database, plan_id, principal
    )
    return [
        {
            "plan_id": plan_id,
            "unit_id": u["unit_id"],
            "planned_s": u["planned_s"],
            "delivered_s": u["delivered_s"],
            "delivered_share": round(u["delivered_s"] / u["planned_s"], 4)
            if u["planned_s"]
            else None,
            "visits_planned": u["visits_planned"],
            "visits_delivered": u["visits_delivered"],
            "missed": len(u["missed"]),
        }
        for u in doc["units"]
    ]
