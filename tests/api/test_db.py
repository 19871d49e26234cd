"""Storage: migrations, geometry round trips and the unique key, on SQLite and PostGIS."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import shapely
import sqlalchemy as sa
from alembic import command

from api.db.engine import Database, alembic_config
from api.db.models import Grid, Incident
from api.services.grids import grids_frame, store_grids
from api.services.ingest import ingest
from tests.api.conftest import incident, small_grids


def _database(backend: tuple[str, str | None]) -> Database:
    url, schema = backend
    database = Database(url, schema=schema)
    database.migrate()
    return database


def test_migrations_upgrade_downgrade_upgrade(backend: tuple[str, str | None]) -> None:
    """head -> base -> head works and leaves the tables in place; a second upgrade is a no-op."""
    database = _database(backend)
    config = alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert "incidents" not in sa.inspect(database.engine).get_table_names()
    database.migrate()
    database.migrate()
    names = set(sa.inspect(database.engine).get_table_names())
    assert {"grids", "incidents", "transitions", "plans", "alembic_version"} <= names
    database.dispose()


def test_grids_round_trip(backend: tuple[str, str | None]) -> None:
    """Stored grids read back equal (ids, levels, parents, geometry) with ancestors filled."""
    database = _database(backend)
    grids = small_grids()
    with database.session() as session:
        assert store_grids(session, grids) == len(grids)
        assert store_grids(session, grids) == len(grids)  # replace by id, no duplicates
    with database.sessions() as session:
        back = grids_frame(session).set_index("grid_id")
        g21 = session.get(Grid, "g21")
    assert len(back) == len(grids)
    for row in grids.itertuples():
        assert back.loc[row.grid_id, "level"] == row.level
        assert shapely.equals(back.loc[row.grid_id, "geometry"], row.geometry)
    assert (g21.district_id, g21.street_id, g21.community_id) == ("D1", "S1", "C2")
    database.dispose()


def test_concurrent_inserts_store_each_id_once(backend: tuple[str, str | None]) -> None:
    """Eight threads inserting overlapping batches store every id exactly once."""
    from api.services.grids import GridCache

    database = _database(backend)
    with database.session() as session:
        store_grids(session, small_grids())
    cache = GridCache(database)
    batches = [[incident(f"c{(k * 7 + i) % 60}") for i in range(30)] for k in range(8)]

    def run(rows: list[dict[str, object]]) -> int:
        return ingest(database, cache, rows, actor="t", limits_s={"reported": 60}).accepted

    with ThreadPoolExecutor(8) as pool:
        accepted = sum(pool.map(run, batches))
    with database.sessions() as session:
        stored = session.scalars(sa.select(Incident.incident_id)).all()
    assert len(stored) == len(set(stored))
    assert accepted == len(stored) == len({r["incident_id"] for b in batches for r in b})
    database.dispose()


def test_incident_times_are_utc(backend: tuple[str, str | None]) -> None:
    """occurred_at is stored in UTC whatever offset it arrived with."""
    from api.services.grids import GridCache

    database = _database(backend)
    ingest(database, GridCache(database), [incident("tz1")], actor="t", limits_s={})
    with database.sessions() as session:
        value = session.scalar(sa.select(Incident.occurred_at))
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    assert value == datetime(2026, 11, 1, 0, 30, tzinfo=UTC)
    database.dispose()
