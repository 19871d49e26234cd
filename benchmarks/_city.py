"""A generated city street network written as OSM XML, for benchmarks at city scale.

A jittered lattice of junctions ``block_m`` apart with ``between`` shape nodes on every block side
(OpenStreetMap ways carry such nodes; the router merges them), a road hierarchy (every 8th street primary, every 4th
secondary, the rest residential; a few ``maxspeed`` tags), a share of residential streets one-way
in alternating directions, and a few block sides missing. Deterministic for a seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_city"]

_LAT0, _LON0 = 23.10, 113.25  # a dense Chinese city centre (Guangzhou)
_M_PER_DEG_LAT = 111_320.0


def write_city(
    path: Path,
    *,
    n: int = 220,
    block_m: float = 100.0,
    between: int = 0,
    oneway_share: float = 0.3,
    missing_share: float = 0.04,
    seed: int = 0,
) -> int:
    """Write an ``n x n``-junction city as OSM XML; return the number of nodes written.

    With the defaults: 220 x 220 junctions 100 m apart (a 22 km x 22 km city), no shape nodes:
    about 48,000 nodes, all of them junctions of the routing graph. One way per street and run
    of consecutive blocks (a missing block side splits the street).
    """
    rng = np.random.default_rng(seed)
    m_per_deg_lon = _M_PER_DEG_LAT * np.cos(np.radians(_LAT0))
    ids = np.arange(n * n).reshape(n, n) + 1
    jitter = rng.normal(0.0, block_m * 0.08, size=(n, n, 2))
    ex = np.arange(n)[None, :] * block_m + jitter[..., 0]  # metres east, [row, col]
    ny = np.arange(n)[:, None] * block_m + jitter[..., 1]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<osm version="0.6" generator="patrolgrid-bench">',
    ]
    coords: dict[int, tuple[float, float]] = {}
    for r in range(n):
        for c in range(n):
            coords[int(ids[r, c])] = (float(ex[r, c]), float(ny[r, c]))
    next_id = n * n + 1
    ways: list[tuple[list[int], dict[str, str]]] = []

    def street_class(k: int) -> dict[str, str]:
        if k % 8 == 0:
            return {"highway": "primary", "maxspeed": "60"}
        if k % 4 == 0:
            return {"highway": "secondary"}
        return {"highway": "residential"}

    for horizontal in (True, False):
        for k in range(n):
            tags = street_class(k)
            oneway = tags["highway"] == "residential" and rng.random() < oneway_share
            way_tags = dict(tags)
            if oneway:
                way_tags["oneway"] = "yes" if k % 2 else "-1"
            run: list[int] = []
            for j in range(n - 1):
                a = int(ids[k, j]) if horizontal else int(ids[j, k])
                b = int(ids[k, j + 1]) if horizontal else int(ids[j + 1, k])
                if tags["highway"] == "residential" and rng.random() < missing_share:
                    if len(run) > 1:
                        ways.append((run, way_tags))
                    run = []
                    continue
                (ax, ay), (bx, by) = coords[a], coords[b]
                if not run:
                    run = [a]
                for s in range(1, between + 1):
                    f = s / (between + 1)
                    bend = rng.normal(0.0, 2.0, size=2)
                    coords[next_id] = (ax + f * (bx - ax) + bend[0], ay + f * (by - ay) + bend[1])
                    run.append(next_id)
                    next_id += 1
                run.append(b)
            if len(run) > 1:
                ways.append((run, way_tags))
    for node_id, (x, y) in coords.items():
        lat = _LAT0 + y / _M_PER_DEG_LAT
        lon = _LON0 + x / m_per_deg_lon
        lines.append(f'<node id="{node_id}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for way_id, (refs, tags) in enumerate(ways, start=1):
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way_id}">{body}</way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n")
    return len(coords)
