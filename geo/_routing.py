"""Shortest paths between points snapped onto street segments, with compiled Dijkstra.

Private to :mod:`geo.network`. A snapped point sits on segment ``(a, b)`` at fraction ``t`` from
``a``. For a set of sources and targets we add one virtual node per source (edges to ``a`` and
``b`` costing the remaining part of the segment in each legal direction) and one per target
(edges from ``a`` and ``b``), then run :func:`scipy.sparse.csgraph.dijkstra` from the source
nodes only, in chunks, keeping the target columns. Two points on the same segment may also
travel directly along it. The answer is exactly the shortest path on the street graph with the
points inserted as nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from ._modegraph import ModeGraph

__all__ = ["Positions", "matrices", "route_nodes"]

_CHUNK_CELLS = 20_000_000  # float64 cells per Dijkstra call (160 MB)


@dataclass(frozen=True)
class Positions:
    """Points on segments: segment index and fraction along ``a -> b``."""

    seg: np.ndarray
    t: np.ndarray


@dataclass(frozen=True)
class _Augmented:
    csr: sp.csr_matrix
    sources: np.ndarray
    targets: np.ndarray
    keys: np.ndarray
    lengths: np.ndarray


def _augment(graph: ModeGraph, src: Positions, tgt: Positions, *, lengths: bool) -> _Augmented:
    n = graph.n_nodes
    ks, kt = len(src.seg), len(tgt.seg)
    s_nodes = n + np.arange(ks)
    t_nodes = n + ks + np.arange(kt)
    parts_u, parts_v, parts_w, parts_l = [graph.src], [graph.dst], [graph.time_s], [graph.length_m]

    def add(u: np.ndarray, v: np.ndarray, w: np.ndarray, length: np.ndarray) -> None:
        ok = np.isfinite(w)
        parts_u.append(u[ok])
        parts_v.append(v[ok])
        parts_w.append(w[ok])
        parts_l.append(length[ok])

    def part(frac: np.ndarray, values: np.ndarray) -> np.ndarray:
        # at an end node (frac == 0) the node is reached for free, whatever the direction
        with np.errstate(invalid="ignore"):
            return np.where(frac == 0, 0.0, frac * values)

    a_s, b_s, t_s = graph.seg_a[src.seg], graph.seg_b[src.seg], src.t
    add(s_nodes, a_s, part(t_s, graph.w_ba[src.seg]), part(t_s, graph.len_ba[src.seg]))
    add(s_nodes, b_s, part(1 - t_s, graph.w_ab[src.seg]), part(1 - t_s, graph.len_ab[src.seg]))
    a_t, b_t, t_t = graph.seg_a[tgt.seg], graph.seg_b[tgt.seg], tgt.t
    add(a_t, t_nodes, part(t_t, graph.w_ab[tgt.seg]), part(t_t, graph.len_ab[tgt.seg]))
    add(b_t, t_nodes, part(1 - t_t, graph.w_ba[tgt.seg]), part(1 - t_t, graph.len_ba[tgt.seg]))
    u, v = np.concatenate(parts_u), np.concatenate(parts_v)
    w, lens = np.concatenate(parts_w), np.concatenate(parts_l)
    # a point on a loop segment reaches its junction both ways: keep the cheaper (sparse
    # matrices would add duplicates up)
    order = np.lexsort((w, v, u))
    u, v, w, lens = u[order], v[order], w[order], lens[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, w, lens = u[first], v[first], w[first], lens[first]
    size = n + ks + kt
    csr = sp.csr_matrix((w, (u, v)), shape=(size, size))
    keys = u.astype(np.int64) * size + v  # sorted by (u, v)
    return _Augmented(csr=csr, sources=s_nodes, targets=t_nodes, keys=keys, lengths=lens)


def search_limits(graph: ModeGraph, aug: _Augmented, src: Positions, tgt: Positions) -> np.ndarray:
    """Upper bound, per source, on the travel time to its farthest target.

    A few hub junctions spread over the targets are searched forwards (hub -> targets) and
    backwards (sources -> hub, on the reversed graph). By the triangle inequality
    ``T(i, j) <= min_h T(i, h) + T(h, j)``, so the maximum over ``j`` bounds source ``i``'s
    search radius: Dijkstra stopped there has already settled every target exactly. The bound
    costs ``2 x hubs`` searches and pays off when the points cover a small part of the network
    (a station's area in a city).
    """
    x = graph.x[graph.seg_a[tgt.seg]]
    y = graph.y[graph.seg_a[tgt.seg]]
    qx = np.quantile(x, [0.5, 0.2, 0.8, 0.2, 0.8])
    qy = np.quantile(y, [0.5, 0.2, 0.2, 0.8, 0.8])
    picks = [int(np.argmin((x - hx) ** 2 + (y - hy) ** 2)) for hx, hy in zip(qx, qy, strict=True)]
    hubs = np.unique(graph.seg_a[tgt.seg[picks]])
    forward = dijkstra(aug.csr, indices=hubs)[:, aug.targets]
    backward = dijkstra(aug.csr.T.tocsr(), indices=hubs)[:, aug.sources]
    bound = np.full((len(src.seg), len(tgt.seg)), np.inf)
    for h in range(len(hubs)):
        np.minimum(bound, backward[h][:, None] + forward[h][None, :], out=bound)
    farthest = bound.max(axis=1)
    return farthest * (1 + 1e-9) + 1e-6


def _chunks(k: int, size: int) -> Iterator[slice]:
    step = max(1, min(k, _CHUNK_CELLS // max(size, 1), 64))
    for start in range(0, k, step):
        yield slice(start, min(k, start + step))


def _direct(graph: ModeGraph, src: Positions, tgt: Positions) -> tuple[np.ndarray, np.ndarray]:
    """Time and length travelling directly along a shared segment (``inf`` elsewhere)."""
    same = src.seg[:, None] == tgt.seg[None, :]
    dt = tgt.t[None, :] - src.t[:, None]
    seg = src.seg
    fwd = same & (dt >= 0) & np.isfinite(graph.w_ab[seg])[:, None]
    bwd = same & (dt <= 0) & np.isfinite(graph.w_ba[seg])[:, None]
    with np.errstate(invalid="ignore"):
        tf = np.where(fwd, dt * graph.w_ab[seg][:, None], np.inf)
        tb = np.where(bwd, -dt * graph.w_ba[seg][:, None], np.inf)
        lf = np.where(fwd, dt * graph.len_ab[seg][:, None], np.inf)
        lb = np.where(bwd, -dt * graph.len_ba[seg][:, None], np.inf)
    use_b = tb < tf
    return np.where(use_b, tb, tf), np.where(use_b, lb, lf)


def _walk_back(
    aug: _Augmented, pred: np.ndarray, sources: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    """Length of every tree path source -> target, by vectorised walking up the predecessors."""
    rows = np.repeat(np.arange(pred.shape[0]), len(targets))
    cur = np.tile(targets, pred.shape[0])
    stop = np.repeat(sources, len(targets))
    acc = np.zeros(len(cur))
    size = aug.csr.shape[0]
    active = np.flatnonzero(cur != stop)
    while active.size:
        c = cur[active]
        p = pred[rows[active], c].astype(np.int64)
        reached = p >= 0
        active, c, p = active[reached], c[reached], p[reached]
        acc[active] += aug.lengths[np.searchsorted(aug.keys, p * size + c)]
        cur[active] = p
        active = active[p != stop[active]]
    return acc.reshape(pred.shape[0], len(targets))


def matrices(
    graph: ModeGraph,
    src: Positions,
    tgt: Positions,
    *,
    lengths: bool = False,
    bounded: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Fastest travel times (s) between snapped points, and the lengths (m) of those paths.

    Parameters
    ----------
    graph
        The mode's routable graph.
    src, tgt
        Snapped sources and targets.
    lengths
        Also return the length of each fastest path (the distance matrix).
    bounded
        Stop each source's search at a proven upper bound on its farthest target (see
        :func:`search_limits`); exact either way.

    Returns
    -------
    times : numpy.ndarray
        ``len(src) x len(tgt)`` seconds.
    lengths : numpy.ndarray or None
        ``len(src) x len(tgt)`` metres along the same paths, when asked for.
    """
    aug = _augment(graph, src, tgt, lengths=lengths)
    ks, kt = len(src.seg), len(tgt.seg)
    size = aug.csr.shape[0]
    times = np.empty((ks, kt))
    dists = np.empty((ks, kt)) if lengths else None
    limits = search_limits(graph, aug, src, tgt) if bounded else np.full(ks, np.inf)
    order = np.argsort(limits, kind="stable")
    for part in _chunks(ks, size):
        rows = order[part]
        idx = aug.sources[rows]
        limit = float(limits[rows].max())
        if dists is not None:
            dist, pred = dijkstra(aug.csr, indices=idx, return_predecessors=True, limit=limit)
            times[rows] = dist[:, aug.targets]
            dists[rows] = _walk_back(aug, pred, idx, aug.targets)
        else:
            times[rows] = dijkstra(aug.csr, indices=idx, limit=limit)[:, aug.targets]
    direct_t, direct_l = _direct(graph, src, tgt)
    better = direct_t < times
    times = np.where(better, direct_t, times)
    if dists is not None:
        dists = np.where(better, direct_l, dists)
    return times, dists


def route_nodes(graph: ModeGraph, points: Positions) -> list[list[int] | None]:
    """Node sequence of the fastest path between each pair of consecutive points.

    Returns, per leg, the routable node indices visited in order (may be empty when the leg
    stays on one segment), or ``None`` when the leg is direct along the shared segment.
    """
    src = Positions(points.seg[:-1], points.t[:-1])
    tgt = Positions(points.seg[1:], points.t[1:])
    aug = _augment(graph, src, tgt, lengths=False)
    dist, pred = dijkstra(aug.csr, indices=aug.sources, return_predecessors=True)
    direct_t, _ = _direct(graph, src, tgt)
    legs: list[list[int] | None] = []
    n = graph.n_nodes
    for leg in range(len(src.seg)):
        target = aug.targets[leg]
        if direct_t[leg, leg] <= dist[leg, target]:
            legs.append(None)
            continue
        nodes: list[int] = []
        cur = int(pred[leg, target])
        while cur >= 0 and cur < n:
            nodes.append(cur)
            cur = int(pred[leg, cur])
        legs.append(nodes[::-1])
    return legs
