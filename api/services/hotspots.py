"""Hotspots: the stored incidents of the caller's scope through
:func:`geo.hotspot_report.hotspot_report`, the function ``patrolgrid hotspots`` calls: the same
columns (risk, Gi*, trend, warning, flare-up, why) on both."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa

from api.auth import Principal
from api.db.engine import Database
from api.db.models import Incident
from geo.hotspot_report import hotspot_report
from geo.profiles import PROFILE_COLUMNS

from .grids import GridCache
from .scope import incident_scope

__all__ = ["joined_incidents", "risk_for"]


def joined_incidents(database: Database, principal: Principal) -> pd.DataFrame:
    """Stored incidents in the caller's scope as a joined-incidents frame (grid ids from arrival)."""
    with database.sessions() as session:
        rows = session.execute(
            sa.select(
                Incident.incident_id,
                Incident.occurred_at,
                Incident.category,
                Incident.severity,
                Incident.description,
                Incident.lon,
                Incident.lat,
                Incident.grid_id,
                Incident.community_id,
                Incident.street_id,
                Incident.district_id,
            ).where(incident_scope(principal))
        ).all()
    columns = [
        "incident_id",
        "occurred_at",
        "category",
        "severity",
        "description",
        "lon",
        "lat",
        "grid_id",
        "community_id",
        "street_id",
        "district_id",
    ]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    occurred = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["occurred_at"] = occurred
    frame["severity"] = frame["severity"].astype("int64")
    return frame


def risk_for(
    database: Database,
    grid_cache: GridCache,
    principal: Principal,
    *,
    now: datetime,
    timezone: str,
    half_life_days: float = 30.0,
    level: str = "grid",
) -> pd.DataFrame:
    """The hotspot table of the stored grids, limited to the caller's district for a supervisor.

    The leaves come from :func:`geo.hotspot_report.hotspot_report` (as the CLI's
    ``hotspots.csv``); an upper ``level`` takes its rows of the report's roll-up.
    """
    gridset = grid_cache.get()
    if not len(gridset.grids):
        return pd.DataFrame(columns=["grid_id", "count", "risk"])
    frame = joined_incidents(database, principal)
    joined = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    )
    report = hotspot_report(
        joined, gridset.grids, now=now, timezone=timezone, half_life_days=half_life_days
    )
    table = report.table
    if level != "grid":
        table = report.levels.loc[report.levels["level"] == level]
    if principal.role == "supervisor":
        districts = gridset.ancestors["district_id"].reindex(table["grid_id"]).to_numpy()
        table = table.loc[districts == principal.district]
    return table


def hotspot_records(table: pd.DataFrame, *, top: int, profile: bool) -> list[dict[str, Any]]:
    """The ``top`` riskiest rows as JSON-ready records (profile columns only when asked)."""
    ordered = table.sort_values(["risk", "grid_id"], ascending=[False, True]).head(top)
    if not profile:
        ordered = ordered.drop(columns=[c for c in PROFILE_COLUMNS if c in ordered.columns])
    records = []
    for record in ordered.to_dict(orient="records"):
        clean: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            elif value is not None and not isinstance(value, (str, int, float, bool, list)):
                value = (
                    None
                    if pd.isna(value)
                    else (value.item() if hasattr(value, "item") else str(value))
                )
            clean[str(key)] = value
        records.append(clean)
    return records
