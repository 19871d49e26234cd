"""The incident workflow in the database: transitions with an audit trail, overdue, metrics.

A transition is a compare-and-set on the incident's ``version`` (its ``ETag``): two dispatchers
moving the same incident at once cannot both succeed (the second gets 412 and retries on fresh
state); with ``If-Match`` a move based on a stale read fails with 412 too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from api.auth import Principal
from api.concurrency import stale
from api.db.engine import Database
from api.db.models import Incident, Transition
from api.problems import ProblemError
from api.workflow import (
    CLOSED_STATES,
    DEPARTMENTS,
    TransitionRequest,
    check_transition,
    due_at,
)
from geo.hierarchy import ANCESTOR_COLUMNS

from . import loop
from .scope import incident_scope

__all__ = ["apply_transition", "audit_trail", "incident_dict", "metrics", "overdue"]

PUBLIC_COLUMNS = (
    "incident_id",
    "occurred_at",
    "received_at",
    "category",
    "severity",
    "description",
    "lon",
    "lat",
    "grid_id",
    "community_id",
    "street_id",
    "district_id",
    "state",
    "state_since",
    "due_at",
    "unit_id",
    "department",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "satisfaction",
    "version",
)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back naive UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return value


def incident_dict(incident: Incident) -> dict[str, Any]:
    """An incident as the API answers it (timestamps in ISO 8601 UTC)."""
    return {name: _iso(getattr(incident, name)) for name in PUBLIC_COLUMNS}


def _get(session: sa.orm.Session, incident_id: str, principal: Principal) -> Incident:
    incident = session.scalars(
        sa.select(Incident).where(Incident.incident_id == incident_id, incident_scope(principal))
    ).first()
    if incident is None:
        raise ProblemError(404, f"incident {incident_id!r} not found", field="path.incident_id")
    return incident


def get_incident(database: Database, incident_id: str, principal: Principal) -> dict[str, Any]:
    """One incident in the caller's scope (404 otherwise)."""
    with database.sessions() as session:
        return incident_dict(_get(session, incident_id, principal))


def apply_transition(
    database: Database,
    incident_id: str,
    request: TransitionRequest,
    principal: Principal,
    limits_s: Mapping[str, int],
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    known_departments: Collection[str] = DEPARTMENTS,
) -> dict[str, Any]:
    """Move an incident to ``request.to`` and record it in the audit trail, atomically.

    One transaction: read the state, check the move (and ``expected_version``, the caller's
    ``If-Match``), claim the row with a compare-and-set on ``version``, and only then take
    the time, write the new state and its audit entry. The claim holds the row's write lock
    until commit, so the times of an incident's audit entries follow its commit order.

    Department assignments (co-dispatch) and the rating history are kept by
    :func:`api.services.loop.after_transition` in the same transaction.

    Raises
    ------
    ProblemError
        404 unknown incident, 412 a stale ``expected_version`` or a concurrent change.
    api.workflow.WorkflowError
        Mapped to 409 (illegal move) or 422 (missing details) by the route.
    """
    with database.session() as session:
        current = _get(session, incident_id, principal)
        state, version = current.state, current.version
        has_dispatch = current.dispatched_at is not None
        category = current.category
        if expected_version is not None and expected_version != version:
            raise stale(f"incident {incident_id!r}", expected_version, version)
        check_transition(state, request, known_departments=known_departments)
        assigned = loop.current_departments(session, incident_id)
        claimed = session.execute(
            sa.update(Incident)
            .where(Incident.incident_id == incident_id, Incident.version == version)
            .values(version=version + 1)
        )
        if claimed.rowcount != 1:
            session.rollback()
            latest = session.scalar(
                sa.select(Incident.version).where(Incident.incident_id == incident_id)
            )
            raise stale(f"incident {incident_id!r}", version, int(latest or version))
        now = now or datetime.now(UTC)  # taken under the row's write lock: commit order
        departments = request.all_departments if request.to == "dispatched" else assigned
        values = _transition_values(
            request,
            now,
            limits_s,
            has_dispatch=has_dispatch,
            category=category,
            departments=departments,
        )
        session.execute(
            sa.update(Incident).where(Incident.incident_id == incident_id).values(**values)
        )
        details = {
            k: v
            for k, v in {
                "unit_id": request.unit_id,
                "department": request.department,
                "departments": list(request.departments) or None,
                "satisfaction": request.satisfaction,
            }.items()
            if v is not None
        }
        session.add(
            Transition(
                incident_id=incident_id,
                at=now,
                actor=principal.label,
                from_state=state,
                to_state=request.to,
                note=request.note,
                details=details or None,
            )
        )
        loop.after_transition(session, incident_id, request, principal, now)
    with database.sessions() as session:
        return incident_dict(_get(session, incident_id, principal))


