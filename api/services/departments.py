"""Departments in the loop: their moves (handled, hand-back), queues, assignments, metrics,
and the residents' details only admins and dispatchers may read.

A co-dispatched incident (``{"to": "dispatched", "departments": [...]}``) has one assignment per
department; each department marks its own ``handled``, and the incident moves to ``handled``
when the last one does. A department handing an incident back (``{"to": "returned", "note"}``)
sends the whole incident back to the dispatcher's queue with its reason; its assignment is kept
as ``returned`` (and the department no longer sees the incident) until the dispatcher
re-dispatches, which replaces every assignment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from api.auth import Principal
from api.db.engine import Database
from api.db.loop_models import IncidentDepartment, Rating, ResidentReport
from api.db.models import Incident, Transition
from api.problems import ProblemError
from api.workflow import CLOSED_STATES, TransitionRequest, WorkflowError, due_at

from .incidents import _get as _visible
from .incidents import _iso, incident_dict
from .loop_config import Departments
from .scope import incident_scope

__all__ = [
    "DISPATCHER_STATES",
    "assignments",
    "department_metrics",
    "department_transition",
    "queue",
    "ratings",
    "reporter",
]

#: States in which an incident waits for the dispatcher (escalated ones are listed whatever
#: their state).
DISPATCHER_STATES = (
    "reported",
    "verified",
    "accepted",
    "returned",
    "reopened",
    "handled",
    "rechecked",
)


def _assignment_dict(row: IncidentDepartment) -> dict[str, Any]:
    return {
        "department": row.department,
        "status": row.status,
        "dispatched_at": _iso(row.dispatched_at),
        "handled_at": _iso(row.handled_at),
        "note": row.note,
    }


def department_transition(
    database: Database,
    incident_id: str,
    request: TransitionRequest,
    principal: Principal,
    limits_s: Mapping[str, int],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A department's move of one of its incidents: ``handled`` or ``returned`` (hand-back).

    Raises
    ------
    ProblemError
        404 when the incident is not dispatched to this department, 409 on a concurrent change.
    WorkflowError
        403 for another target state, 409 when the incident or assignment is not open, 422 for
        missing or extra details.
    """
    now = now or datetime.now(UTC)
    code = str(principal.department)
    if request.to not in ("handled", "returned"):
        msg = (
            f"to: a department moves its incidents only to handled or returned, not {request.to!r}"
        )
        raise WorkflowError(msg, status=403, field="to")
    extra = [
        name
        for name, value in (
            ("unit_id", request.unit_id),
            ("department", request.department),
            ("departments", request.departments),
            ("satisfaction", request.satisfaction),
        )
        if value
    ]
    if extra:
        msg = f"{extra[0]}: a department's {request.to!r} move takes only a note"
        raise WorkflowError(msg, status=422, field=extra[0])
    if request.to == "returned" and not (request.note or "").strip():
        raise WorkflowError(
            "note: handing an incident back needs a note saying why", status=422, field="note"
        )
    with database.session() as session:
        incident = _visible(session, incident_id, principal)
        rows = session.scalars(
            sa.select(IncidentDepartment).where(IncidentDepartment.incident_id == incident_id)
        ).all()
        own = next(r for r in rows if r.department == code)
        if incident.state != "dispatched":
            msg = f"incident {incident_id!r} is {incident.state}; a department acts on dispatched incidents"
            raise WorkflowError(msg, status=409, field="to")
        if own.status != "dispatched":
            msg = f"department {code!r} has already {own.status} incident {incident_id!r}"
            raise WorkflowError(msg, status=409, field="to")
        waiting = [r.department for r in rows if r.status == "dispatched" and r.department != code]
        version = incident.version
        if request.to == "returned":
            own.status, own.note = "returned", request.note
            target, details = "returned", {"department": code, "handed_back": True}
        else:
            own.status, own.handled_at = "handled", now
            target = "dispatched" if waiting else "handled"
            details = {"department": code, "department_handled": True}
            if waiting:
                details["waiting_for"] = waiting
        values: dict[str, Any] = {"version": version + 1}
        if target != "dispatched":
            others = tuple(r.department for r in rows if r.status != "returned")
            values.update(
                state=target,
                state_since=now,
                due_at=due_at(
                    target, now, limits_s, category=incident.category, departments=others
                ),
                escalated_at=None,
            )
            if target == "handled":
                values["handled_at"] = now
        updated = session.execute(
            sa.update(Incident)
            .where(Incident.incident_id == incident_id, Incident.version == version)
            .values(**values)
        )
        if updated.rowcount != 1:
            msg = f"incident {incident_id!r} changed while this transition ran; read it again and retry"
            raise ProblemError(409, msg, field="to")
        session.add(
            Transition(
                incident_id=incident_id,
                at=now,
                actor=principal.label,
                from_state="dispatched",
                to_state=target,
                note=request.note,
                details=details,
            )
        )
    with database.sessions() as session:
        fresh = session.scalars(
            sa.select(Incident).where(Incident.incident_id == incident_id)
        ).one()
        return incident_dict(fresh)


