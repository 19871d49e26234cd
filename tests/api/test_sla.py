"""SLAs: overdue incidents escalate by themselves (flag, audit entry, signed webhook with
retries), stage limits per category and department, rating history and the low-rating rule."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.db.loop_models import WebhookDelivery
from api.services.grids import store_grids
from api.services.sla import sweep
from tests.api.conftest import incident, settings_for, small_grids, token_headers
from tests.api.webhook_receiver import receiver

DISPATCHER = token_headers("dispatcher")
HOOK_SECRET = "hook-secret-0123456789"


def make(backend: tuple[str, str | None], **overrides: Any) -> Iterator[tuple[Any, TestClient]]:
    """An app (no background sweep unless asked) with the small grids, and its client."""
    url, schema = backend
    values = {"sla_interval_s": 0, **overrides}
    app = create_app(settings_for(url, **values), schema=schema)
    with TestClient(app) as client:
        with app.state.database.session() as session:
            store_grids(session, small_grids())
        app.state.grid_cache.invalidate()
        yield app, client


def move(client: TestClient, incident_id: str, *bodies: dict[str, Any]) -> dict[str, Any]:
    """Apply transitions as the dispatcher; the last answer."""
    answer: dict[str, Any] = {}
    for body in bodies:
        response = client.post(
            f"/incidents/{incident_id}/transitions", json=body, headers=DISPATCHER
        )
        assert response.status_code == 200, response.text
        answer = response.json()
    return answer


def later(seconds: float) -> datetime:
    """A moment ``seconds`` from now."""
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_overdue_escalates_once_with_signed_webhook(backend: tuple[str, str | None]) -> None:
    """An overdue incident gets escalated once (flag, audit entry by system:sla, first in the
    dispatcher's queue) and a webhook whose HMAC-SHA256 signature checks out; a transition
    clears the flag and the next stage escalates afresh."""
    with receiver() as hook:
        for app, client in make(backend, sla_webhook_url=hook.url, sla_webhook_secret=HOOK_SECRET):
            client.post(
                "/incidents",
                json={"incidents": [incident("late"), incident("fresh", "g12")]},
                headers=DISPATCHER,
            )
            database, settings = app.state.database, app.state.settings
            move(client, "fresh", {"to": "verified"})  # its verified clock starts later
            assert sweep(database, settings, now=later(60)).escalated == []
            result = sweep(database, settings, now=later(1800 + 60))
            assert sorted(result.escalated) == ["fresh", "late"]
            assert result.delivered == 2
            assert sweep(database, settings, now=later(1800 + 120)).escalated == []
            queue = client.get("/queue", headers=DISPATCHER).json()
            assert [q["incident_id"] for q in queue][:2] == ["late", "fresh"]
            assert all(q["escalated_at"] for q in queue[:2])
            trail = client.get("/incidents/late/transitions", headers=DISPATCHER).json()
            assert trail[-1]["actor"] == "system:sla"
            assert (trail[-1]["from"], trail[-1]["to"]) == ("reported", "reported")
            assert trail[-1]["details"]["escalated"] is True
            assert len(hook.received) == 2
            headers, body = hook.received[0]
            payload = json.loads(body)
            assert payload["event"] == "incident.escalated"
            assert payload["incident_id"] in ("late", "fresh")
            assert "description" not in payload
            expected = hmac.new(
                HOOK_SECRET.encode(),
                headers["x-patrolgrid-timestamp"].encode() + b"." + body,
                hashlib.sha256,
            ).hexdigest()
            assert headers["x-patrolgrid-signature"] == f"sha256={expected}"
            assert headers["x-patrolgrid-event"] == "incident.escalated"
            moved = move(client, "late", {"to": "verified"})
            assert moved["state"] == "verified"
            queue = client.get("/queue", headers=DISPATCHER).json()
            assert next(q for q in queue if q["incident_id"] == "late")["escalated_at"] is None
            assert "late" in sweep(database, settings, now=later(3 * 3600)).escalated


def test_webhook_retries_with_backoff_then_fails(backend: tuple[str, str | None]) -> None:
    """A failed delivery is retried only after its backoff, and succeeds when the receiver
    recovers; a receiver that keeps failing exhausts the attempts (kept as failed)."""
    with receiver(statuses=[500, 503]) as hook:
        for app, client in make(
            backend,
            sla_webhook_url=hook.url,
            sla_webhook_secret=HOOK_SECRET,
            sla_webhook_backoff_s=100,
            sla_webhook_attempts=3,
        ):
            client.post("/incidents", json=incident("r1"), headers=DISPATCHER)
            database, settings = app.state.database, app.state.settings
            start = later(1900)
            first = sweep(database, settings, now=start)
            assert (first.escalated, first.retrying) == (["r1"], 1)
            early = sweep(database, settings, now=start + timedelta(seconds=99))
            assert (early.delivered, early.retrying) == (0, 0)  # backoff not over
            second = sweep(database, settings, now=start + timedelta(seconds=101))
            assert second.retrying == 1  # 503; next wait 200 s
            third = sweep(database, settings, now=start + timedelta(seconds=302))
            assert third.delivered == 1
            assert len(hook.received) == 3
            ids = {json.loads(body)["delivery_id"] for _, body in hook.received}
            assert len(ids) == 1  # the same delivery, retried
    with receiver(statuses=[500] * 10) as hook:
        for app, client in make(
            backend,
            sla_webhook_url=hook.url,
            sla_webhook_secret=HOOK_SECRET,
            sla_webhook_backoff_s=1,
            sla_webhook_attempts=2,
        ):
            client.post("/incidents", json=incident("r2"), headers=DISPATCHER)
            database, settings = app.state.database, app.state.settings
            sweep(database, settings, now=later(1900))
            assert sweep(database, settings, now=later(1910)).failed == 1
            with database.sessions() as session:
                row = session.scalars(
                    sa.select(WebhookDelivery).where(WebhookDelivery.incident_id == "r2")
                ).one()
            assert (row.status, row.attempts, row.last_error) == ("failed", 2, "HTTP 500")


def test_category_and_department_stage_limits(backend: tuple[str, str | None]) -> None:
    """Noise reports are due after 15 minutes (category limit), theft after 30 (default); an
    incident dispatched to emergency is due after 30 minutes, to sanitation after 4 hours."""
    for app, client in make(backend):
        rows = [incident("noise", category="噪音扰民"), incident("theft")]
        client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER)
        database, settings = app.state.database, app.state.settings
        assert sweep(database, settings, now=later(960)).escalated == ["noise"]
        for incident_id, department in (("theft", "emergency"), ("noise", "sanitation")):
            move(
                client,
                incident_id,
                {"to": "verified"},
                {"to": "accepted"},
                {"to": "dispatched", "department": department},
            )
        assert sweep(database, settings, now=later(1860)).escalated == ["theft"]
        assert sweep(database, settings, now=later(4 * 3600 + 60)).escalated == ["noise"]


def test_escalation_runs_in_the_server_by_itself(backend: tuple[str, str | None]) -> None:
    """With a 1 s reported limit and a 0.2 s sweep interval, an incident escalates while the
    server runs, without anyone calling the sweep."""
    for _app, client in make(backend, sla_interval_s=0.2, stage_limits_s={"reported": 1}):
        client.post("/incidents", json=incident("auto"), headers=DISPATCHER)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            queue = client.get("/queue", headers=DISPATCHER).json()
            if queue and queue[0]["escalated_at"]:
                break
            time.sleep(0.2)
        assert queue[0]["incident_id"] == "auto"
        assert queue[0]["escalated_at"] is not None


def test_rating_history_and_low_rating_reopens(backend: tuple[str, str | None]) -> None:
    """Every rating is kept; a rating at or below the rule re-opens the incident by itself
    (audit entry by system:reopen-rule); a good rating does not."""
    for _app, client in make(backend, reopen_at_or_below=2):
        client.post("/incidents", json=incident("w1"), headers=DISPATCHER)
        path = [
            {"to": "verified"},
            {"to": "accepted"},
            {"to": "dispatched", "unit_id": "car-1"},
            {"to": "handled"},
            {"to": "rechecked"},
            {"to": "closed"},
        ]
        assert move(client, "w1", *path, {"to": "rated", "satisfaction": 4})["state"] == "rated"
        move(client, "w1", {"to": "reopened", "note": "caller rang again"})
        again = move(client, "w1", *path[2:], {"to": "rated", "satisfaction": 1, "note": "rude"})
        assert again["state"] == "reopened"
        assert again["satisfaction"] is None
        ratings = client.get("/incidents/w1/ratings", headers=DISPATCHER).json()
        assert [r["satisfaction"] for r in ratings] == [4, 1]
        assert ratings[1]["note"] == "rude"
        trail = client.get("/incidents/w1/transitions", headers=DISPATCHER).json()
        assert trail[-1]["actor"] == "system:reopen-rule"
        assert (trail[-1]["from"], trail[-1]["to"]) == ("rated", "reopened")


def test_sla_run_command(backend: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch) -> None:
    """`patrolgrid sla run --now ...` escalates what is overdue and prints a JSON summary;
    a bad --now is a one-line error with exit code 2."""
    url, schema = backend
    for _app, client in make(backend):
        client.post("/incidents", json=incident("c1"), headers=DISPATCHER)
    monkeypatch.setenv("PATROLGRID_DATABASE_URL", url)
    if schema:
        monkeypatch.setenv("PATROLGRID_DB_SCHEMA", schema)
    result = CliRunner().invoke(cli, ["sla", "run", "--now", later(3600).isoformat()])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["escalated"] == ["c1"]
    bad = CliRunner().invoke(cli, ["sla", "run", "--now", "2026-12-01T10:00"])
    assert bad.exit_code == 2
    assert "--now" in bad.output


def test_unreachable_receiver_stops_the_round(backend: tuple[str, str | None]) -> None:
    """When nothing listens at the webhook URL, one delivery is attempted and the others wait,
    unattempted, for the next sweep; nothing is lost."""
    from benchmarks._server import free_port

    url = f"http://127.0.0.1:{free_port()}/hooks"
    for app, client in make(backend, sla_webhook_url=url, sla_webhook_secret=HOOK_SECRET):
        rows = [incident("u1"), incident("u2"), incident("u3")]
        client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER)
        result = sweep(app.state.database, app.state.settings, now=later(1900))
        assert len(result.escalated) == 3
        assert (result.delivered, result.retrying) == (0, 1)
        with app.state.database.sessions() as session:
            rows_ = session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        assert [(r.status, r.attempts) for r in rows_] == [
            ("pending", 1),
            ("pending", 0),
            ("pending", 0),
        ]
        assert rows_[0].last_error.startswith("ConnectError")


def test_concurrent_sweeps_deliver_each_webhook_once(backend: tuple[str, str | None]) -> None:
    """Four sweeps at once (server processes and cron) escalate each incident once and send
    each webhook exactly once."""
    from concurrent.futures import ThreadPoolExecutor

    with receiver() as hook:
        for app, client in make(backend, sla_webhook_url=hook.url, sla_webhook_secret=HOOK_SECRET):
            rows = [incident(f"c{i}") for i in range(12)]
            client.post("/incidents", json={"incidents": rows}, headers=DISPATCHER)
            when = later(1900)
            database, settings = app.state.database, app.state.settings
            with ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(sweep, database, settings, now=when) for _ in range(4)]
                results = [f.result() for f in futures]
            escalated = [i for r in results for i in r.escalated]
            assert sorted(escalated) == sorted(r["incident_id"] for r in rows)
            assert sum(r.delivered for r in results) == 12
            ids = [json.loads(body)["incident_id"] for _, body in hook.received]
            assert sorted(ids) == sorted(r["incident_id"] for r in rows)
