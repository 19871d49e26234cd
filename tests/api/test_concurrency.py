"""Reliability against a real server process (uvicorn), on SQLite (WAL) and PostGIS.

* 8 clients ingest 50,000 incidents in parallel, with deliberate retries of acknowledged
  batches and overlapping batches between clients: every acknowledged incident is stored
  exactly once, and counted as ``accepted`` exactly once.
* The server is killed (SIGKILL) mid-ingest and restarted: no acknowledged incident is lost,
  and retrying every batch completes the set without duplicates.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from api.db.engine import Database
from api.db.models import Incident, Transition
from api.services.grids import store_grids
from benchmarks._server import ServerProcess
from tests.api.conftest import SECRET, small_grids, token_headers

HEADERS = token_headers("dispatcher")


def _rows(n: int, prefix: str, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "incident_id": f"{prefix}-{i:06d}",
            "occurred_at": f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:15:00+08:00",
            "category": rng.choice(["theft", "robbery", "dispute", "fraud"]),
            "lon": 113.30 + rng.random() * 0.032,  # a few fall just east of the grids
            "lat": 23.10 + rng.random() * 0.02,
        }
        for i in range(n)
    ]


def _batches(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _post(http: httpx.Client, url: str, batch: list[dict[str, Any]], attempts: int = 30) -> Any:
    """POST until acknowledged (200), retrying transport errors and 5xx; None if never."""
    for attempt in range(attempts):
        try:
            response = http.post(f"{url}/incidents", json={"incidents": batch}, headers=HEADERS)
        except httpx.TransportError:
            time.sleep(min(0.1 * 2**attempt, 2.0))
            continue
        if response.status_code == 200:
            return response.json()
        assert response.status_code >= 500, response.text
        time.sleep(min(0.1 * 2**attempt, 2.0))
    return None


@pytest.fixture
def server_env(backend: tuple[str, str | None]) -> Iterator[tuple[dict[str, str], Database]]:
    """Environment of a server on the backend's database, holding the small grids."""
    url, schema = backend
    database = Database(url, schema=schema)
    database.migrate()
    with database.session() as session:
        store_grids(session, small_grids())
    env = {"PATROLGRID_DATABASE_URL": url, "PATROLGRID_SECRET": SECRET, "PATROLGRID_DEV": "0"}
    if schema:
        env["PATROLGRID_DB_SCHEMA"] = schema
    yield env, database
    database.dispose()


def _stored(database: Database) -> tuple[list[str], int]:
    with database.sessions() as session:
        ids = list(session.scalars(sa.select(Incident.incident_id)))
        audit = int(session.scalar(sa.select(sa.func.count()).select_from(Transition)) or 0)
    return ids, audit


@pytest.mark.slow
def test_eight_clients_fifty_thousand_incidents(
    server_env: tuple[dict[str, str], Database],
) -> None:
    """Parallel ingest with retries and overlaps stores every acknowledged incident once."""
    env, database = server_env
    rows = _rows(50_000, "cc")
    batches = _batches(rows, 500)
    rng = random.Random(3)
    plans: list[list[list[dict[str, Any]]]] = [[] for _ in range(8)]
    for i, batch in enumerate(batches):
        plans[i % 8].append(batch)
        if rng.random() < 0.2:  # a retry of an acknowledged batch, by the same client
            plans[i % 8].append(batch)
        if rng.random() < 0.2:  # the same batch sent by another client at about the same time
            plans[(i + 1) % 8].append(batch)
    acked: set[str] = set()
    accepted = 0
    lock = threading.Lock()
    errors: list[str] = []

    def client(plan: list[list[dict[str, Any]]], url: str) -> None:
        nonlocal accepted
        with httpx.Client(timeout=120) as http:
            for batch in plan:
                answer = _post(http, url, batch)
                if answer is None:
                    errors.append("a batch was never acknowledged")
                    continue
                with lock:
                    accepted += answer["accepted"]
                    acked.update(r["incident_id"] for r in batch)

    with ServerProcess(env) as server:
        threads = [threading.Thread(target=client, args=(p, server.url)) for p in plans]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    stored, audit = _stored(database)
    assert len(stored) == len(set(stored))
    assert set(stored) == acked == {r["incident_id"] for r in rows}
    assert accepted == len(stored) == audit


