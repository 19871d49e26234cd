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
TABLES = (
    "transitions",
    "incidents",
    "plan_versions",
    "checkins",
    "plans",
    "positions",
    "grids",
    "revoked_tokens",
)


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


def stored_plan(app: Any, *, district: str | None = "D1") -> str:
    """Store a finished plan job (a small VROOM-like document) and return its id.

    ``car-1`` (police) visits g11 and g31 with incident summaries; ``vol-1`` (volunteer) walks
    g11 -> g12 in community C1.
    """
    from datetime import UTC, datetime

    from api.db.models import Plan

    def step(
        kind: str, grid: str | None, lon: float, lat: float, at: str, **extra: Any
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "stop_id": grid,
            "grid_id": grid,
            "lon": lon,
            "lat": lat,
            "arrival": at,
            "departure": at,
            "service_s": 600 if kind == "visit" else 0,
            "waiting_s": 0,
            **extra,
        }

    secret = [
        {
            "incident_id": "r1",
            "category": "theft",
            "occurred_at": "2026-11-01T00:30:00+00:00",
            "description": "name and phone",
        }
    ]
    depot = (113.301, 23.101)
    routes = [
        {
            "unit_id": "car-1",
            "kind": "police_car",
            "mode": "drive",
            "steps": [
                step("start", None, *depot, "2026-11-02T18:00:00+08:00"),
                step(
                    "visit",
                    "g11",
                    *CELL_POINT["g11"],
                    "2026-11-02T18:10:00+08:00",
                    incidents=secret,
                ),
                step("visit", "g31", *CELL_POINT["g31"], "2026-11-02T18:30:00+08:00"),
                step("end", None, *depot, "2026-11-02T19:00:00+08:00"),
            ],
            "distance_m": 3000.0,
            "duration_s": 3600,
            "geometry": {
                "type": "LineString",
                "coordinates": [
                    list(depot),
                    list(CELL_POINT["g11"]),
                    list(CELL_POINT["g31"]),
                    list(depot),
                ],
            },
        },
        {
            "unit_id": "vol-1",
            "kind": "volunteer",
            "mode": "walk",
            "steps": [
                step("start", None, *depot, "2026-11-02T18:00:00+08:00"),
                step("visit", "g11", *CELL_POINT["g11"], "2026-11-02T18:10:00+08:00"),
                step("visit", "g12", *CELL_POINT["g12"], "2026-11-02T18:40:00+08:00"),
                step("end", None, *depot, "2026-11-02T19:30:00+08:00"),
            ],
            "distance_m": 2000.0,
            "duration_s": 5400,
            "geometry": {
                "type": "LineString",
                "coordinates": [
                    list(depot),
                    list(CELL_POINT["g11"]),
                    list(CELL_POINT["g12"]),
                    list(depot),
                ],
            },
        },
    ]
    summary = {
        "shift_start": "2026-11-02T18:00:00+08:00",
        "shift_end": "2026-11-03T02:00:00+08:00",
        "timezone": "Asia/Shanghai",
        "units": 2,
        "routes": 2,
        "visits": 4,
        "unassigned": 0,
        "distance_m": 5000.0,
        "duration_s": 9000,
        "risk_total": 10.0,
        "risk_covered": 6.0,
        "risk_covered_pct": 60.0,
    }
    document = {"summary": summary, "routes": routes, "unassigned": []}
    plan_id = f"stored-{district or 'all'}"
    now = datetime.now(UTC)
    with app.state.database.session() as session:
        session.add(
            Plan(
                plan_id=plan_id,
                status="done",
                created_at=now,
                updated_at=now,
                created_by="test",
                district_id=district,
                request={},
                result={"plan": document, "risk": [{"grid_id": "g11", "count": 2, "risk": 3.0}]},
            )
        )
    return plan_id
