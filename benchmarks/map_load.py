"""How fast the offline supervisor map opens in headless Chromium, by city size.

``python -m benchmarks.map_load [--sizes 1000,10000,20000] [--incidents 200000] [--repeat 3]``

For each size a synthetic city is built in Philadelphia's latitude: square ~150 m leaf grids
under 16 communities, a full risk table (168-hour profiles), a 40-unit plan and 200,000
incidents. The page from :func:`maps.folium_map.make_map` is saved and opened offline in
Debian's Chromium (network blocked); the benchmark prints the page size, the median load time
from ``goto`` until two frames after the load event, the page's own load-event time (navigation
start to ``loadEventEnd``, free of browser start-up noise), the JS heap and the browser
processes' proportional memory (PSS).

Peer, measured in the same run: folium's own ``GeoJson`` layer with a Python
``style_function`` (compiled into one JavaScript ``case`` per feature) on the same grids,
with the same offline assets; the ratio is its load-event time over ours (> 1: ours is
faster). Targets (issue 7): under 5 s and under 500 MB for 20,000 grids with 200,000 incidents.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from maps.colors import RISK_COLORS
from maps.folium_map import make_map, map_html, risk_classes
from tests.maps.browser import chromium_available, open_offline

X0, Y0 = -75.20, 39.95
CELL_DEG = 0.0015


def synthetic_city(n_grids: int, n_incidents: int, *, seed: int = 0) -> dict[str, Any]:
    """Grids (communities + leaves), risk table, incidents and a plan for ``n_grids`` cells."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_grids)))
    ii, jj = np.divmod(np.arange(n_grids), side)
    x0 = X0 + jj * CELL_DEG
    y0 = Y0 + ii * CELL_DEG
    cells = shapely.box(x0, y0, x0 + CELL_DEG, y0 + CELL_DEG)
    block = max(side // 4, 1)
    community = (ii // block) * 4 + (jj // block)
    comm_ids = [f"c{k:02d}" for k in community]
    leaf = gpd.GeoDataFrame(
        {
            "grid_id": [f"{c}-{k:05d}" for c, k in zip(comm_ids, range(n_grids), strict=True)],
            "level": "grid",
            "parent_id": comm_ids,
            "name": [f"Grid {k}" for k in range(n_grids)],
        },
        geometry=cells,
        crs=4326,
    )
    comms = leaf.dissolve("parent_id").reset_index()
    upper = gpd.GeoDataFrame(
        {
            "grid_id": comms["parent_id"],
            "level": "community",
            "parent_id": None,
            "name": [f"Community {c}" for c in comms["parent_id"]],
        },
        geometry=comms.geometry.to_numpy(),
        crs=4326,
    )
    grids = pd.concat([upper, leaf], ignore_index=True)
    weights = rng.gamma(0.6, 1.0, n_grids)
    prof = rng.gamma(0.5, 1.0, (n_grids, 168))
    prof /= prof.sum(axis=1, keepdims=True)
    risk = pd.concat(
        [
            pd.DataFrame(
                {
                    "grid_id": leaf["grid_id"],
                    "count": rng.poisson(weights * 10),
                    "risk": weights * 5,
                    "why": "burglaries rising at night",
                    "top_categories": "burglary, theft",
                    "warning": weights > np.quantile(weights, 0.995),
                }
            ),
            pd.DataFrame(prof, columns=[f"how_{i:03d}" for i in range(168)]),
        ],
        axis=1,
    )
    span_x, span_y = side * CELL_DEG, int(np.ceil(n_grids / side)) * CELL_DEG
    incidents = gpd.GeoDataFrame(
        {
            "incident_id": np.char.add("i", np.arange(n_incidents).astype(str)),
            "occurred_at": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 365 * 86400, n_incidents), unit="s"),
            "category": rng.choice(["theft", "burglary", "assault", "vandalism"], n_incidents),
            "severity": rng.integers(1, 6, n_incidents),
        },
        geometry=gpd.points_from_xy(
            X0 + rng.random(n_incidents) * span_x, Y0 + rng.random(n_incidents) * span_y
        ),
        crs=4326,
    )
    routes = []
    for u in range(40):
        pts = rng.random((9, 2)) * [span_x, span_y] + [X0, Y0]
        steps = [{"type": "start", "lon": pts[0, 0], "lat": pts[0, 1]}]
        steps += [
            {
                "type": "visit",
                "grid_id": "x",
                "lon": x,
                "lat": y,
                "arrival": f"2026-01-05T{8 + k:02d}:00:00-05:00",
                "departure": f"2026-01-05T{8 + k:02d}:15:00-05:00",
                "service_s": 900,
            }
            for k, (x, y) in enumerate(pts[1:-1], start=1)
        ]
        steps.append({"type": "end", "lon": pts[0, 0], "lat": pts[0, 1]})
        line = np.repeat(pts, 20, axis=0) + rng.normal(0, 0.0003, (180, 2))
        routes.append(
            {
                "unit_id": f"u{u}",
                "kind": "police_car",
                "mode": "drive",
                "steps": steps,
                "geometry": {"type": "LineString", "coordinates": line.tolist()},
            }
        )
    plan = {"summary": {}, "routes": routes, "unassigned": []}
    return {"grids": grids, "risk": risk, "incidents": incidents, "plan": plan}


