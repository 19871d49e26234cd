"""Fixtures of the API tests: an app on SQLite (always) and on PostGIS (marker ``postgis``).

PostGIS runs are isolated in a fresh schema of the ``test`` database per test session
(``pgtest_<random>``, first on the search path, dropped at the end); tables are emptied between
tests. SQLite runs use a new file per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from shapely.geometry import box

from api.app import create_app
from api.auth import create_token
from api.db.engine import Database
from api.services.grids import store_grids
from api.settings import Settings
from tests.conftest import require

PG_URL = os.environ.get(
    "PATROLGRID_TEST_POSTGIS_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET = "test-secret-0123456789abcdef"
TABLES = ("transitions", "incidents", "plans", "grids")


def postgis_available(url: str = PG_URL) -> bool:
    """True when the server answers and has PostGIS."""
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT postgis_version()"))
        engine.dispose()
    except Exception:  # any failure means "not available"
        return False
    return True


@pytest.fixture(scope="session")
def postgis_schema() -> Iterator[str]:
    """A fresh schema for this test session (dropped afterwards)."""
    require(postgis_available(), f"PostgreSQL + PostGIS at {PG_URL}")
    schema = f"pgtest_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def backend(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[tuple[str, str | None]]:
    """``(database_url, schema)`` of an empty, migrated database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'patrolgrid.db'}", None
        return
    schema = request.getfixturevalue("postgis_schema")
    database = Database(PG_URL, schema=schema)
    database.migrate()
    with database.session() as session:
        session.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    database.dispose()
    yield PG_URL, schema


def settings_for(url: str, **overrides: Any) -> Settings:
    """Test settings: a real secret, not dev mode."""
    values: dict[str, Any] = {"database_url": url, "secret": SECRET, "dev": False}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def app(backend: tuple[str, str | None]) -> Any:
    """The application on one backend."""
    url, schema = backend
    return create_app(settings_for(url), schema=schema)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A test client (runs the lifespan: migrations)."""
    with TestClient(app) as test_client:
        yield test_client


def small_grids() -> gpd.GeoDataFrame:
    """Two districts; D1 has communities C1 (cells g11, g12) and C2 (g21); D2 has C3 (g31).

    Cells are 0.01 degree squares near Guangzhou (113.30 E, 23.10 N).
    """
    x0, y0, d = 113.30, 23.10, 0.01
    rows = [
        ("D1", "district", None, box(x0, y0, x0 + 3 * d, y0 + d)),
        ("S1", "street", "D1", box(x0, y0, x0 + 3 * d, y0 + d)),
        ("C1", "community", "S1", box(x0, y0, x0 + 2 * d, y0 + d)),
        ("C2", "community", "S1", box(x0 + 2 * d, y0, x0 + 3 * d, y0 + d)),
        ("g11", "grid", "C1", box(x0, y0, x0 + d, y0 + d)),
        ("g12", "grid", "C1", box(x0 + d, y0, x0 + 2 * d, y0 + d)),
        ("g21", "grid", "C2", box(x0 + 2 * d, y0, x0 + 3 * d, y0 + d)),
        ("D2", "district", None, box(x0, y0 + d, x0 + d, y0 + 2 * d)),
        ("S2", "street", "D2", box(x0, y0 + d, x0 + d, y0 + 2 * d)),
        ("C3", "community", "S2", box(x0, y0 + d, x0 + d, y0 + 2 * d)),
        ("g31", "grid", "C3", box(x0, y0 + d, x0 + d, y0 + 2 * d)),
    ]
    return gpd.GeoDataFrame(
        {
            "grid_id": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "parent_id": [r[2] for r in rows],
            "name": [f"name {r[0]}" for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs="EPSG:4326",
    )


#: A point inside each leaf cell of :func:`small_grids`.
CELL_POINT = {
    "g11": (113.305, 23.105),
    "g12": (113.315, 23.105),
    "g21": (113.325, 23.105),
    "g31": (113.305, 23.115),
}


@pytest.fixture
def grids_stored(app: Any, client: TestClient) -> gpd.GeoDataFrame:
    """The small grids stored in the app's database."""
    grids = small_grids()
    with app.state.database.session() as session:
        store_grids(session, grids)
    app.state.grid_cache.invalidate()
    return grids


def token_headers(role: str, **scope: str) -> dict[str, str]:
    """Authorization header for a role (volunteer in C1, supervisor of D1 unless given)."""
    if role == "volunteer":
        scope.setdefault("community", "C1")
    if role == "supervisor":
        scope.setdefault("district", "D1")
    token = create_token(SECRET, role, subject=f"test-{role}", **scope)
    return {"Authorization": f"Bearer {token}"}


def incident(incident_id: str, cell: str = "g11", **extra: Any) -> dict[str, Any]:
    """One incident row inside ``cell``."""
    lon, lat = CELL_POINT[cell]
    row = {
        "incident_id": incident_id,
        "occurred_at": "2026-11-01T08:30:00+08:00",
        "category": "theft",
        "lon": lon,
        "lat": lat,
    }
    row.update(extra)
    return row
