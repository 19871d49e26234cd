"""Incident ingestion: validate rows, join them to the grid, store each exactly once.

A batch is a list of rows (plain objects or GeoJSON point features). Each row is checked on
its own; bad rows are reported with their index and reason. Good rows are joined to their
leaf grid with :func:`geo.join.assign_grids` and inserted with ``INSERT ... ON CONFLICT
(incident_id) DO NOTHING RETURNING incident_id`` so that a retried batch, or two clients sending
the same incident at once, store it once: the database's unique key decides, not Python.
The transaction commits before the answer is sent, so an acknowledged incident survives a
crash of the server process.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from shapely import Point
from sqlalchemy.dialects import postgresql, sqlite

from api.db.engine import Database
from api.db.models import Incident, Transition
from geo.categories import CategoryTable, default_categories

from .grids import GridCache

_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")

__all__ = ["IncidentIn", "IngestResult", "Rejected", "ingest", "remap_rows", "rows_of"]


class IncidentIn(BaseModel):
    """One incident as the dispatch system sends it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    incident_id: str = Field(min_length=1, max_length=128, description="The dispatch system's id.")
    occurred_at: AwareDatetime = Field(description="ISO 8601 time with its UTC offset.")
    category: str = Field(min_length=1, max_length=128)
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS84 (EPSG:4326).")
    lat: float = Field(ge=-90, le=90, description="Latitude, WGS84 (EPSG:4326).")
    severity: int | None = Field(
        default=None, ge=1, le=5, description="1..5; from the category table when absent."
    )
    description: str | None = Field(default=None, max_length=4000, description="Sensitive.")

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        if not 1900 <= value.astimezone(UTC).year <= 2200:
            msg = "must be between the years 1900 and 2200"
            raise ValueError(msg)
        return value

    @field_validator("lon", "lat")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            msg = "must be a finite number"
            raise ValueError(msg)
        return value


@dataclass(frozen=True)
class Rejected:
    """A row that was not stored, and why."""

    index: int
    incident_id: str | None
    reason: str


@dataclass
class IngestResult:
    """What happened to a batch."""

    accepted: int = 0
    duplicates: int = 0
    outside: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    accepted_ids: list[str] = field(default_factory=list)


def _feature_row(feature: Any) -> dict[str, Any]:
    if not isinstance(feature, dict):
        msg = "a feature must be a JSON object"
        raise TypeError(msg)
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        msg = "properties must be a JSON object"
        raise TypeError(msg)
    geometry = feature.get("geometry") or {}
    row = dict(props)
    if feature.get("id") is not None and "incident_id" not in row:
        row["incident_id"] = str(feature["id"])
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        msg = "geometry: must be a GeoJSON Point"
        raise TypeError(msg)
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        msg = "geometry.coordinates: must be [lon, lat]"
        raise TypeError(msg)
    row["lon"], row["lat"] = coordinates[0], coordinates[1]
    return row


def remap_rows(
    rows: list[Any],
    *,
    columns: Mapping[str, str] | None = None,
    timezone: str | None = None,
) -> list[Any]:
    """Rows sent with the source system's own names and local times, in the contract's terms.

    ``columns`` maps contract fields to the sender's keys (``{"occurred_at": "报警时间"}``),
    in plain rows and in features' properties; ``timezone`` gives times written without an
    offset their local zone (a daylight-saving gap moves forward, a repeated hour reads as
    the first). Anything else is left for validation to accept or reject with its reason.

    >>> remap_rows([{"id": "1", "when": "2025-01-01 08:00"}],
    ...            columns={"incident_id": "id", "occurred_at": "when"}, timezone="Asia/Shanghai")
    [{'incident_id': '1', 'occurred_at': '2025-01-01T08:00:00+08:00'}]
    """
    if not columns and not timezone:
        return rows
    out: list[Any] = []
    for row in rows:
        if not isinstance(row, dict):
            out.append(row)
            continue
        if row.get("type") == "Feature" and isinstance(row.get("properties"), dict):
            row = {**row, "properties": dict(row["properties"])}
            target = row["properties"]
        else:
            row = dict(row)
            target = row
        for name, column in (columns or {}).items():
            if column in target:
                target[name] = target.pop(column)
        when = target.get("occurred_at")
        if timezone and isinstance(when, str) and not _OFFSET.search(when.strip()):
            try:
                stamp = pd.Timestamp(when.strip())
                target["occurred_at"] = stamp.tz_localize(
                    timezone, ambiguous=True, nonexistent="shift_forward"
                ).isoformat()
            except (ValueError, TypeError):
                pass  # validation rejects it with the reason
        out.append(row)
    return out


