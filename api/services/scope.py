"""What each role may see, as SQL filters (applied in the database, never after the fact)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from api.auth import Principal
from api.db.models import Grid, Incident

__all__ = ["grid_scope", "incident_scope", "sees_incidents"]


def sees_incidents(principal: Principal) -> bool:
    """Volunteers never see incident details; every other role does (within its scope)."""
    return principal.role != "volunteer"


def incident_scope(principal: Principal) -> ColumnElement[bool]:
    """Incidents the caller may read: all, or its district's for a supervisor."""
    if principal.role == "supervisor":
        return Incident.district_id == principal.district
    if principal.role == "volunteer":
        return sa.false()
    return sa.true()


def grid_scope(principal: Principal) -> ColumnElement[bool]:
    """Grids the caller may read: a supervisor its district, a volunteer its community."""
    if principal.role == "supervisor":
        return Grid.district_id == principal.district
    if principal.role == "volunteer":
        return Grid.community_id == principal.community
    return sa.true()
