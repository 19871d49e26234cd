"""The API fuzzed from its own OpenAPI document with every Schemathesis check, on both databases.

Schemathesis' pytest plugin does not run under this pytest, so each operation of the schema is
a parametrized test that draws cases (positive and negative) from the operation's Hypothesis
strategy and validates each answer with ``case.call_and_validate`` and every registered check:
no 5xx, declared status codes, content types, headers and bodies, negative data rejected,
positive data accepted (or refused for a business rule the document cannot express: an unknown
id is 404, an illegal transition 409, a stale If-Match 412, a units document naming an
unknown unit kind 422, an OGC parameter combination such as ``minx > maxx`` 400).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from api.app import create_app
from api.db.engine import Database
from api.services.grids import store_grids
from api.services.ingest import ingest
from tests.api.conftest import (
    PG_URL,
    TABLES,
    incident,
    settings_for,
    small_grids,
    stored_plan,
    token_headers,
)

#: Every check Schemathesis registers.
CHECKS = list(checks.CHECKS.get_all())
#: Refusals of schema-valid data for rules the OpenAPI document cannot express.
BUSINESS_STATUSES = ["2xx", "400", "401", "403", "404", "409", "412", "422"]


def _schema(url: str, schema: str | None) -> Any:
    app = create_app(settings_for(url), schema=schema)
    database = app.state.database
    database.migrate()
    with database.session() as session:
        session.execute(sa.text(f"DELETE FROM {TABLES[0]}"))
        for table in TABLES[1:]:
            session.execute(sa.text(f"DELETE FROM {table}"))
        store_grids(session, small_grids())
    rows = [incident(f"i{i}", cell) for i, cell in enumerate(["g11", "g12", "g21", "g31"])]
    ingest(database, app.state.grid_cache, rows, actor="test", limits_s={"reported": 60})
    stored_plan(app)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    loaded.config.checks.positive_data_acceptance.expected_statuses = BUSINESS_STATUSES
    return loaded


def _labels() -> list[str]:
    app = create_app(settings_for("sqlite://"))
    schema = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok().label for result in schema.get_all_operations()]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]
)
def api_schema(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """The app's schema on each database, holding the small grids, incidents and a plan."""
    if request.param == "sqlite":
        yield _schema(f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'api.db'}", None)
        return
    schema = request.getfixturevalue("postgis_schema")
    yield _schema(PG_URL, schema)
    Database(PG_URL, schema=schema).dispose()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", _labels())
def test_operation_conforms_to_openapi(api_schema: Any, label: str, mode: GenerationMode) -> None:
    """Generated requests (admin token) never get a 5xx and pass every Schemathesis check."""
    operation = api_schema.find_operation_by_label(label)
    strategy = operation.as_strategy(generation_mode=mode)

    @given(data=st.data())
    @settings(
        max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy)
        case.call_and_validate(headers=token_headers("admin"), checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE
        pytest.skip(f"{label} has no input that could be made invalid")