def rows_of(body: Any) -> list[Any]:
    """The rows of a request body: one incident, ``{"incidents": [...]}`` or a FeatureCollection.

    Raises
    ------
    ValueError
        When the body is none of the three shapes (the message names the field).
    """
    if isinstance(body, dict) and body.get("type") == "FeatureCollection":
        features = body.get("features")
        if not isinstance(features, list):
            msg = "features: a FeatureCollection needs a list of features"
            raise ValueError(msg)
        return features
    if isinstance(body, dict) and body.get("type") == "Feature":
        return [body]
    if isinstance(body, dict) and "incidents" in body:
        incidents = body["incidents"]
        if not isinstance(incidents, list):
            msg = "incidents: must be a list of incidents"
            raise ValueError(msg)
        return incidents
    if isinstance(body, dict):
        return [body]
    msg = "body: send an incident object, {'incidents': [...]} or a GeoJSON FeatureCollection"
    raise ValueError(msg)


def _reason(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "row"
    return f"{where}: {err.get('msg', 'invalid')}"


def _validate(rows: list[Any]) -> tuple[list[tuple[int, IncidentIn]], list[Rejected]]:
    good: list[tuple[int, IncidentIn]] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(rows):
        raw_id = raw.get("incident_id") if isinstance(raw, dict) else None
        try:
            row = raw
            if isinstance(raw, dict) and raw.get("type") == "Feature":
                row = _feature_row(raw)
                raw_id = row.get("incident_id")
            good.append((index, IncidentIn.model_validate(row)))
        except ValidationError as exc:
            rejected.append(Rejected(index, None if raw_id is None else str(raw_id), _reason(exc)))
        except TypeError as exc:
            rejected.append(Rejected(index, None if raw_id is None else str(raw_id), str(exc)))
    return good, rejected


@lru_cache(maxsize=1)
def _categories() -> CategoryTable:
    """The shipped category table, read once per process."""
    return default_categories()


def _insert(table: sa.Table, dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def ingest(
    database: Database,
    grids: GridCache,
    rows: list[Any],
    *,
    actor: str,
    limits_s: dict[str, int],
    atomic: bool = False,
    now: datetime | None = None,
) -> IngestResult:
    """Validate, join and store a batch; see the module docstring.

    Parameters
    ----------
    atomic
        Store nothing when any row is rejected (the default stores the good rows).
    """
    now = now or datetime.now(UTC)
    good, rejected = _validate(rows)
    result = IngestResult(rejected=rejected)
    seen: set[str] = set()
    unique: list[IncidentIn] = []
    for _, item in good:
        if item.incident_id in seen:
            result.duplicates += 1
            continue
        seen.add(item.incident_id)
        unique.append(item)
    if (atomic and rejected) or not unique:
        return result
    # One global order of unique-key inserts: concurrent overlapping batches then wait on each
    # other instead of deadlocking (PostgreSQL locks each key as it inserts it).
    unique.sort(key=lambda item: item.incident_id)

    gridset = grids.get()
    lon = np.array([r.lon for r in unique], dtype=float)
    lat = np.array([r.lat for r in unique], dtype=float)
    if gridset.index is not None:
        leaf = gridset.index.assign(lon, lat)  # geo.join.assign_grids on a prepared index
    else:
        leaf = np.full(len(unique), None, dtype=object)
    missing_severity = [r.category for r in unique if r.severity is None]
    classified = iter(
        _categories().classify(missing_severity).severity.tolist() if missing_severity else []
    )
    due = limits_s.get("reported")
    due_at = None if due is None else now + timedelta(seconds=int(due))
    records = []
    for item, grid_id in zip(unique, leaf, strict=True):
        chain: dict[str, Any] = {"district_id": None, "street_id": None, "community_id": None}
        if grid_id is not None:
            chain = dict(gridset.chains[str(grid_id)])
        else:
            result.outside += 1
        records.append(
            {
                "incident_id": item.incident_id,
                "occurred_at": item.occurred_at.astimezone(UTC),
                "received_at": now,
                "category": item.category,
                "severity": item.severity if item.severity is not None else int(next(classified)),
                "description": item.description,
                "lon": item.lon,
                "lat": item.lat,
                "minx": item.lon,
                "maxx": item.lon,
                "miny": item.lat,
                "maxy": item.lat,
                "geom": Point(item.lon, item.lat),
                "grid_id": None if grid_id is None else str(grid_id),
                **chain,
                "state": "reported",
                "state_since": now,
                "due_at": due_at,
                "version": 1,
            }
        )
    table = Incident.__table__
    statement = (
        _insert(table, database.dialect)
        .on_conflict_do_nothing(index_elements=["incident_id"])
        .returning(table.c.incident_id)
    )
    with database.session() as session:
        inserted = session.execute(statement, records).scalars().all()
        if inserted:
            session.execute(
                sa.insert(Transition),
                [
                    {
                        "incident_id": incident_id,
                        "at": now,
                        "actor": actor,
                        "from_state": None,
                        "to_state": "reported",
                        "note": "ingested",
                    }
                    for incident_id in inserted
                ],
            )
    result.accepted = len(inserted)
    result.duplicates += len(unique) - len(inserted)
    result.accepted_ids = list(inserted)
    if result.outside and len(inserted) < len(unique):
        stored = set(inserted)
        result.outside = sum(
            1 for r, g in zip(unique, leaf, strict=True) if g is None and r.incident_id in stored
        )
    return result
