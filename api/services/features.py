"""OGC API - Features queries: collections of grids and incidents, filtered in the database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from api.auth import Principal
from api.db.models import Grid, Incident
from api.db.spatial import bbox_clause
from api.problems import ProblemError
from api.validation import parse_time

from .incidents import incident_dict
from .scope import grid_scope, incident_scope, sees_incidents

__all__ = [
    "COLLECTIONS",
    "Collection",
    "extent",
    "feature",
    "items",
    "only_parameters",
    "parse_bbox",
    "parse_datetime",
]


@dataclass(frozen=True)
class Collection:
    """One feature collection: its table, id column, time column and title."""

    id: str
    title: str
    description: str
    model: type[Any]
    id_column: str
    time_column: str | None


COLLECTIONS: dict[str, Collection] = {
    "grids": Collection(
        "grids",
        "Grids",
        "Every level of the grid hierarchy (district, street, community, grid).",
        Grid,
        "grid_id",
        None,
    ),
    "incidents": Collection(
        "incidents",
        "Incidents",
        "Incidents from the dispatch system with their workflow state (not for volunteers).",
        Incident,
        "incident_id",
        "occurred_at",
    ),
}


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` in EPSG:4326, or a 400 problem naming ``bbox``."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) == 6:  # minx,miny,minz,maxx,maxy,maxz: heights are ignored
        values = (values[0], values[1], values[3], values[4])
    if len(values) != 4 or not all(abs(v) < 1e9 for v in values):
        msg = "bbox: expected four numbers minx,miny,maxx,maxy (or six with heights)"
        raise ProblemError(400, msg, field="bbox")
    minx, miny, maxx, maxy = values
    if minx > maxx or miny > maxy or not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        msg = "bbox: need minx <= maxx and -90 <= miny <= maxy <= 90 (lon/lat, EPSG:4326)"
        raise ProblemError(400, msg, field="bbox")
    return minx, miny, maxx, maxy


def _instant(text: str) -> datetime | None:
    if text in ("", ".."):
        return None
    try:
        return parse_time(text, what="datetime")
    except ValueError as exc:
        try:  # a time without an offset is read as UTC
            return parse_time(f"{text}Z", what="datetime")
        except ValueError:
            raise ProblemError(400, f"{exc} (RFC 3339)", field="datetime") from None


def parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None] | None:
    """An instant or an interval ``start/end`` (either end may be ``..`` or empty)."""
    if text is None:
        return None
    if "/" in text:
        start_text, _, end_text = text.partition("/")
        start, end = _instant(start_text), _instant(end_text)
        if start is not None and end is not None and start > end:
            raise ProblemError(
                400, "datetime: the interval ends before it starts", field="datetime"
            )
        return start, end
    instant = _instant(text)
    if instant is None:
        raise ProblemError(400, "datetime: give an instant or an interval", field="datetime")
    return instant, instant


def extent(session: Session, collection: Collection, principal: Principal) -> dict[str, Any]:
    """The collection's real extent in the caller's scope: bbox (CRS84) and time interval.

    An empty collection (or scope) has an empty extent ``{}``.
    """
    if not _may_read(collection, principal):
        return {}
    model = collection.model
    scope = grid_scope(principal) if model is Grid else incident_scope(principal)
    columns = [
        sa.func.min(model.minx),
        sa.func.min(model.miny),
        sa.func.max(model.maxx),
        sa.func.max(model.maxy),
    ]
    if collection.time_column is not None:
        column = getattr(model, collection.time_column)
        columns += [sa.func.min(column), sa.func.max(column)]
    row = session.execute(sa.select(*columns).where(scope)).one()
    if row[0] is None:
        return {}
    out: dict[str, Any] = {
        "spatial": {
            "bbox": [[float(row[0]), float(row[1]), float(row[2]), float(row[3])]],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        }
    }
    if collection.time_column is not None:
        start, end = (_as_utc(v) for v in row[4:6])
        out["temporal"] = {
            "interval": [[start, end]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    return out


def _as_utc(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregates may hand back text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _geojson(geometries: list[Any]) -> list[dict[str, Any]]:
    """GeoJSON geometry objects of many geometries (vectorised in shapely's C code)."""
    if not geometries:
        return []
    texts = shapely.to_geojson(np.asarray(geometries, dtype=object))
    return [json.loads(text) for text in texts]


def _grid_feature(grid: Grid, geometry: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": grid.grid_id,
        "geometry": geometry if geometry is not None else _geojson([grid.geom])[0],
        "properties": {
            "grid_id": grid.grid_id,
            "level": grid.level,
            "parent_id": grid.parent_id,
            "name": grid.name,
            "district_id": grid.district_id,
            "community_id": grid.community_id,
            "households": grid.households,
            "population": grid.population,
            "station_id": grid.station_id,
        },
    }


def _incident_feature(incident: Incident) -> dict[str, Any]:
    props = incident_dict(incident)
    return {
        "type": "Feature",
        "id": incident.incident_id,
        "geometry": {"type": "Point", "coordinates": [incident.lon, incident.lat]},
        "properties": props,
    }


def _may_read(collection: Collection, principal: Principal) -> bool:
    return collection.id != "incidents" or sees_incidents(principal)


def _check_access(collection: Collection, principal: Principal) -> None:
    if not _may_read(collection, principal):
        raise ProblemError(403, "volunteers never see incident details")


def only_parameters(request_params: Any, allowed: tuple[str, ...]) -> None:
    """A 400 problem for a query parameter the operation does not define (OGC API - Features
    /req/core/query-param-unknown)."""
    unknown = sorted(set(request_params) - set(allowed))
    if unknown:
        expected = ", ".join(allowed) or "none"
        msg = f"{unknown[0]}: unknown query parameter; this operation takes: {expected}"
        raise ProblemError(400, msg, field=unknown[0])


def collection_or_404(collection_id: str) -> Collection:
    """The collection, or a 404 problem naming ``collectionId``."""
    collection = COLLECTIONS.get(collection_id)
    if collection is None:
        msg = f"collection {collection_id!r} not found; see /collections"
        raise ProblemError(404, msg, field="path.collectionId")
    return collection


def items(
    session: Session,
    collection: Collection,
    principal: Principal,
    *,
    bbox: tuple[float, float, float, float] | None,
    interval: tuple[datetime | None, datetime | None] | None,
    limit: int,
    offset: int,
    level: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of features and the number matched, all filters applied in SQL."""
    _check_access(collection, principal)
    model = collection.model
    table = model.__table__
    dialect = session.get_bind().dialect.name
    clauses = [grid_scope(principal) if model is Grid else incident_scope(principal)]
    if bbox is not None:
        if model is Incident and dialect == "sqlite":
            minx, miny, maxx, maxy = bbox
            rtree = sa.text(
                "SELECT id FROM incidents_rtree WHERE maxx >= :minx AND minx <= :maxx "
                "AND maxy >= :miny AND miny <= :maxy"
            ).bindparams(minx=minx, maxx=maxx, miny=miny, maxy=maxy)
            clauses.append(Incident.id.in_(rtree))
        else:
            clauses.append(bbox_clause(table, bbox, dialect))
    if interval is not None and collection.time_column is not None:
        column = getattr(model, collection.time_column)
        start, end = interval
        if start is not None:
            clauses.append(column >= start)
        if end is not None:
            clauses.append(column <= end)
    if level is not None and model is Grid:
        clauses.append(Grid.level == level)
    matched = session.scalar(sa.select(sa.func.count()).select_from(model).where(*clauses)) or 0
    rows = session.scalars(
        sa.select(model)
        .where(*clauses)
        .order_by(getattr(model, collection.id_column))
        .limit(limit)
        .offset(offset)
    ).all()
    if model is Grid:
        shapes = _geojson([row.geom for row in rows])
        return [_grid_feature(row, shape) for row, shape in zip(rows, shapes, strict=True)], int(
            matched
        )
    return [_incident_feature(row) for row in rows], int(matched)


def feature(
    session: Session, collection: Collection, principal: Principal, feature_id: str
) -> dict[str, Any]:
    """One feature in the caller's scope, or a 404 problem."""
    _check_access(collection, principal)
    model = collection.model
    scope = grid_scope(principal) if model is Grid else incident_scope(principal)
    row = session.scalars(
        sa.select(model).where(getattr(model, collection.id_column) == feature_id, scope)
    ).first()
    if row is None:
        msg = f"feature {feature_id!r} not found in collection {collection.id!r}"
        raise ProblemError(404, msg, field="path.featureId")
    return _grid_feature(row) if model is Grid else _incident_feature(row)
