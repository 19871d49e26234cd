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

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely import Point
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api.db.engine import Database
from api.db.models import Incident, Transition
from api.validation import Count, FreeText, Identifier, Label, Number, Timestamp, text_problem
from api.workflow import due_at as stage_due
from geo.categories import CategoryTable, default_categories

from .grids import GridCache

_OFFSET = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")

__all__ = ["IncidentIn", "IngestResult", "Rejected", "ingest", "remap_rows", "rows_of"]


class IncidentIn(BaseModel):
    """One incident as the dispatch system sends it (strict types: see :mod:`api.validation`)."""

    model_config = ConfigDict(extra="ignore")

    incident_id: Identifier = Field(description="The dispatch system's id (printable, no '/').")
    occurred_at: Timestamp = Field(description="RFC 3339 time with its UTC offset (1900..2200).")
    category: Label
    lon: Number = Field(ge=-180, le=180, description="Longitude, WGS84 (EPSG:4326).")
    lat: Number = Field(ge=-90, le=90, description="Latitude, WGS84 (EPSG:4326).")
    severity: Count | None = Field(
        default=None, ge=1, le=5, description="1..5; from the category table when absent."
    )
    description: FreeText | None = Field(default=None, description="Sensitive.")
    version: Count | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="A correction of the stored incident at this version (see on_conflict).",
    )


@dataclass(frozen=True)
class Rejected:
    """A row that was not stored, and why."""

    index: int
    incident_id: str | None
    reason: str


@dataclass(frozen=True)
class Conflict:
    """A row whose id is stored (or earlier in the batch) with other content; not applied."""

    index: int
    incident_id: str
    fields: tuple[str, ...]
    reason: str


@dataclass
class IngestResult:
    """What happened to a batch."""

    accepted: int = 0
    duplicates: int = 0
    outside: int = 0
    updated: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    accepted_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)


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
    fid = feature.get("id")
    if fid is not None and "incident_id" not in row:
        # GeoJSON allows string or number ids; anything else is left for validation to refuse
        is_number = isinstance(fid, int | float) and not isinstance(fid, bool)
        row["incident_id"] = str(fid) if is_number else fid
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


#: Every reason a single row can fail validation; none of them may fail its batch.
_ROW_ERRORS = (ValidationError, TypeError, ValueError, OverflowError, ArithmeticError, KeyError)
#: The fields of a row that a correction may change, in answer order.
CONTENT_FIELDS = ("occurred_at", "category", "severity", "description", "lon", "lat")
ON_CONFLICT = ("report", "update")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "row"
        return f"{where}: {err.get('msg', 'invalid')}"
    return str(exc) or type(exc).__name__


def _reported_id(raw_id: Any) -> str | None:
    """The id to echo in an answer: only clean text (never a control character or surrogate)."""
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or len(raw_id) > 128 or text_problem(raw_id):
        return None
    return raw_id


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
            if not isinstance(row, dict):
                msg = "row: must be a JSON object"
                raise TypeError(msg)
            good.append((index, IncidentIn.model_validate(row)))
        except _ROW_ERRORS as exc:
            rejected.append(Rejected(index, _reported_id(raw_id), _reason(exc)))
    return good, rejected


@lru_cache(maxsize=1)
def _categories() -> CategoryTable:
    """The shipped category table, read once per process."""
    return default_categories()