def _assignments_of(session: Any, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    if not ids:
        return out
    rows = session.scalars(
        sa.select(IncidentDepartment)
        .where(IncidentDepartment.incident_id.in_(ids))
        .order_by(IncidentDepartment.id)
    ).all()
    for row in rows:
        out.setdefault(row.incident_id, []).append(_assignment_dict(row))
    return out


def queue(
    database: Database,
    principal: Principal,
    *,
    departments: Departments | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """The caller's work: a dispatcher's incidents waiting for it (and every escalated open
    one), or a department's open assignments; escalated first, then by due time. Each item
    names the departments whose ``categories`` list its category (``suggested_departments``)."""
    handles: dict[str, list[str]] = {}
    for department in (departments or {}).values():
        for category in department.categories:
            handles.setdefault(category, []).append(department.code)
    if principal.role == "department":
        mine = sa.select(IncidentDepartment.incident_id).where(
            IncidentDepartment.department == principal.department,
            IncidentDepartment.status == "dispatched",
        )
        where = sa.and_(Incident.incident_id.in_(mine), Incident.state == "dispatched")
    else:
        where = sa.or_(
            Incident.state.in_(DISPATCHER_STATES),
            sa.and_(
                Incident.escalated_at.is_not(None),
                Incident.state.not_in(sorted(CLOSED_STATES)),
            ),
        )
    with database.sessions() as session:
        rows = session.scalars(
            sa.select(Incident)
            .where(where, incident_scope(principal))
            .order_by(
                sa.case((Incident.escalated_at.is_(None), 1), else_=0),
                sa.case((Incident.due_at.is_(None), 1), else_=0),
                Incident.due_at,
                Incident.received_at,
                Incident.incident_id,
            )
            .limit(limit)
        ).all()
        by_id = _assignments_of(session, [r.incident_id for r in rows])
        out = []
        for incident in rows:
            item = incident_dict(incident)
            item["escalated_at"] = _iso(incident.escalated_at)
            item["departments"] = by_id.get(incident.incident_id, [])
            item["suggested_departments"] = handles.get(incident.category, [])
            out.append(item)
        return out


def assignments(database: Database, incident_id: str, principal: Principal) -> list[dict[str, Any]]:
    """The departments an incident is or was dispatched to (since its last dispatch)."""
    with database.sessions() as session:
        _visible(session, incident_id, principal)
        return _assignments_of(session, [incident_id]).get(incident_id, [])


def reporter(database: Database, incident_id: str) -> dict[str, Any]:
    """A resident's report with its contact fields (admins and dispatchers only)."""
    with database.sessions() as session:
        row = session.get(ResidentReport, incident_id)
        if row is None:
            msg = f"incident {incident_id!r} is not a resident's report"
            raise ProblemError(404, msg, field="path.incident_id")
        return {
            "incident_id": row.incident_id,
            "service_code": row.service_code,
            "address_string": row.address_string,
            "location_source": row.location_source,
            "media_url": row.media_url,
            "attributes": row.attributes or {},
            "email": row.email,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "phone": row.phone,
            "device_id": row.device_id,
            "account_id": row.account_id,
            "api_key_subject": row.api_key_subject,
        }


def ratings(database: Database, incident_id: str, principal: Principal) -> list[dict[str, Any]]:
    """Every rating of an incident, oldest first."""
    with database.sessions() as session:
        _visible(session, incident_id, principal)
        rows = session.scalars(
            sa.select(Rating)
            .where(Rating.incident_id == incident_id)
            .order_by(Rating.at, Rating.id)
        ).all()
        return [
            {"at": _iso(r.at), "actor": r.actor, "satisfaction": r.satisfaction, "note": r.note}
            for r in rows
        ]


_LEVEL_COLUMNS = {
    "district": Incident.district_id,
    "street": Incident.street_id,
    "community": Incident.community_id,
    "grid": Incident.grid_id,
}


def _department_row(part: pd.DataFrame, now: datetime) -> dict[str, Any]:
    """The numbers of one department (within one grid when grouped by a level)."""
    open_ = part.loc[(part["status"] == "dispatched") & (part["state"] == "dispatched")]
    handled = part.loc[part["status"] == "handled"]
    handling = None
    if len(handled):
        spans = pd.to_datetime(handled["handled_at"], utc=True) - pd.to_datetime(
            handled["dispatched_at"], utc=True
        )
        handling = round(float(spans.dt.total_seconds().mean()), 3)
    due = pd.to_datetime(open_["due_at"], utc=True)
    return {
        "assigned": len(part),
        "open": len(open_),
        "handled": len(handled),
        "returned": int((part["status"] == "returned").sum()),
        "overdue": int((due.notna() & (due < pd.Timestamp(now))).sum()),
        "escalated": int(open_["escalated_at"].notna().sum()),
        "handling_s": handling,
    }


def department_metrics(
    database: Database,
    principal: Principal,
    departments: Departments,
    *,
    level: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per department (and, with ``level``, per grid of that level where it has work):
    incidents assigned, open, handled, handed back, overdue and escalated (open ones), and the
    mean seconds from dispatch to the department's handling."""
    now = now or datetime.now(UTC)
    place = _LEVEL_COLUMNS[level] if level else sa.null()
    with database.sessions() as session:
        rows = session.execute(
            sa.select(
                IncidentDepartment.department,
                IncidentDepartment.status,
                IncidentDepartment.dispatched_at,
                IncidentDepartment.handled_at,
                Incident.state,
                Incident.due_at,
                Incident.escalated_at,
                place.label("grid_id"),
            )
            .join(Incident, Incident.incident_id == IncidentDepartment.incident_id)
            .where(incident_scope(principal))
        ).all()
    columns = ["department", "status", "dispatched_at", "handled_at", "state", "due_at"]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[*columns, "escalated_at", "grid_id"])
    out = []
    for code in departments:
        part = frame.loc[frame["department"] == code]
        names = {"name_zh": departments[code].name_zh, "name_en": departments[code].name_en}
        if level is None:
            row = _department_row(part, now)
            out.append({"department": code, **names, "level": None, "grid_id": None, **row})
            continue
        for grid_id, cell in part.dropna(subset=["grid_id"]).groupby("grid_id", sort=True):
            row = _department_row(cell, now)
            out.append(
                {"department": code, **names, "level": level, "grid_id": str(grid_id), **row}
            )
    return out


def open_work(
    database: Database, principal: Principal, code: str, *, now: datetime | None = None
) -> tuple[Any, Any]:
    """A department's open incidents as an incidents-contract GeoDataFrame (no description),
    and per grid the count of them that are overdue (a ``grid_id``, ``overdue`` frame)."""
    import geopandas as gpd
    from shapely.geometry import Point

    now = now or datetime.now(UTC)
    mine = sa.select(IncidentDepartment.incident_id).where(
        IncidentDepartment.department == code, IncidentDepartment.status == "dispatched"
    )
    with database.sessions() as session:
        rows = session.execute(
            sa.select(
                Incident.incident_id,
                Incident.occurred_at,
                Incident.category,
                Incident.severity,
                Incident.lon,
                Incident.lat,
                Incident.grid_id,
                Incident.due_at,
            ).where(
                Incident.incident_id.in_(mine),
                Incident.state == "dispatched",
                incident_scope(principal),
            )
        ).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=[
            "incident_id",
            "occurred_at",
            "category",
            "severity",
            "lon",
            "lat",
            "grid_id",
            "due_at",
        ],
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    due = pd.to_datetime(frame["due_at"], utc=True)
    frame["overdue"] = (due.notna() & (due < pd.Timestamp(now))).astype(int)
    incidents = gpd.GeoDataFrame(
        frame[["incident_id", "occurred_at", "category", "severity"]],
        geometry=[Point(x, y) for x, y in zip(frame["lon"], frame["lat"], strict=True)],
        crs="EPSG:4326",
    )
    overdue = frame.dropna(subset=["grid_id"]).groupby("grid_id", as_index=False)["overdue"].sum()
    return incidents, overdue


def open_work_table(database: Database, principal: Principal, code: str) -> pd.DataFrame:
    """A department's open incidents for its report (:data:`maps.work_report.WORK_COLUMNS`):
    those dispatched to it that it has not handled or handed back, within the caller's scope;
    no description, no contact field."""
    with database.sessions() as session:
        rows = session.execute(
            sa.select(
                Incident.incident_id,
                Incident.category,
                Incident.severity,
                Incident.state,
                Incident.grid_id,
                Incident.occurred_at,
                IncidentDepartment.dispatched_at,
                Incident.due_at,
                Incident.escalated_at,
            )
            .join(IncidentDepartment, IncidentDepartment.incident_id == Incident.incident_id)
            .where(
                IncidentDepartment.department == code,
                IncidentDepartment.status == "dispatched",
                Incident.state == "dispatched",
                incident_scope(principal),
            )
        ).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=[
            "incident_id",
            "category",
            "severity",
            "state",
            "grid_id",
            "occurred_at",
            "dispatched_at",
            "due_at",
            "escalated_at",
        ],
    )
    for column in ("occurred_at", "dispatched_at", "due_at", "escalated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    # one row per incident: its latest dispatch to this department
    frame = frame.sort_values("dispatched_at", kind="stable")
    return frame.drop_duplicates("incident_id", keep="last").reset_index(drop=True)
