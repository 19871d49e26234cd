"""Many-to-many queries on a contraction hierarchy (:mod:`geo._ch`), compiled with numba.

Private to :mod:`geo.network`. A backward upward search from each target leaves ``(target,
time, length)`` in a bucket at every node it settles; a forward upward search from each source
scans the buckets of the nodes it settles (Knopp et al. 2007; see :mod:`geo._ch`).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from ._ch import _INF, Hierarchy, _pop, _push
from ._modegraph import ModeGraph
from ._routing import Positions, _direct

__all__ = ["many_to_many", "point_matrices"]


class Upward(NamedTuple):
    """One direction's upward graph (CSR ``ptr``, ``to``, times ``w``, lengths ``wl``) and the
    other direction's graph that stalls it (``stall_ptr``, ``stall_to``, ``stall_w``)."""

    ptr: np.ndarray
    to: np.ndarray
    w: np.ndarray
    wl: np.ndarray
    stall_ptr: np.ndarray
    stall_to: np.ndarray
    stall_w: np.ndarray


class Search(NamedTuple):
    """A search's scratch per node (distance, inf when untouched; length; the touched nodes)
    and the settled nodes it reports (``out_v``, with time ``out_d`` and length ``out_l``)."""

    dist: np.ndarray
    dlen: np.ndarray
    touched: np.ndarray
    out_v: np.ndarray
    out_d: np.ndarray
    out_l: np.ndarray


class Ends(NamedTuple):
    """``K x 2``: each point's up to two nodes (-1 for none), the cost and length to them."""

    nodes: np.ndarray
    cost: np.ndarray
    length: np.ndarray


@numba.njit(cache=True)
def _upward(
    starts: np.ndarray,
    cost: np.ndarray,
    clen: np.ndarray,
    graph: Upward,
    scratch: Search,
    hk: np.ndarray,
    hv: np.ndarray,
) -> tuple[int, np.ndarray, np.ndarray]:
    """Upward search from up to two start nodes with initial costs; settled nodes to ``out_*``."""
    ptr, to, w, wl, stall_ptr, stall_to, stall_w = graph
    dist, dlen, touched, out_v, out_d, out_l = scratch
    n_touched = 0
    size = 0
    for s in range(len(starts)):
        x = starts[s]
        c = cost[s]
        if x < 0 or not c < _INF:
            continue
        if c < dist[x]:
            if dist[x] == _INF:
                touched[n_touched] = x
                n_touched += 1
            dist[x] = c
            dlen[x] = clen[s]
            hk, hv, size = _push(hk, hv, size, c, x)
    count = 0
    while size > 0:
        d, x, size = _pop(hk, hv, size)
        if d > dist[x]:
            continue
        stalled = False
        for e in range(stall_ptr[x], stall_ptr[x + 1]):
            if dist[stall_to[e]] + stall_w[e] < d:
                stalled = True
                break
        if stalled:
            continue
        out_v[count] = x
        out_d[count] = d
        out_l[count] = dlen[x]
        count += 1
        for e in range(ptr[x], ptr[x + 1]):
            y = to[e]
            nd = d + w[e]
            if nd < dist[y]:
                if dist[y] == _INF:
                    touched[n_touched] = y
                    n_touched += 1
                dist[y] = nd
                dlen[y] = dlen[x] + wl[e]
                hk, hv, size = _push(hk, hv, size, nd, y)
    for i in range(n_touched):
        dist[touched[i]] = _INF
    return count, hk, hv


@numba.njit(cache=True)
def _buckets_query(
    sources: Ends, targets: Ends, up: Upward, down: Upward
) -> tuple[np.ndarray, np.ndarray]:
    """Times and lengths ``K_s x K_t``: backward searches (``down``) from the targets fill
    buckets, forward searches (``up``) from the sources scan them."""
    s_nodes, s_cost, s_len = sources
    t_nodes, t_cost, t_len = targets
    n = len(up.ptr) - 1
    ks, kt = s_nodes.shape[0], t_nodes.shape[0]
    dist = np.full(n, _INF)
    dlen = np.zeros(n)
    touched = np.empty(n, dtype=np.int64)
    hk = np.empty(1024)
    hv = np.empty(1024, dtype=np.int64)
    out_v = np.empty(n, dtype=np.int64)
    out_d = np.empty(n)
    out_l = np.empty(n)
    scratch = Search(dist, dlen, touched, out_v, out_d, out_l)
    # backward searches from the targets fill the buckets
    cap = 1024
    b_v = np.empty(cap, dtype=np.int64)
    b_j = np.empty(cap, dtype=np.int64)
    b_d = np.empty(cap)
    b_l = np.empty(cap)
    nb = 0
    for j in range(kt):
        count, hk, hv = _upward(t_nodes[j], t_cost[j], t_len[j], down, scratch, hk, hv)
        if nb + count > cap:
            while nb + count > cap:
                cap *= 2
            b_v2 = np.empty(cap, dtype=np.int64)
            b_j2 = np.empty(cap, dtype=np.int64)
            b_d2 = np.empty(cap)
            b_l2 = np.empty(cap)
            b_v2[:nb], b_j2[:nb], b_d2[:nb], b_l2[:nb] = b_v[:nb], b_j[:nb], b_d[:nb], b_l[:nb]
            b_v, b_j, b_d, b_l = b_v2, b_j2, b_d2, b_l2
        for i in range(count):
            b_v[nb] = out_v[i]
            b_j[nb] = j
            b_d[nb] = out_d[i]
            b_l[nb] = out_l[i]
            nb += 1
    # bucket entries grouped by node (counting sort)
    ptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(nb):
        ptr[b_v[i] + 1] += 1
    for x in range(n):
        ptr[x + 1] += ptr[x]
    fill = ptr[:-1].copy()
    e_j = np.empty(nb, dtype=np.int64)
    e_d = np.empty(nb)
    e_l = np.empty(nb)
    for i in range(nb):
        x = b_v[i]
        e_j[fill[x]] = b_j[i]
        e_d[fill[x]] = b_d[i]
        e_l[fill[x]] = b_l[i]
        fill[x] += 1
    # forward searches from the sources scan them
    times = np.full((ks, kt), _INF)
    lengths = np.full((ks, kt), _INF)
    for i in range(ks):
        count, hk, hv = _upward(s_nodes[i], s_cost[i], s_len[i], up, scratch, hk, hv)
        row_t = times[i]
        row_l = lengths[i]
        for c in range(count):
            x = out_v[c]
            d = out_d[c]
            dl = out_l[c]
            for e in range(ptr[x], ptr[x + 1]):
                j = e_j[e]
                cand = d + e_d[e]
                if cand < row_t[j]:
                    row_t[j] = cand
                    row_l[j] = dl + e_l[e]
    return times, lengths