def _insert(table: sa.Table, dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:  # SQLite hands back naive UTC
        return value.replace(tzinfo=UTC)
    return value


def _changed(record: dict[str, Any], other: Any) -> tuple[str, ...]:
    """Content fields where ``record`` differs from ``other`` (a row mapping or a model)."""

    def get(name: str) -> Any:
        return _utc(other[name] if isinstance(other, dict) else getattr(other, name))

    return tuple(name for name in CONTENT_FIELDS if _utc(record[name]) != get(name))


@dataclass
class _Row:
    index: int
    item: IncidentIn
    record: dict[str, Any]


def ingest(
    database: Database,
    grids: GridCache,
    rows: list[Any],
    *,
    actor: str,
    limits_s: Mapping[str, int],
    atomic: bool = False,
    on_conflict: str = "report",
    now: datetime | None = None,
    on_stored: Callable[[Session, list[str]], None] | None = None,
) -> IngestResult:
    """Validate, join and store a batch; see the module docstring.

    A row whose id is already stored with the same content is a duplicate. With other content
    it is a correction: applied (with its own audit entry) when ``on_conflict="update"`` or the
    row carries the stored ``version``, otherwise reported in ``conflicts`` and not applied.

    Parameters
    ----------
    atomic
        Store nothing when any row is rejected (the default stores the good rows).
    on_conflict
        ``"report"`` (default) or ``"update"``.
    on_stored
        Called with the session and the ids stored, in the same transaction (an Open311
        report stores its resident's details with it).
    """
    now = now or datetime.now(UTC)
    good, rejected = _validate(rows)
    result = IngestResult(rejected=rejected)
    if (atomic and rejected) or not good:
        return result
    gridset = grids.get()
    lon = np.array([r.lon for _, r in good], dtype=float)
    lat = np.array([r.lat for _, r in good], dtype=float)
    leaf: list[str | None] = [None] * len(good)
    if gridset.index is not None:
        found = gridset.index.assign(lon, lat)  # geo.join.assign_grids on a prepared index
        names = found.categories.to_numpy(dtype=object)
        leaf = [None if code < 0 else names[code] for code in found.codes.tolist()]
    missing_severity = [r.category for _, r in good if r.severity is None]
    classified = iter(
        _categories().classify(missing_severity).severity.tolist() if missing_severity else []
    )
    first: dict[str, _Row] = {}
    for (index, item), grid_id in zip(good, leaf, strict=True):
        chain: dict[str, Any] = {"district_id": None, "street_id": None, "community_id": None}
        if grid_id is not None:
            chain = dict(gridset.chains[str(grid_id)])
        record = {
            "incident_id": item.incident_id,
            "occurred_at": item.occurred_at,
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
            "due_at": stage_due("reported", now, limits_s, category=item.category),
            "version": 1,
        }
        earlier = first.get(item.incident_id)
        if earlier is None:
            first[item.incident_id] = _Row(index, item, record)
            continue
        fields = _changed(record, earlier.record)
        if fields:
            reason = f"differs from row {earlier.index} of this batch in {', '.join(fields)}"
            result.conflicts.append(Conflict(index, item.incident_id, fields, reason))
        else:
            result.duplicates += 1
    # One global order of unique-key writes: concurrent overlapping batches then wait on each
    # other instead of deadlocking (PostgreSQL locks each key as it inserts it).
    unique = sorted(first.values(), key=lambda r: r.item.incident_id)
    try:
        with database.session() as session:
            outcome = _store(session, database.dialect, unique, actor, now, on_conflict, on_stored)
        _merge(result, outcome)
    except sa.exc.OperationalError:
        raise  # the database is unavailable: nothing was stored, the batch may be retried
    except (sa.exc.StatementError, ValueError):
        # Some row passed validation but the database refused it: store the batch row by row
        # so that only that row is rejected (each row in its own transaction, with its audit).
        for row in unique:
            try:
                with database.session() as session:
                    outcome = _store(
                        session, database.dialect, [row], actor, now, on_conflict, on_stored
                    )
                _merge(result, outcome)
            except sa.exc.OperationalError:
                raise
            except (sa.exc.StatementError, ValueError) as exc:
                reason = f"the database refused this row ({type(exc).__name__})"
                result.rejected.append(Rejected(row.index, row.item.incident_id, reason))
        result.rejected.sort(key=lambda r: r.index)
    stored = set(result.accepted_ids)
    result.outside = sum(
        1 for r in unique if r.record["grid_id"] is None and r.item.incident_id in stored
    )
    return result


def _store(
    session: sa.orm.Session,
    dialect: str,
    rows: list[_Row],
    actor: str,
    now: datetime,
    on_conflict: str,
    on_stored: Callable[[Session, list[str]], None] | None = None,
) -> IngestResult:
    """Insert new rows, sort the others into duplicates, corrections and conflicts.

    Returns what happened, to be merged into the batch's answer once the transaction commits.
    """
    table = Incident.__table__
    statement = (
        _insert(table, dialect)
        .on_conflict_do_nothing(index_elements=["incident_id"])
        .returning(table.c.incident_id)
    )
    inserted = list(session.execute(statement, [r.record for r in rows]).scalars().all())
    if inserted:
        # The first audit entries go in before the hook, which may annotate them.
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
                    "details": None,
                }
                for incident_id in inserted
            ],
        )
        if on_stored is not None:
            on_stored(session, inserted)
    audit: list[dict[str, Any]] = []
    fresh = set(inserted)
    others = [r for r in rows if r.item.incident_id not in fresh]
    stored: dict[str, Incident] = {}
    if others:
        ids = [r.item.incident_id for r in others]
        stored = {
            incident.incident_id: incident
            for incident in session.scalars(
                sa.select(Incident)
                .where(Incident.incident_id.in_(ids))
                .order_by(Incident.incident_id)
            )
        }
    duplicates = 0
    updated: list[str] = []
    conflicts: list[Conflict] = []
    for row in others:
        current = stored.get(row.item.incident_id)
        if current is None:  # deleted meanwhile: cannot happen without a delete route
            continue
        fields = _changed(row.record, current)
        if not fields:
            duplicates += 1
            continue
        wanted = row.item.version
        if on_conflict != "update" and wanted is None:
            reason = (
                f"stored with other {', '.join(fields)} (version {current.version}); resend "
                'with ?on_conflict=update or "version" to correct it'
            )
            conflicts.append(Conflict(row.index, row.item.incident_id, fields, reason))
            continue
        expected = current.version if wanted is None else wanted
        values = {
            name: row.record[name]
            for name in (
                *CONTENT_FIELDS,
                "minx",
                "maxx",
                "miny",
                "maxy",
                "geom",
                "grid_id",
                "community_id",
                "street_id",
                "district_id",
            )
        }
        changed = session.execute(
            sa.update(Incident)
            .where(Incident.incident_id == row.item.incident_id, Incident.version == expected)
            .values(**values, version=expected + 1)
        )
        if changed.rowcount != 1:
            reason = (
                f"version {wanted} is stale: the stored incident is at version {current.version}"
                if wanted is not None
                else "changed by another request meanwhile; resend to correct it"
            )
            conflicts.append(Conflict(row.index, row.item.incident_id, fields, reason))
            continue
        updated.append(row.item.incident_id)
        audit.append(
            {
                "incident_id": row.item.incident_id,
                "at": now,
                "actor": actor,
                "from_state": current.state,
                "to_state": current.state,
                "note": "corrected",
                "details": {"corrected": list(fields), "version": expected + 1},
            }
        )
    if audit:
        session.execute(sa.insert(Transition), audit)
    return IngestResult(
        accepted=len(inserted),
        duplicates=duplicates,
        updated=len(updated),
        conflicts=conflicts,
        accepted_ids=inserted,
        updated_ids=updated,
    )


def _merge(result: IngestResult, outcome: IngestResult) -> None:
    result.accepted += outcome.accepted
    result.accepted_ids.extend(outcome.accepted_ids)
    result.duplicates += outcome.duplicates
    result.updated += outcome.updated
    result.updated_ids.extend(outcome.updated_ids)
    result.conflicts.extend(outcome.conflicts)
    result.conflicts.sort(key=lambda c: c.index)