def _transition_values(
    request: TransitionRequest,
    now: datetime,
    limits_s: Mapping[str, int],
    *,
    has_dispatch: bool,
    category: str | None,
    departments: tuple[str, ...] | list[str],
) -> dict[str, Any]:
    """The columns a move to ``request.to`` sets (the version is claimed by the caller)."""
    values: dict[str, Any] = {
        "state": request.to,
        "state_since": now,
        "due_at": due_at(request.to, now, limits_s, category=category, departments=departments),
        "escalated_at": None,
    }
    if request.to == "dispatched":
        values["unit_id"] = request.unit_id
        values["department"] = departments[0] if departments else None
        if not has_dispatch:
            values["dispatched_at"] = now
    elif request.to == "handled":
        values["handled_at"] = now
    elif request.to == "closed":
        values["closed_at"] = now
    elif request.to == "rated":
        values["satisfaction"] = request.satisfaction
    elif request.to == "reopened":
        values["closed_at"] = None
        values["satisfaction"] = None
    return values


def audit_trail(database: Database, incident_id: str, principal: Principal) -> list[dict[str, Any]]:
    """Every transition of one incident, oldest first."""
    with database.sessions() as session:
        _get(session, incident_id, principal)
        rows = session.scalars(
            sa.select(Transition)
            .where(Transition.incident_id == incident_id)
            .order_by(Transition.id)
        ).all()
        return [
            {
                "at": _iso(t.at),
                "actor": t.actor,
                "from": t.from_state,
                "to": t.to_state,
                "note": t.note,
                "details": t.details or {},
            }
            for t in rows
        ]


def overdue(
    database: Database, principal: Principal, *, now: datetime | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Open incidents past their stage's time limit, most overdue first."""
    now = now or datetime.now(UTC)
    with database.sessions() as session:
        rows = session.scalars(
            sa.select(Incident)
            .where(Incident.due_at.is_not(None), Incident.due_at < now, incident_scope(principal))
            .order_by(Incident.due_at, Incident.incident_id)
            .limit(limit)
        ).all()
        out = []
        for incident in rows:
            item = incident_dict(incident)
            due = incident.due_at if incident.due_at.tzinfo else incident.due_at.replace(tzinfo=UTC)
            item["overdue_s"] = round((now - due).total_seconds(), 3)
            out.append(item)
        return out


_LEVEL_COLUMN = {**ANCESTOR_COLUMNS, "grid": "grid_id"}


def _utc(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series)
    if values.dt.tz is None:
        return values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC")


def metrics(
    database: Database, principal: Principal, *, level: str = "grid", now: datetime | None = None
) -> list[dict[str, Any]]:
    """Workflow metrics per grid of one level.

    Returns one row per grid with at least one incident: ``incidents``, ``response_s`` (mean
    seconds from arrival to first dispatch), ``handling_s`` (dispatch to handled), ``closed``,
    ``closure_rate``, ``overdue``, ``rated``, ``satisfaction_mean`` and ``satisfaction_rate``
    (share of ratings of 4 or 5). Means are None where nothing has been measured yet.
    """
    now = now or datetime.now(UTC)
    column = _LEVEL_COLUMN[level]
    with database.sessions() as session:
        rows = session.execute(
            sa.select(
                getattr(Incident, column).label("group_id"),
                Incident.received_at,
                Incident.dispatched_at,
                Incident.handled_at,
                Incident.state,
                Incident.due_at,
                Incident.satisfaction,
            ).where(getattr(Incident, column).is_not(None), incident_scope(principal))
        ).all()
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=[
            "group_id",
            "received_at",
            "dispatched_at",
            "handled_at",
            "state",
            "due_at",
            "satisfaction",
        ],
    )
    if frame.empty:
        return []
    for name in ("received_at", "dispatched_at", "handled_at", "due_at"):
        frame[name] = _utc(frame[name])
    frame["response_s"] = (frame["dispatched_at"] - frame["received_at"]).dt.total_seconds()
    frame["handling_s"] = (frame["handled_at"] - frame["dispatched_at"]).dt.total_seconds()
    frame["closed"] = frame["state"].isin(CLOSED_STATES)
    frame["overdue"] = frame["due_at"].notna() & (frame["due_at"] < pd.Timestamp(now))
    frame["rated"] = frame["satisfaction"].notna()
    frame["satisfied"] = pd.to_numeric(frame["satisfaction"], errors="coerce") >= 4
    grouped = frame.groupby("group_id", sort=True)
    table = pd.DataFrame(
        {
            "incidents": grouped.size(),
            "response_s": grouped["response_s"].mean(),
            "handling_s": grouped["handling_s"].mean(),
            "closed": grouped["closed"].sum(),
            "overdue": grouped["overdue"].sum(),
            "rated": grouped["rated"].sum(),
            "satisfaction_mean": grouped["satisfaction"].mean(),
            "satisfied": grouped["satisfied"].sum(),
        }
    )
    out = []
    for group_id, row in table.iterrows():
        rated = int(row["rated"])
        out.append(
            {
                "grid_id": str(group_id),
                "level": level,
                "incidents": int(row["incidents"]),
                "response_s": _num(row["response_s"]),
                "handling_s": _num(row["handling_s"]),
                "closed": int(row["closed"]),
                "closure_rate": int(row["closed"]) / int(row["incidents"]),
                "overdue": int(row["overdue"]),
                "rated": rated,
                "satisfaction_mean": _num(row["satisfaction_mean"]),
                "satisfaction_rate": int(row["satisfied"]) / rated if rated else None,
            }
        )
    return out


def _num(value: Any) -> float | None:
    return None if pd.isna(value) else round(float(value), 3)