def many_to_many(
    hierarchy: Hierarchy,
    s_nodes: np.ndarray,
    s_cost: np.ndarray,
    s_len: np.ndarray,
    t_nodes: np.ndarray,
    t_cost: np.ndarray,
    t_len: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Fastest times and their lengths between sets of start nodes with initial costs.

    Parameters
    ----------
    hierarchy
        From :func:`build_hierarchy`.
    s_nodes, s_cost, s_len
        ``K_s x 2``: each source leaves from up to two nodes (``-1`` or cost ``inf`` for none)
        having already spent ``s_cost`` seconds and ``s_len`` metres.
    t_nodes, t_cost, t_len
        ``K_t x 2``: each target is reached from up to two nodes, adding ``t_cost`` / ``t_len``.

    Returns
    -------
    times, lengths : numpy.ndarray
        ``K_s x K_t``: ``min`` over start ``x`` and end ``y`` of ``s_cost + T(x, y) + t_cost``,
        and the length of that path (``inf`` where unreachable).
    """
    h = hierarchy

    def arr(a: np.ndarray, dtype: type) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(a, dtype=dtype).reshape(-1, 2))

    sources = Ends(arr(s_nodes, np.int64), arr(s_cost, np.float64), arr(s_len, np.float64))
    targets = Ends(arr(t_nodes, np.int64), arr(t_cost, np.float64), arr(t_len, np.float64))
    # Each search is stalled by the other direction's graph.
    up = Upward(h.up_ptr, h.up_to, h.up_w, h.up_l, h.down_ptr, h.down_to, h.down_w)
    down = Upward(h.down_ptr, h.down_to, h.down_w, h.down_l, h.up_ptr, h.up_to, h.up_w)
    return _buckets_query(sources, targets, up, down)


def _part(frac: np.ndarray, values: np.ndarray) -> np.ndarray:
    # as geo._routing._augment: at an end node (frac == 0) the node is reached for free
    with np.errstate(invalid="ignore"):
        return np.where(frac == 0, 0.0, frac * values)


def _ends(
    graph: ModeGraph, pos: Positions, *, leaving: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """End nodes of each point's segment with the partial time and length to (or from) them.

    The same virtual edges as :func:`geo._routing._augment`: a source leaves to ``a`` against
    the segment (``t * w_ba``) and to ``b`` along it (``(1 - t) * w_ab``); a target is reached
    from ``a`` along it (``t * w_ab``) and from ``b`` against it (``(1 - t) * w_ba``).
    """
    seg, t = pos.seg, pos.t
    nodes = np.column_stack([graph.seg_a[seg], graph.seg_b[seg]]).astype(np.int64)
    if leaving:
        w_a, l_a, w_b, l_b = graph.w_ba, graph.len_ba, graph.w_ab, graph.len_ab
    else:
        w_a, l_a, w_b, l_b = graph.w_ab, graph.len_ab, graph.w_ba, graph.len_ba
    cost = np.column_stack([_part(t, w_a[seg]), _part(1 - t, w_b[seg])])
    length = np.column_stack([_part(t, l_a[seg]), _part(1 - t, l_b[seg])])
    closed = ~np.isfinite(cost)
    cost[closed] = np.inf
    length[closed] = 0.0
    return nodes, cost, length


def point_matrices(
    graph: ModeGraph, hierarchy: Hierarchy, src: Positions, tgt: Positions
) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and lengths (m) of the fastest paths between points snapped onto segments.

    The same answer as :func:`geo._routing.matrices` (the points inserted as nodes, travel
    directly along a shared segment allowed), from the hierarchy's bucket query.
    """
    s_nodes, s_cost, s_len = _ends(graph, src, leaving=True)
    t_nodes, t_cost, t_len = _ends(graph, tgt, leaving=False)
    times, lengths = many_to_many(hierarchy, s_nodes, s_cost, s_len, t_nodes, t_cost, t_len)
    direct_t, direct_l = _direct(graph, src, tgt)
    better = direct_t < times
    return np.where(better, direct_t, times), np.where(better, direct_l, lengths)
