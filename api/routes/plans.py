"""Patrol plans: background jobs (202 + id), status and result, the map, per-unit exports."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal, current_principal, require_roles
from api.deps import DatabaseDep, GridCacheDep, SettingsDep
from api.problems import ProblemError, responses, scrub
from api.services import incidents as incidents_service
from api.services import plans as service
from api.validation import Count, Identifier, Label, LocalTime, Number
from maps.export import export_plan
from planner.units_file import parse_units

router = APIRouter(tags=["plans"])

PlanId = Annotated[str, PathParam(max_length=64)]
Caller = Annotated[Principal, Depends(current_principal)]

#: Coordinates of a route file or view: WGS84, or GCJ-02 / BD-09 for Chinese map apps.
OutputCrs = Annotated[
    Literal["wgs84", "gcj02", "bd09"],
    Query(
        description="wgs84 (default), gcj02 (Amap, Tencent) or bd09 (Baidu); mainland China only"
    ),
]

MEDIA_TYPES = {
    "gpx": "application/gpx+xml",
    "kml": "application/vnd.google-earth.kml+xml",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "shp": "application/zip",
}


_LOOSE = ConfigDict(extra="allow")
#: A time in a units document: ISO 8601, or HH:MM on the shift's clock for breaks.
UnitsTime = LocalTime
LonLat = Annotated[list[Number], Field(min_length=2, max_length=2)]
Minutes = Annotated[Number, Field(ge=0, le=7 * 24 * 60)]


class ShiftIn(BaseModel):
    """A shift: start and end (ISO 8601; local to the document's time zone without offset)."""

    model_config = _LOOSE
    start: UnitsTime
    end: UnitsTime


class BreakIn(BaseModel):
    """A break of a unit."""

    model_config = _LOOSE
    earliest: UnitsTime
    latest: UnitsTime | None = None
    minutes: Minutes
    at: Label | None = None


class UnitIn(BaseModel):
    """One unit of a units document (see :mod:`planner.units_file`)."""

    model_config = _LOOSE
    unit_id: Label  # never in a URL path: any printable id (exports use RFC 6266)
    kind: Label
    mode: Label | None = None
    depot: LonLat
    end_depot: LonLat | None = None
    shift: ShiftIn | None = None
    max_duration_min: Minutes | None = None
    breaks: list[BreakIn] | None = Field(default=None, max_length=16)
    skills: list[Label] | None = Field(default=None, max_length=64)
    grids: list[Identifier] | None = Field(default=None, max_length=10_000)
    count: Count = Field(default=1, ge=1, le=100)


class UnitsIn(BaseModel):
    """A units document, as in a units file: strict types, bounded sizes."""

    model_config = _LOOSE
    timezone: Label = "UTC"
    shift: ShiftIn
    units: list[UnitIn] = Field(min_length=1, max_length=500)
    police_only: list[Identifier] | None = Field(default=None, max_length=10_000)
    dwell_min: Minutes | None = None
    max_stops: Count | None = Field(default=None, ge=1, le=5000)


class PlanIn(BaseModel):
    """A planning request: the units document (as in a units file) and solver settings."""

    units: UnitsIn = Field(
        description="timezone, shift {start, end}, units [...] (see planner.units_file)"
    )
    district: Identifier | None = Field(
        default=None, description="Plan for this district's grids (default all)"
    )
    seed: Count = Field(default=0, ge=0, le=2**31 - 1)
    time_limit_s: Number = Field(default=10.0, gt=0, le=600)
    max_stops: Count | None = Field(default=None, ge=1, le=5000)
    backend: Literal["ortools", "portfolio"] | None = Field(
        default=None, description="Solver backend (default: the benchmark's best)"
    )
    risk: Literal["forecast", "risk", "counts"] = Field(
        default="forecast",
        description="Stop prizes from the shift forecast raised by warnings (default), the "
        "recency-decayed risk, or naive counts",
    )
    lang: Literal["en", "zh"] = Field(default="en", description="Language of each visit's why")


class PlanAccepted(BaseModel):
    """A queued job."""

    plan_id: str
    status: str
    href: str


class PlanJob(BaseModel):
    """A job's status and, when done, its VROOM-like plan (summary, routes, unassigned)."""

    plan_id: str
    status: Literal["queued", "running", "done", "failed"]
    created_at: str
    updated_at: str
    district: str | None
    error: str | None
    result: dict[str, Any] | None


def _visible_job(request: Request, database: Any, plan_id: str, principal: Principal) -> Any:
    job = service.get_job(database, plan_id)
    hidden = job is None or (
        principal.role == "supervisor" and job.district_id != principal.district
    )
    if hidden:
        raise ProblemError(404, f"plan {plan_id!r} not found", field="path.plan_id")
    return job


def _visible_plan(request: Request, job: Any, principal: Principal) -> dict[str, Any] | None:
    if job.status != "done" or job.result is None:
        return None
    plan = dict(job.result["plan"])
    gridset = request.app.state.grid_cache.get()
    plan["routes"] = service.visible_routes(plan, principal, gridset)
    if principal.role == "volunteer":
        if not plan["routes"]:
            raise ProblemError(404, f"plan {job.plan_id!r} has no route of your community")
        plan = {
            "summary": service.volunteer_summary(plan.get("summary", {}), plan["routes"]),
            "routes": plan["routes"],
            "unassigned": [],
        }
    return plan


@router.post(
    "/plans",
    status_code=202,
    response_model=PlanAccepted,
    summary="Start planning a shift",
    responses=responses(401, 403, 409, 422),
)
async def post_plan(
    request: Request,
    body: PlanIn,
    principal: Annotated[Principal, require_roles("admin", "supervisor")],
    database: DatabaseDep,
    settings: SettingsDep,
    grid_cache: GridCacheDep,
) -> JSONResponse:
    """Queue a plan job (202 with its id and ``Location``); the solver runs in the background
    (in this process, or on the Dask cluster of ``PATROLGRID_PLAN_SCHEDULER``)."""
    district = body.district
    if principal.role == "supervisor":
        if district not in (None, principal.district):
            raise ProblemError(
                403, "district: a supervisor plans for its own district only", field="district"
            )
        district = principal.district
    units = body.units.model_dump(exclude_unset=True)
    if sum(u.count for u in body.units.units) > 1000:
        raise ProblemError(422, "units: at most 1000 units in all (count included)", field="units")
    try:
        parse_units(units, source="request body 'units'")  # bad units: 422 now, not later
    except (TypeError, ValueError, ArithmeticError, NotImplementedError) as exc:
        raise ProblemError(422, f"units: {exc}", field="units") from None
    if settings.network_path is None:
        msg = "planning is not configured: set PATROLGRID_NETWORK_PATH to an OpenStreetMap file"
        raise ProblemError(409, msg)
    payload = body.model_dump() | {"district": district, "units": units}
    plan_id = await run_in_threadpool(
        service.create_job, database, payload, actor=principal.label, district_id=district
    )
    executor = request.app.state.plan_executor
    executor.submit(
        service.run_plan,
        database,
        grid_cache,
        request.app.state.networks,
        settings,
        plan_id,
        payload,
        solver=executor.solve,
    )
    href = str(request.url_for("get_plan", plan_id=plan_id))
    return JSONResponse(
        {"plan_id": plan_id, "status": "queued", "href": href},
        status_code=202,
        headers={"Location": href},
    )


@router.get(
    "/plans/{plan_id}",
    response_model=PlanJob,
    summary="A plan job's status and result",
    responses=responses(401, 403, 404),
)
def get_plan(
    request: Request, plan_id: PlanId, principal: Caller, database: DatabaseDep
) -> PlanJob:
    """Status; when done the plan (volunteers: only their community's routes, no incidents)."""
    job = _visible_job(request, database, plan_id, principal)
    if principal.role == "volunteer" and job.status != "done":
        raise ProblemError(404, f"plan {plan_id!r} not found", field="path.plan_id")
    plan = _visible_plan(request, job, principal)
    return PlanJob(
        plan_id=job.plan_id,
        status=job.status,
        created_at=job.created_at.isoformat(),
        updated_at=job.updated_at.isoformat(),
        district=job.district_id,
        error=None if job.error is None else scrub(job.error),
        result=plan,
    )


def _done_plan(
    request: Request, database: Any, plan_id: str, principal: Principal
) -> tuple[Any, dict[str, Any]]:
    job = _visible_job(request, database, plan_id, principal)
    plan = _visible_plan(request, job, principal)
    if plan is None:
        if principal.role == "volunteer":
            raise ProblemError(404, f"plan {plan_id!r} not found", field="path.plan_id")
        raise ProblemError(409, f"plan {plan_id!r} is {job.status}, not done", field="path.plan_id")
    return job, plan


@router.get(
    "/plans/{plan_id}/map",
    response_class=HTMLResponse,
    summary="The plan on an offline map",
    responses={
        200: {"content": {"text/html": {}}, "description": "Self-contained HTML map"},
        **responses(401, 403, 404, 409),
    },
)
async def get_plan_map(
    request: Request, plan_id: PlanId, principal: Caller, database: DatabaseDep
) -> HTMLResponse:
    """The plan's routes over the grids (risk colours for staff; a volunteer sees its community)."""
    import pandas as pd

    from maps.folium_map import make_map, map_html

    job, plan = _done_plan(request, database, plan_id, principal)
    gridset = request.app.state.grid_cache.get()
    grids = service.district_grids(gridset, job.district_id)
    staff = principal.role != "volunteer"
    risk = None
    if staff:
        risk = pd.DataFrame(job.result.get("risk", []), columns=["grid_id", "count", "risk"])
    else:
        mine = gridset.ancestors.index[gridset.ancestors["community_id"] == principal.community]
        grids = grids.loc[grids["grid_id"].isin(mine)]

    def render() -> str:
        # Staff see each grid's incident workflow numbers in its popup; volunteers never do.
        metrics = (
            pd.DataFrame(incidents_service.metrics(database, principal, level="grid"))
            if staff
            else None
        )
        if metrics is not None and metrics.empty:
            metrics = None
        return map_html(make_map(grids=grids, risk=risk, plan=plan, metrics=metrics))

    return HTMLResponse(await run_in_threadpool(render))


@router.get(
    "/plans/{plan_id}/export",
    response_class=Response,
    summary="One unit's route as a file",
    responses={
        200: {"content": {t: {} for t in MEDIA_TYPES.values()}, "description": "The route file"},
        **responses(401, 403, 404, 409, 422),
    },
)
async def get_plan_export(
    request: Request,
    plan_id: PlanId,
    principal: Caller,
    database: DatabaseDep,
    unit: Annotated[str, Query(max_length=128, description="The unit whose route to export")],
    format: Annotated[Literal["gpx", "kml", "geojson", "csv", "shp"], Query()] = "gpx",
    crs: OutputCrs = "wgs84",
) -> Response:
    """A handheld file for one unit, through the maps privacy whitelist (volunteers: its own).

    ``crs=gcj02|bd09`` shifts its coordinates for Chinese handheld map apps (mainland China
    only); WGS84 by default."""
    _job, plan = _done_plan(request, database, plan_id, principal)
    if unit not in {r["unit_id"] for r in plan["routes"]}:
        raise ProblemError(
            404, f"unit {unit!r} has no route you may see in this plan", field="unit"
        )
    audience = "volunteer" if principal.role == "volunteer" else None

    def write() -> tuple[bytes, str]:
        with tempfile.TemporaryDirectory(prefix="patrolgrid-export-") as folder:
            exported = export_plan(
                plan, fmt=format, out_dir=folder, audience=audience, units=[unit], crs=crs
            )
            files = [Path(p) for e in exported for p in e.files]
            if len(files) == 1:
                return files[0].read_bytes(), files[0].name.rpartition(".")[2]
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in files:
                    archive.write(path, path.name)
            return buffer.getvalue(), "zip"

    data, suffix = await run_in_threadpool(write)
    media = MEDIA_TYPES[format] if suffix != "zip" else "application/zip"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": content_disposition(f"{unit}.{suffix}")},
    )


def content_disposition(name: str) -> str:
    """An RFC 6266 ``attachment`` header for any file name (Unicode, quotes, backslashes).

    ``filename`` is an ASCII fallback (other characters, quotes and backslashes become ``_``);
    ``filename*`` carries the exact name, UTF-8 percent-encoded (RFC 8187).

    >>> print(content_disposition('car "1"/北.gpx'))
    attachment; filename="car__1___.gpx"; filename*=UTF-8''car%20%221%22%2F%E5%8C%97.gpx
    """
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\/' else "_" for c in name)
    fallback = fallback.replace(" ", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
