"""The shift in motion: re-plans from events, routes by version for handhelds, check-ins."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import Principal, current_principal, require_roles
from api.deps import DatabaseDep, SettingsDep
from api.problems import ProblemError, responses
from api.routes.plans import MEDIA_TYPES, OutputCrs, _done_plan
from api.services import shift as service
from maps.coords import routes_in_crs
from maps.gpx import plan_to_gpx
from maps.kml import routes_to_kml
from maps.privacy import export_plan_routes
from planner.events import EventError

router = APIRouter(tags=["plans"])

PlanId = Annotated[str, PathParam(max_length=64)]
UnitId = Annotated[str, PathParam(max_length=128)]
Caller = Annotated[Principal, Depends(current_principal)]
Staff = Annotated[Principal, require_roles("admin", "dispatcher", "supervisor")]


class EventsIn(BaseModel):
    """Events of the shift (see docs/shift.md) and the re-plan's solver settings."""

    events: list[dict[str, Any]] = Field(min_length=1, max_length=1000)
    time_limit_s: float = Field(default=2.0, gt=0, le=60)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    scope: Literal["minimal", "all"] = "minimal"


class Replanned(BaseModel):
    """The new version: its summary and, per route, whether it changed and its ETag."""

    plan_id: str
    version: int
    summary: dict[str, Any]
    routes: list[dict[str, Any]]


def route_etag(route: dict[str, Any], fmt: str = "json") -> str:
    """A strong ETag of one route's content as served (changes exactly when the route does)."""
    content = {
        k: v for k, v in route.items() if k != "changed"
    }  # a flag of the version, not the route
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(f"{fmt}\n{text}".encode()).hexdigest()[:32] + '"'


