"""Load benchmark of the HTTP service: ``python -m benchmarks.api_load``.

Starts a real server process (uvicorn) on a fresh database (SQLite file by default,
``--database-url postgresql+psycopg://...`` for PostGIS, isolated in a new schema), stores a
small grid hierarchy, then measures with several concurrent clients:

* batch ingest (``POST /incidents`` with ``--batch`` rows) and single-incident ingest;
* feature reads (``GET /collections/incidents/items`` with random bboxes, ``limit=100``);
* grid reads (``GET /collections/grids/items``) and ``GET /hotspots``;
* the baseline, ``GET /healthz`` (framework and network overhead only), measured in the same run.

Prints requests/s, incidents/s, p50 and p99 latency, and each p50 as a ratio of the baseline's.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import sqlalchemy as sa
from shapely.geometry import box

from api.auth import create_token
from api.db.engine import Database
from api.services.grids import store_grids
from benchmarks._server import ServerProcess

SECRET = "benchmark-secret-0123456789"
X0, Y0, CELL = 113.30, 23.10, 0.005  # a 20 x 20 grid of 0.005 degree cells near Guangzhou


def grids(n: int = 20) -> gpd.GeoDataFrame:
    """One district, four communities (quadrants), n*n leaf cells."""
    size = n * CELL
    half = n // 2
    rows = [("D", "district", None, box(X0, Y0, X0 + size, Y0 + size))]
    span = half * CELL
    rows.extend(
        (
            f"C{qx}{qy}",
            "community",
            "D",
            box(X0 + qx * span, Y0 + qy * span, X0 + (qx + 1) * span, Y0 + (qy + 1) * span),
        )
        for qx in range(2)
        for qy in range(2)
    )
    rows.extend(
        (
            f"g{i:02d}{j:02d}",
            "grid",
            f"C{i // half}{j // half}",
            box(X0 + i * CELL, Y0 + j * CELL, X0 + (i + 1) * CELL, Y0 + (j + 1) * CELL),
        )
        for i in range(n)
        for j in range(n)
    )
    return gpd.GeoDataFrame(
        {
            "grid_id": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "parent_id": [r[2] for r in rows],
            "name": [r[0] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs="EPSG:4326",
    )


def incident_rows(n: int, prefix: str, seed: int) -> list[dict[str, Any]]:
    """Random incidents over the grid."""
    rng = random.Random(seed)
    return [
        {
            "incident_id": f"{prefix}-{i}",
            "occurred_at": f"2026-10-{1 + i % 28:02d}T{i % 24:02d}:00:00+08:00",
            "category": rng.choice(["theft", "robbery", "dispute", "fraud"]),
            "lon": X0 + rng.random() * 20 * CELL,
            "lat": Y0 + rng.random() * 20 * CELL,
        }
        for i in range(n)
    ]


def run_clients(
    clients: int, jobs: list[Any], call: Callable[[httpx.Client, Any], httpx.Response]
) -> tuple[list[float], float]:
    """Run ``call`` on every job with ``clients`` threads; latencies (s) and wall time (s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(jobs)

    def worker() -> None:
        with httpx.Client(timeout=300) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    job = queue.pop()
                start = time.perf_counter()
                response = call(http, job)
                elapsed = time.perf_counter() - start
                if response.status_code >= 400:
                    msg = f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:200]}"
                    raise RuntimeError(msg)
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started


def report(
    name: str, latencies: list[float], wall_s: float, rows: int | None, baseline_p50: float | None
) -> float:
    """Print one line of results and return the p50 in seconds."""
    values = np.array(latencies)
    p50, p99 = float(np.percentile(values, 50)), float(np.percentile(values, 99))
    line = f"{name:<34} {len(values) / wall_s:9.1f} req/s  p50 {p50 * 1000:8.2f} ms  p99 {p99 * 1000:8.2f} ms"
    if rows is not None:
        line += f"  {rows / wall_s:9.0f} incidents/s"
    if baseline_p50:
        line += f"  p50 x{p50 / baseline_p50:6.1f} baseline"
    print(line, flush=True)
    return p50


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument(
        "--incidents", type=int, default=20_000, help="incidents ingested in batches"
    )
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--singles", type=int, default=500, help="incidents ingested one per request"
    )
    parser.add_argument("--reads", type=int, default=500, help="requests per read benchmark")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)

    folder = tempfile.TemporaryDirectory(prefix="patrolgrid-bench-")
    url = args.database_url or f"sqlite:///{Path(folder.name) / 'bench.db'}"
    schema = None
    admin_engine = None
    if url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin_engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database = Database(url, schema=schema)
    database.migrate()
    with database.session() as session:
        store_grids(session, grids())
    database.dispose()
    env = {"PATROLGRID_DATABASE_URL": url, "PATROLGRID_SECRET": SECRET, "PATROLGRID_DEV": "0"}
    if schema:
        env["PATROLGRID_DB_SCHEMA"] = schema
    headers = {"Authorization": f"Bearer {create_token(SECRET, 'admin', subject='bench')}"}
    backend = "PostgreSQL+PostGIS" if schema else "SQLite (WAL)"
    print(
        f"patrolgrid API load, {backend}, {args.clients} clients, batches of {args.batch}",
        flush=True,
    )
    try:
        with ServerProcess(env) as server:
            base = server.url
            lat, wall = run_clients(
                args.clients, list(range(args.reads)), lambda h, _: h.get(f"{base}/healthz")
            )
            baseline = report("baseline GET /healthz", lat, wall, None, None)
            rows = incident_rows(args.incidents, "b", seed=1)
            batches = [rows[i : i + args.batch] for i in range(0, len(rows), args.batch)]
            lat, wall = run_clients(
                args.clients,
                batches,
                lambda h, b: h.post(f"{base}/incidents", json={"incidents": b}, headers=headers),
            )
            report(f"POST /incidents ({args.batch}/request)", lat, wall, len(rows), baseline)
            singles = incident_rows(args.singles, "s", seed=2)
            lat, wall = run_clients(
                args.clients,
                singles,
                lambda h, r: h.post(f"{base}/incidents", json=r, headers=headers),
            )
            report("POST /incidents (1/request)", lat, wall, len(singles), baseline)
            rng = random.Random(3)

            def bbox_query(h: httpx.Client, _: Any) -> httpx.Response:
                x, y = X0 + rng.random() * 15 * CELL, Y0 + rng.random() * 15 * CELL
                bbox = f"{x},{y},{x + 5 * CELL},{y + 5 * CELL}"
                return h.get(
                    f"{base}/collections/incidents/items?bbox={bbox}&limit=100", headers=headers
                )

            lat, wall = run_clients(args.clients, list(range(args.reads)), bbox_query)
            report("GET incidents items bbox limit=100", lat, wall, None, baseline)
            lat, wall = run_clients(
                args.clients,
                list(range(args.reads)),
                lambda h, _: h.get(
                    f"{base}/collections/grids/items?level=grid&limit=400", headers=headers
                ),
            )
            report("GET grids items limit=400", lat, wall, None, baseline)
            reads = max(10, args.reads // 25)
            lat, wall = run_clients(
                args.clients,
                list(range(reads)),
                lambda h, _: h.get(f"{base}/hotspots?top=50", headers=headers),
            )
            report("GET /hotspots (all incidents)", lat, wall, None, baseline)
    finally:
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin_engine.dispose()
        folder.cleanup()


if __name__ == "__main__":
    main()