def folium_peer_page(city: dict[str, Any]) -> str:
    """The same grids through folium's GeoJson + Python style_function (the usual way)."""
    leaf = city["grids"][city["grids"]["level"] == "grid"].merge(city["risk"][["grid_id", "risk"]])
    classes, _ = risk_classes(leaf["risk"].to_numpy())
    leaf = leaf[["grid_id", "geometry"]].assign(c=[RISK_COLORS[k] for k in classes])
    minx, miny, maxx, maxy = leaf.total_bounds
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, max_zoom=19)
    folium.GeoJson(
        leaf,
        style_function=lambda f: {"fillColor": f["properties"]["c"], "weight": 0.4},
    ).add_to(fmap)
    return map_html(fmap)


def _measure(html: str, folder: Path, name: str, repeat: int) -> dict[str, float]:
    page = folder / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    loads: list[float] = []
    events: list[float] = []
    heap = rss = float("nan")
    for k in range(repeat):
        result = open_offline(
            page,
            checks={
                "drawn": "document.querySelectorAll('canvas, svg path').length",
                "load_event_ms": "performance.getEntriesByType('navigation')[0].loadEventEnd",
            },
            settle_s=0.1,
            user_data_dir=folder / f"profile-{name}-{k}",
        )
        if result.external_requests or result.console_errors:
            msg = f"{name}: requests {result.external_requests[:3]} errors {result.console_errors[:3]}"
            raise RuntimeError(msg)
        loads.append(result.load_s)
        events.append(float(result.results["load_event_ms"]) / 1000)
        heap, rss = result.js_heap_mb, result.browser_rss_mb
    return {
        "size_mb": page.stat().st_size / 1e6,
        "load_s": statistics.median(loads),
        "event_s": statistics.median(events),
        "heap_mb": heap,
        "rss_mb": rss,
    }


def main() -> None:
    """Run the benchmark and print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,20000")
    parser.add_argument("--incidents", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-max", type=int, default=10_000, help="largest size for the peer")
    args = parser.parse_args()
    if not chromium_available():
        raise SystemExit("needs Debian chromium (/usr/bin/chromium) and python playwright")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'case':<28}{'grids':>7}{'incid.':>8}{'build s':>9}{'page MB':>9}"
        f"{'load s':>8}{'event s':>8}{'heap MB':>9}{'PSS MB':>8}{'peer/ours':>10}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in sizes:
            city = synthetic_city(n, args.incidents)
            start = time.perf_counter()
            html = map_html(make_map(**city))
            build_s = time.perf_counter() - start
            ours = _measure(html, folder, f"ours-{n}", args.repeat)
            ratio = ""
            if n <= args.peer_max:
                peer = _measure(folium_peer_page(city), folder, f"peer-{n}", args.repeat)
                ratio = f"{peer['event_s'] / ours['event_s']:.2f}"
                print(
                    f"{'folium GeoJson (grids only)':<28}{n:>7}{0:>8}{'':>9}{peer['size_mb']:>9.1f}"
                    f"{peer['load_s']:>8.2f}{peer['event_s']:>8.2f}{peer['heap_mb']:>9.0f}{peer['rss_mb']:>8.0f}{'':>10}"
                )
            print(
                f"{'patrolgrid map (all layers)':<28}{n:>7}{args.incidents:>8}{build_s:>9.1f}"
                f"{ours['size_mb']:>9.1f}{ours['load_s']:>8.2f}{ours['event_s']:>8.2f}{ours['heap_mb']:>9.0f}"
                f"{ours['rss_mb']:>8.0f}{ratio:>10}",
                flush=True,
            )


if __name__ == "__main__":
    main()