@router.post(
    "/plans/{plan_id}/events",
    response_model=Replanned,
    summary="Re-plan the rest of the shift from events",
    responses=responses(401, 403, 404, 409, 422),
)
async def post_events(
    request: Request,
    plan_id: PlanId,
    body: EventsIn,
    principal: Staff,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Replanned:
    """Keep everything before the events, re-plan the rest changing as few routes as possible."""
    job, _plan = _done_plan(request, database, plan_id, principal)
    limit = min(body.time_limit_s, settings.plan_time_limit_s)

    def run() -> Any:
        geometry = service.street_path(
            request.app.state.networks,
            settings,
            request.app.state.grid_cache.get(),
            job.district_id,
        )
        return service.replan(
            database,
            plan_id,
            {"events": body.events},
            actor=principal.label,
            time_limit_s=limit,
            seed=body.seed,
            scope=body.scope,
            path_geometry=geometry,
        )

    try:
        done = await run_in_threadpool(run)
    except EventError as exc:
        raise ProblemError(422, str(exc), field=f"body.{exc.field}") from None
    doc = done.document
    return Replanned(
        plan_id=plan_id,
        version=done.result.state.version,
        summary=doc["summary"],
        routes=[
            {"unit_id": r["unit_id"], "changed": r["changed"], "etag": route_etag(r)}
            for r in doc["routes"]
        ],
    )


@router.get(
    "/plans/{plan_id}/routes/{unit_id}",
    summary="One unit's current route, with an ETag per version",
    responses={
        200: {
            "content": {"application/json": {}, **{MEDIA_TYPES[f]: {} for f in ("gpx", "kml")}},
            "description": "The route (JSON, GPX or KML)",
        },
        304: {"description": "Not modified (If-None-Match matched the route's ETag)"},
        **responses(401, 403, 404, 409, 422),
    },
)
async def get_route(
    request: Request,
    plan_id: PlanId,
    unit_id: UnitId,
    principal: Caller,
    database: DatabaseDep,
    format: Annotated[Literal["json", "gpx", "kml"], Query()] = "json",
    crs: OutputCrs = "wgs84",
    if_none_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Response:
    """The route as a handheld polls it: 304 while its ETag still matches, the new one after a re-plan.

    ``crs=gcj02|bd09`` gives its coordinates for Chinese handheld map apps (mainland China only).
    """
    _job, plan = _done_plan(request, database, plan_id, principal)
    route = next((r for r in plan["routes"] if r["unit_id"] == unit_id), None)
    if route is None:
        raise ProblemError(
            404, f"unit {unit_id!r} has no route you may see in this plan", field="path.unit_id"
        )
    tag = route_etag(route, format if crs == "wgs84" else f"{format}:{crs}")
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if if_none_match is not None and tag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    version = plan.get("summary", {}).get("version", 0)
    headers["X-Plan-Version"] = str(version)
    if format == "json":
        (shown,) = routes_in_crs([route], crs)
        return JSONResponse(shown, headers=headers)
    audience = "volunteer" if principal.role == "volunteer" else None
    if format == "gpx":
        text = plan_to_gpx(plan, unit_id, audience=audience, crs=crs)
    else:
        (clean,) = routes_in_crs(export_plan_routes(plan, audience=audience, units=[unit_id]), crs)
        police = route.get("kind") in ("police_car", "foot_patrol") and audience is None
        text = routes_to_kml([clean], name=unit_id, with_incidents=police)
    headers["Content-Disposition"] = f'attachment; filename="{unit_id}.{format}"'
    return Response(text, media_type=MEDIA_TYPES[format], headers=headers)


class CheckinIn(BaseModel):
    """An explicit check-in at a checkpoint."""

    checkpoint: str = Field(min_length=1, max_length=256)
    unit_id: str = Field(min_length=1, max_length=128)
    at: datetime


@router.post(
    "/plans/{plan_id}/checkins",
    status_code=201,
    summary="Check a unit in at a checkpoint",
    responses=responses(401, 403, 404, 409, 422),
)
async def post_checkin(
    request: Request,
    plan_id: PlanId,
    body: CheckinIn,
    principal: Annotated[Principal, require_roles("admin", "dispatcher", "supervisor")],
    database: DatabaseDep,
) -> dict[str, Any]:
    """Record that ``unit_id`` checked in at ``checkpoint`` (a name or a checkpoint stop id)."""
    _job, plan = _done_plan(request, database, plan_id, principal)
    if body.at.tzinfo is None:
        raise ProblemError(422, "at: needs a UTC offset (ISO 8601)", field="body.at")
    units = {r["unit_id"] for r in plan["routes"]}
    if body.unit_id not in units:
        raise ProblemError(
            422, f"unit_id: {body.unit_id!r} has no route in this plan", field="body.unit_id"
        )
    names = _checkpoint_names(plan)
    name = body.checkpoint.removeprefix("checkpoint:")
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        raise ProblemError(
            422,
            f"checkpoint: {body.checkpoint!r} is not in this plan (known: {known})",
            field="body.checkpoint",
        )
    checkin_id = await run_in_threadpool(
        service.add_checkin,
        database,
        plan_id,
        checkpoint=name,
        unit_id=body.unit_id,
        at=body.at,
        actor=principal.label,
    )
    return {
        "id": checkin_id,
        "checkpoint": name,
        "unit_id": body.unit_id,
        "at": body.at.isoformat(),
    }


def _checkpoint_names(plan: dict[str, Any]) -> set[str]:
    out = set()
    for r in plan.get("routes", []):
        for s in r.get("steps", []):
            sid = str(s.get("stop_id") or "")
            if s.get("type") == "checkpoint":
                out.add(str(s.get("name") or sid).removeprefix("checkpoint:"))
            elif sid.startswith("checkpoint:"):
                out.add(sid.removeprefix("checkpoint:"))
    for u in plan.get("unassigned", []):
        sid = str(u.get("stop_id") or "")
        if sid.startswith("checkpoint:"):
            out.add(sid.removeprefix("checkpoint:"))
    return out


__all__ = ["route_etag", "router"]
