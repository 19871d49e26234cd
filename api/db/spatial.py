"""Geometry storage that works on both databases, and the bounding-box filter.

PostgreSQL stores a PostGIS ``geometry(…, 4326)`` column with a GiST index and filters with
``&&``/``ST_Intersects`` in the database. SQLite (no SpatiaLite needed) stores the same WKB
bytes in a BLOB and filters on indexed ``minx/miny/maxx/maxy`` columns, also in the database.
Python code only ever sees shapely geometries.
"""

from __future__ import annotations

from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["SRID", "SpatialGeometry", "bbox_clause", "bounds_of"]

SRID = 4326


class _FromWKB(FunctionElement[Any]):
    """``ST_GeomFromWKB(value, 4326)`` on PostgreSQL; the raw bytes elsewhere."""

    inherit_cache = True
    name = "pg_geom_from_wkb"


class _WKBResult(sa.types.TypeDecorator[BaseGeometry]):
    """Result type of :class:`_AsWKB`: WKB bytes read back as a shapely geometry."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> BaseGeometry | None:
        if value is None:
            return None
        if isinstance(value, str):  # hex WKB from some drivers
            return shapely.from_wkb(bytes.fromhex(value))
        return shapely.from_wkb(bytes(value))


class _AsWKB(FunctionElement[Any]):
    """``ST_AsBinary(column)`` on PostgreSQL; the raw column elsewhere."""

    inherit_cache = True
    name = "pg_as_wkb"
    type = _WKBResult()


@compiles(_FromWKB)
def _from_wkb_default(element: _FromWKB, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_FromWKB, "postgresql")
def _from_wkb_pg(element: _FromWKB, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ST_GeomFromWKB({compiler.process(element.clauses, **kw)}, {SRID})"


@compiles(_AsWKB)
def _as_wkb_default(element: _AsWKB, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_AsWKB, "postgresql")
def _as_wkb_pg(element: _AsWKB, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ST_AsBinary({compiler.process(element.clauses, **kw)})"


class SpatialGeometry(sa.types.TypeDecorator[BaseGeometry]):
    """A geometry column: PostGIS ``geometry`` on PostgreSQL, WKB ``BLOB`` on SQLite.

    Parameters
    ----------
    geometry_type
        PostGIS geometry type name, e.g. ``"POINT"`` or ``"GEOMETRY"``.
    """

    impl = sa.LargeBinary
    cache_ok = True
    # Read by GeoAlchemy2's DDL hooks: the migrations create the GiST indexes themselves.
    spatial_index = False
    use_N_D_index = False  # noqa: N815 (GeoAlchemy2 attribute name)

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        super().__init__()
        self.geometry_type = geometry_type

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect is not None and dialect.name != "postgresql":
            return dialect.type_descriptor(sa.LargeBinary())
        from geo._optional import require

        require("geoalchemy2")  # the [postgres] extra (PostGIS only): a missing one names it
        from geoalchemy2 import Geometry

        geometry = Geometry(self.geometry_type, srid=SRID, spatial_index=False)
        if dialect is None:  # GeoAlchemy2's DDL hooks ask without a dialect
            return geometry
        return dialect.type_descriptor(geometry)

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return _FromWKB(bindvalue)

    def column_expression(self, colexpr: Any) -> ColumnElement[Any]:
        return _AsWKB(colexpr)

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> bytes | None:
        if value is None:
            return None
        if isinstance(value, BaseGeometry):
            return bytes(shapely.to_wkb(value))
        return bytes(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> BaseGeometry | None:
        # Reached only when the column is read without its column expression.
        return _WKBResult().process_result_value(value, dialect)


def bounds_of(geometry: BaseGeometry) -> dict[str, float]:
    """The ``minx/miny/maxx/maxy`` columns stored next to a geometry."""
    minx, miny, maxx, maxy = geometry.bounds
    return {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def bbox_clause(
    table: sa.Table, bbox: tuple[float, float, float, float], dialect_name: str
) -> ColumnElement[bool]:
    """A WHERE clause keeping rows whose geometry meets ``bbox`` (minx, miny, maxx, maxy).

    On PostgreSQL this is ``geom && envelope AND ST_Intersects(geom, envelope)`` (GiST index);
    elsewhere the indexed bounds columns are compared (the box test, exact for points).
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    if dialect_name == "postgresql":
        envelope = sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)
        geom = table.c.geom
        return sa.and_(geom.op("&&")(envelope), sa.func.ST_Intersects(geom, envelope))
    return sa.and_(
        table.c.minx <= maxx,
        table.c.maxx >= minx,
        table.c.miny <= maxy,
        table.c.maxy >= miny,
    )
