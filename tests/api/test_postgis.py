"""PostGIS specifics: geometry columns and GiST indexes exist and serve the bbox filter."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from api.db.engine import Database
from api.db.models import Incident
from api.db.spatial import bbox_clause
from tests.api.conftest import PG_URL

pytestmark = pytest.mark.postgis


@pytest.fixture
def database(postgis_schema: str) -> Database:
    """A migrated database in this session's schema."""
    db = Database(PG_URL, schema=postgis_schema)
    db.migrate()
    return db


def test_geometry_columns_and_gist_indexes(database: Database, postgis_schema: str) -> None:
    """grids.geom and incidents.geom are PostGIS geometries (SRID 4326) with GiST indexes."""
    with database.engine.connect() as connection:
        columns = connection.execute(
            sa.text(
                "SELECT f_table_name, type, srid FROM geometry_columns WHERE f_table_schema = :s "
                "ORDER BY f_table_name"
            ),
            {"s": postgis_schema},
        ).all()
        indexes = connection.execute(
            sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"),
            {"s": postgis_schema},
        ).all()
    assert [(c[0], c[2]) for c in columns] == [("grids", 4326), ("incidents", 4326)]
    gist = {name for name, definition in indexes if "USING gist" in definition}
    assert gist == {"ix_grids_geom", "ix_incidents_geom"}
    database.dispose()


def test_bbox_filter_runs_in_the_database_on_the_index(database: Database) -> None:
    """The bbox WHERE clause is PostGIS SQL (&& and ST_Intersects) the planner answers by GiST."""
    clause = bbox_clause(Incident.__table__, (113.3, 23.1, 113.4, 23.2), "postgresql")
    statement = sa.select(Incident.incident_id).where(clause)
    sql = str(statement.compile(database.engine))
    assert "&&" in sql
    assert "ST_Intersects" in sql
    with database.engine.connect() as connection:
        connection.execute(sa.text("SET enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in connection.execute(
                sa.text(
                    "EXPLAIN "
                    + str(
                        statement.compile(database.engine, compile_kwargs={"literal_binds": True})
                    )
                )
            )
        )
    assert "ix_incidents_geom" in plan
    database.dispose()
