"""The API fuzzed from its own OpenAPI document: no 5xx, answers conform to the document.

Schemathesis' pytest plugin does not run under this pytest, so each operation of the schema is
a parametrized test that draws cases from the operation's Hypothesis strategy and validates each
answer with ``case.call_and_validate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from api.app import create_app
from api.services.grids import store_grids
from api.services.ingest import ingest
from tests.api.conftest import incident, settings_for, small_grids, token_headers

#: What the issue asks: no 5xx, declared status codes, content types, headers and bodies.
#: (``positive_data_acceptance`` is left out: a schema-valid incident id may still be unknown.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _schema(path: Path) -> Any:
    app = create_app(settings_for(f"sqlite:///{path}"))
    database = app.state.database
    database.migrate()
    with database.session() as session:
        store_grids(session, small_grids())
    rows = [incident(f"i{i}", cell) for i, cell in enumerate(["g11", "g12", "g21", "g31"])]
    ingest(database, app.state.grid_cache, rows, actor="test", limits_s={"reported": 60})
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _labels() -> list[str]:
    from api.app import create_app as make

    app = make(settings_for("sqlite://"))
    schema = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok().label for result in schema.get_all_operations()]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The app's schema, on a SQLite database holding the small grids and a few incidents."""
    return _schema(tmp_path_factory.mktemp("schemathesis") / "api.db")


@pytest.mark.slow
@pytest.mark.parametrize("label", _labels())
def test_operation_conforms_to_openapi(api_schema: Any, label: str) -> None:
    """Generated valid requests (admin token) never get a 5xx and every answer matches the document."""
    operation = api_schema.find_operation_by_label(label)
    strategy = operation.as_strategy()

    @given(data=st.data())
    @settings(
        max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy)
        case.call_and_validate(headers=token_headers("admin"), checks=CHECKS)

    run()
