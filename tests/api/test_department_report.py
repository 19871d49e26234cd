"""A department's open work as a report: ``GET /departments/{code}/report`` and
``patrolgrid departments report``; escalated first, then overdue, then by due time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.services.grids import store_grids
from api.services.sla import sweep
from maps.work_report import order_work, render_work_report
from tests.api.conftest import incident, settings_for, small_grids, token_headers

DISPATCHER = token_headers("dispatcher")
HEALTH = token_headers("department", department="health")


@pytest.fixture
def loop(backend: tuple[str, str | None]) -> Iterator[tuple[Any, TestClient]]:
    """Incidents h1 (escalated) and h2 dispatched to health, j1 to justice, o1 only accepted."""
    url, schema = backend
    app = create_app(settings_for(url, sla_interval_s=0), schema=schema)
    with TestClient(app) as client:
        with app.state.database.session() as session:
            store_grids(session, small_grids())
        app.state.grid_cache.invalidate()
        rows = [incident(i, "g11") for i in ("h1", "h2", "j1", "o1")]
        client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER)

        def move(incident_id: str, *bodies: dict[str, Any]) -> None:
            for body in bodies:
                answer = client.post(
                    f"/incidents/{incident_id}/transitions", json=body, headers=DISPATCHER
                )
                assert answer.status_code == 200, answer.text

        first = ({"to": "verified"}, {"to": "accepted"})
        move("h1", *first, {"to": "dispatched", "department": "health"})
        # h1 overdue 3 h after dispatch (health: 2 h): the sweep escalates it
        when = datetime.now(UTC) + timedelta(hours=3)
        assert "h1" in sweep(app.state.database, app.state.settings, now=when).escalated
        move("h2", *first, {"to": "dispatched", "department": "health"})
        move("j1", *first, {"to": "dispatched", "department": "justice"})
        move("o1", *first)
        yield app, client


def _ids(html: str) -> list[str]:
    return re.findall(r"<tr class=\"[a-z-]+\"><td>([a-z0-9]+)</td>", html)


def test_report_lists_the_departments_open_work(loop: tuple[Any, TestClient]) -> None:
    """The report lists only incidents open at the department (escalated first), with state
    and stage due time in the city's zone; its token sees only its own report; zh labels."""
    _app, client = loop
    page = client.get("/departments/health/report", headers=HEALTH)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert _ids(page.text) == ["h1", "h2"]
    assert '<tr class="escalated"><td>h1</td>' in page.text
    assert "<td>dispatched</td>" in page.text
    assert "+08:00" in page.text  # Asia/Shanghai, the settings' zone
    assert "<script" not in page.text
    justice = client.get("/departments/justice/report", headers=DISPATCHER).text
    assert _ids(justice) == ["j1"]
    assert client.get("/departments/justice/report", headers=HEALTH).status_code == 404
    assert client.get("/departments/parks/report", headers=DISPATCHER).status_code == 404
    volunteer = client.get("/departments/health/report", headers=token_headers("volunteer"))
    assert volunteer.status_code == 403
    zh = client.get("/departments/health/report?lang=zh", headers=DISPATCHER).text
    assert "卫生健康" in zh
    assert "已升级" in zh


def test_cli_report_as_of_a_later_time(
    loop: tuple[Any, TestClient],
    backend: tuple[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """``departments report --now`` a day later shows h2 overdue after the escalated h1 and
    counts both; an unknown code or a --now without zone is one line, exit 2."""
    url, schema = backend
    monkeypatch.setenv("PATROLGRID_DATABASE_URL", url)
    if schema:
        monkeypatch.setenv("PATROLGRID_DB_SCHEMA", schema)
    out = tmp_path / "health.html"
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    result = CliRunner().invoke(
        cli, ["departments", "report", "--code", "health", "--out", str(out), "--now", later]
    )
    assert result.exit_code == 0, result.output
    assert "health: 2 open incidents, 2 overdue, 1 escalated" in " ".join(result.output.split())
    html = out.read_text(encoding="utf-8")
    assert _ids(html) == ["h1", "h2"]
    assert '<tr class="overdue"><td>h2</td>' in html
    bad = CliRunner().invoke(cli, ["departments", "report", "--code", "parks", "--out", str(out)])
    assert bad.exit_code == 2
    assert "--code: 'parks' is not a department" in " ".join(bad.output.split())
    naive = CliRunner().invoke(
        cli,
        [
            "departments",
            "report",
            "--code",
            "health",
            "--out",
            str(out),
            "--now",
            "2026-12-01T10:00",
        ],
    )
    assert naive.exit_code == 2


def test_order_and_empty_report() -> None:
    """Escalated, then overdue, then by due time, then no limit; an empty queue says so."""
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    hour = timedelta(hours=1)
    work = pd.DataFrame(
        {
            "incident_id": ["late", "soon", "none", "esc", "later"],
            "state": ["dispatched"] * 5,
            "due_at": [now - hour, now + hour, None, now + 5 * hour, now + 2 * hour],
            "escalated_at": [None, None, None, now - hour, None],
        }
    )
    assert order_work(work, now=now)["incident_id"].tolist() == [
        "esc",
        "late",
        "soon",
        "later",
        "none",
    ]
    html = render_work_report(work.iloc[0:0], department="health", now=now)
    assert "No open incident." in html