@pytest.mark.slow
def test_killed_server_loses_no_acknowledged_incident(
    server_env: tuple[dict[str, str], Database],
) -> None:
    """SIGKILL mid-ingest, restart: acknowledged incidents are all there; retries complete."""
    env, database = server_env
    rows = _rows(10_000, "crash", seed=11)
    batches = _batches(rows, 250)
    acked: set[str] = set()
    accepted = 0
    stop = threading.Event()
    server = ServerProcess(env).start()

    def sender() -> None:
        nonlocal accepted
        with httpx.Client(timeout=60) as http:
            for batch in batches:
                if stop.is_set():
                    return
                try:
                    response = http.post(
                        f"{server.url}/incidents", json={"incidents": batch}, headers=HEADERS
                    )
                except httpx.TransportError:
                    return  # the server died; this batch is not acknowledged
                if response.status_code == 200:
                    accepted += response.json()["accepted"]
                    acked.update(r["incident_id"] for r in batch)

    thread = threading.Thread(target=sender)
    thread.start()
    deadline = time.monotonic() + 120
    while len(acked) < 1_500 and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.01)
    server.kill()
    stop.set()
    thread.join()
    assert 0 < len(acked) < len(rows), "the kill should land mid-ingest"
    server = ServerProcess(env, port=server.port).start()
    try:
        stored, _ = _stored(database)
        assert acked <= set(stored), "an acknowledged incident was lost"
        with httpx.Client(timeout=120) as http:
            for batch in batches:
                answer = _post(http, server.url, batch)
                assert answer is not None
                accepted += answer["accepted"]
    finally:
        server.stop()
    stored, audit = _stored(database)
    assert len(stored) == len(set(stored)) == len(rows)
    assert accepted <= len(rows)  # a batch committed just before the kill was never acknowledged
    assert audit == len(rows)


@pytest.mark.slow
def test_racing_dispatchers_get_one_200_and_one_412(
    server_env: tuple[dict[str, str], Database],
) -> None:
    """Two dispatchers re-dispatching one incident at once with the same If-Match: one 200, one
    412; the stored state is the winner's, and the audit trail, in commit order, agrees with it.

    Also: ids with characters a URL must escape round-trip through a real server.
    """
    env, _database = server_env
    ids = [f"race-{i}" for i in range(6)] + ["a%2Fb", "ü %25 #?"]
    rows = [
        {
            "incident_id": incident_id,
            "occurred_at": "2026-11-01T08:30:00+08:00",
            "category": "theft",
            "lon": 113.305,
            "lat": 23.105,
        }
        for incident_id in ids
    ]
    with ServerProcess(env) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        assert http.post("/incidents", json={"incidents": rows}, headers=HEADERS).json()[
            "accepted"
        ] == len(ids)
        for incident_id in ids:
            path = f"/incidents/{quote(incident_id, safe='')}"
            for body in ({"to": "verified"}, {"to": "accepted"}):
                assert http.post(f"{path}/transitions", json=body, headers=HEADERS).is_success
            first = http.post(
                f"{path}/transitions", json={"to": "dispatched", "unit_id": "u0"}, headers=HEADERS
            )
            assert first.status_code == 200, first.text
            tag = http.get(path, headers=HEADERS).headers["etag"]
            barrier = threading.Barrier(2)
            answers: dict[str, int] = {}

            def dispatch(
                unit: str,
                path: str = path,
                tag: str = tag,
                barrier: Any = barrier,
                answers: dict[str, int] = answers,
            ) -> None:
                with httpx.Client(base_url=server.url, timeout=60) as own:
                    barrier.wait()
                    response = own.post(
                        f"{path}/transitions",
                        json={"to": "dispatched", "unit_id": unit},
                        headers={**HEADERS, "If-Match": tag},
                    )
                    answers[unit] = response.status_code

            threads = [threading.Thread(target=dispatch, args=(u,)) for u in ("u1", "u2")]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(answers.values()) == [200, 412], (incident_id, answers)
            winner = next(u for u, status in answers.items() if status == 200)
            stored = http.get(path, headers=HEADERS).json()
            assert stored["incident_id"] == incident_id
            assert stored["unit_id"] == winner
            trail = http.get(f"{path}/transitions", headers=HEADERS).json()
            assert trail[-1]["details"]["unit_id"] == winner
            assert [t["details"].get("unit_id") for t in trail if t["to"] == "dispatched"] == [
                "u0",
                winner,
            ]
            times = [t["at"] for t in trail]
            assert times == sorted(times)
