"""Contraction hierarchy (CH): the build, compiled with numba (queries: :mod:`geo._ch_query`).

Private to :mod:`geo.network`. Pure functions on arrays of a directed graph with positive
weights (junction indices ``0..n-1``, edges ``src -> dst`` with a travel time and a length).

Build (Geisberger et al. 2008): nodes are contracted one by one in the order of a lazily
updated priority, *edge difference* (shortcuts added minus edges removed) plus the number of
already contracted neighbours plus the node's level. Contracting ``v`` adds a shortcut
``u -> w`` (time and length of ``u -> v -> w``) unless a *witness search* from ``u`` that
avoids ``v`` finds a path to ``w`` at most as fast; the search stops after a number of settled
nodes, which can only add superfluous shortcuts, never lose a path. Every edge and shortcut
then points up (to the higher-ranked end) in either the forward or the backward upward graph.

Query (Knopp et al. 2007): a backward upward search from each target leaves ``(target, time,
length)`` in a bucket at every node it settles; a forward upward search from each source scans
the buckets of the nodes it settles. The fastest path of a CH is an up-then-down path, so the
minimum over the meeting nodes is the exact shortest time. Both searches use
*stall-on-demand* (a node reached more cheaply from a higher neighbour is not expanded).
Searches start from up to two nodes with initial costs, which is how points snapped onto a
segment enter: exactly the virtual edges of :func:`geo._routing._augment`.

Times equal those of Dijkstra on the same graph up to the order of floating-point additions
(about 1e-12 s). The length carried is that of the fastest path found (ties broken by the first
found).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numba
import numpy as np

from ._modegraph import ModeGraph

__all__ = [
    "Hierarchy",
    "build_hierarchy",
    "graph_hierarchy",
    "load_hierarchy",
    "save_hierarchy",
]

_INF = np.inf
_WITNESS_SETTLE = 50  # settled nodes per witness search when contracting
_SIMULATE_SETTLE = 20  # ... when estimating a node's priority


# ---------------------------------------------------------------------- binary heap
@numba.njit(cache=True)
def _push(
    keys: np.ndarray, vals: np.ndarray, size: int, key: float, val: int
) -> tuple[np.ndarray, np.ndarray, int]:
    if size == len(keys):
        grown_k = np.empty(2 * size, dtype=keys.dtype)
        grown_v = np.empty(2 * size, dtype=vals.dtype)
        grown_k[:size] = keys
        grown_v[:size] = vals
        keys, vals = grown_k, grown_v
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        vals[i] = vals[parent]
        i = parent
    keys[i] = key
    vals[i] = val
    return keys, vals, size + 1


@numba.njit(cache=True)
def _pop(keys: np.ndarray, vals: np.ndarray, size: int) -> tuple[float, int, int]:
    key, val = keys[0], vals[0]
    size -= 1
    last_k, last_v = keys[size], vals[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= last_k:
            break
        keys[i] = keys[child]
        vals[i] = vals[child]
        i = child
    if size > 0:
        keys[i] = last_k
        vals[i] = last_v
    return key, val, size


# ---------------------------------------------------------------------- contraction
class Edges(NamedTuple):
    """The graph being contracted: edge ``e`` runs ``tail[e] -> head[e]`` in ``time[e]`` over
    ``length[e]``; linked lists of each node's outgoing (``out_first``, ``out_next``) and
    incoming (``in_first``, ``in_next``) edges. Shortcuts are appended in place."""

    tail: np.ndarray
    head: np.ndarray
    time: np.ndarray
    length: np.ndarray
    out_first: np.ndarray
    out_next: np.ndarray
    in_first: np.ndarray
    in_next: np.ndarray


class Scratch(NamedTuple):
    """Per node: contracted yet, the witness search's distance (inf when untouched), and the
    nodes a search touched (to reset)."""

    contracted: np.ndarray
    dist: np.ndarray
    touched: np.ndarray


@numba.njit(cache=True)
def _witness(
    start: int,
    avoid: int,
    limit: float,
    settle_limit: int,
    g: Edges,
    scratch: Scratch,
    hk: np.ndarray,
    hv: np.ndarray,
) -> tuple[int, np.ndarray, np.ndarray]:
    """Dijkstra from ``start`` over uncontracted nodes except ``avoid``, up to ``limit``."""
    out_first, out_next, e_head, e_w = g.out_first, g.out_next, g.head, g.time
    contracted, dist, touched = scratch
    dist[start] = 0.0
    touched[0] = start
    n_touched = 1
    size = 0
    hk, hv, size = _push(hk, hv, size, 0.0, start)
    settled = 0
    while size > 0:
        d, x, size = _pop(hk, hv, size)
        if d > dist[x]:
            continue
        if d > limit or settled >= settle_limit:
            break
        settled += 1
        e = out_first[x]
        while e != -1:
            y = e_head[e]
            if y != avoid and not contracted[y]:
                nd = d + e_w[e]
                if nd < dist[y]:
                    if dist[y] == _INF:
                        touched[n_touched] = y
                        n_touched += 1
                    dist[y] = nd
                    hk, hv, size = _push(hk, hv, size, nd, y)
            e = out_next[e]
    return n_touched, hk, hv


@numba.njit(cache=True)
def _process(
    v: int,
    simulate: bool,
    settle_limit: int,
    m: int,
    g: Edges,
    scratch: Scratch,
    hk: np.ndarray,
    hv: np.ndarray,
) -> tuple[int, int, int, np.ndarray, np.ndarray]:
    """Shortcuts needed to contract ``v``; added unless ``simulate``.

    Returns ``(shortcuts, degree, m, hk, hv)`` with ``m`` the new edge count, or ``m = -1``
    when the edge arrays are full.
    """
    e_tail, e_head, e_w, e_l, out_first, out_next, in_first, in_next = g
    contracted, dist, touched = scratch
    n_out = 0
    e = out_first[v]
    while e != -1:
        if not contracted[e_head[e]]:
            n_out += 1
        e = out_next[e]
    outs = np.empty(n_out, dtype=np.int64)
    k = 0
    e = out_first[v]
    while e != -1:
        if not contracted[e_head[e]]:
            outs[k] = e
            k += 1
        e = out_next[e]
    n_in = 0
    e = in_first[v]
    while e != -1:
        if not contracted[e_tail[e]]:
            n_in += 1
        e = in_next[e]
    ins = np.empty(n_in, dtype=np.int64)
    k = 0
    e = in_first[v]
    while e != -1:
        if not contracted[e_tail[e]]:
            ins[k] = e
            k += 1
        e = in_next[e]
    pend_u = np.empty(n_in * n_out, dtype=np.int64)
    pend_w = np.empty(n_in * n_out, dtype=np.int64)
    pend_t = np.empty(n_in * n_out)
    pend_l = np.empty(n_in * n_out)
    count = 0
    for a in range(n_in):
        ei = ins[a]
        u = e_tail[ei]
        limit = -1.0
        for b in range(n_out):
            eo = outs[b]
            if e_head[eo] != u:
                limit = max(limit, e_w[ei] + e_w[eo])
        if limit < 0:
            continue
        n_touched, hk, hv = _witness(u, v, limit, settle_limit, g, scratch, hk, hv)
        for b in range(n_out):
            eo = outs[b]
            w = e_head[eo]
            if w == u:
                continue
            need = e_w[ei] + e_w[eo]
            if dist[w] > need:
                pend_u[count] = u
                pend_w[count] = w
                pend_t[count] = need
                pend_l[count] = e_l[ei] + e_l[eo]
                count += 1
        for i in range(n_touched):
            dist[touched[i]] = _INF
    if not simulate:
        cap = len(e_tail)
        for s in range(count):
            u, w = pend_u[s], pend_w[s]
            found = False
            e = out_first[u]
            while e != -1:
                if e_head[e] == w:
                    found = True
                    if pend_t[s] < e_w[e]:
                        e_w[e] = pend_t[s]
                        e_l[e] = pend_l[s]
                    break
                e = out_next[e]
            if found:
                continue
            if m == cap:
                return count, n_in + n_out, -1, hk, hv
            e_tail[m], e_head[m], e_w[m], e_l[m] = u, w, pend_t[s], pend_l[s]
            out_next[m] = out_first[u]
            out_first[u] = m
            in_next[m] = in_first[w]
            in_first[w] = m
            m += 1
    return count, n_in + n_out, m, hk, hv


@numba.njit(cache=True)
def _contract_all(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    time_s: np.ndarray,
    length_m: np.ndarray,
    cap: int,
    settle_limit: int,
    simulate_limit: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Contract every node; return ``(tail, head, time, length, rank, ok)`` of all edges."""
    e_tail = np.empty(cap, dtype=np.int64)
    e_head = np.empty(cap, dtype=np.int64)
    e_w = np.empty(cap)
    e_l = np.empty(cap)
    out_next = np.full(cap, -1, dtype=np.int64)
    in_next = np.full(cap, -1, dtype=np.int64)
    out_first = np.full(n, -1, dtype=np.int64)
    in_first = np.full(n, -1, dtype=np.int64)
    m = len(src)
    for e in range(m):
        u, w = src[e], dst[e]
        e_tail[e], e_head[e], e_w[e], e_l[e] = u, w, time_s[e], length_m[e]
        out_next[e] = out_first[u]
        out_first[u] = e
        in_next[e] = in_first[w]
        in_first[w] = e
    contracted = np.zeros(n, dtype=np.bool_)
    rank = np.full(n, -1, dtype=np.int64)
    deleted = np.zeros(n, dtype=np.int64)
    level = np.zeros(n, dtype=np.int64)
    prio = np.zeros(n)
    stamp = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, _INF)
    touched = np.empty(n, dtype=np.int64)
    g = Edges(e_tail, e_head, e_w, e_l, out_first, out_next, in_first, in_next)
    scratch = Scratch(contracted, dist, touched)
    hk = np.empty(1024)
    hv = np.empty(1024, dtype=np.int64)
    qk = np.empty(max(n, 16))
    qv = np.empty(max(n, 16), dtype=np.int64)
    qsize = 0
    for v in range(n):
        sc, deg, _, hk, hv = _process(v, True, simulate_limit, m, g, scratch, hk, hv)
        prio[v] = sc - deg
        qk, qv, qsize = _push(qk, qv, qsize, prio[v], v)
    nbrs = np.empty(n, dtype=np.int64)
    next_rank = 0
    while qsize > 0:
        p, v, qsize = _pop(qk, qv, qsize)
        if contracted[v] or p != prio[v]:
            continue
        sc, deg, _, hk, hv = _process(v, True, simulate_limit, m, g, scratch, hk, hv)
        fresh = float(sc - deg + deleted[v] + level[v])
        if qsize > 0 and fresh > qk[0]:
            prio[v] = fresh
            qk, qv, qsize = _push(qk, qv, qsize, fresh, v)
            continue
        _, _, m, hk, hv = _process(v, False, settle_limit, m, g, scratch, hk, hv)
        if m < 0:
            return e_tail[:0].copy(), e_head[:0].copy(), e_w[:0].copy(), e_l[:0].copy(), rank, False
        contracted[v] = True
        rank[v] = next_rank
        next_rank += 1
        n_nb = 0
        for side in range(2):
            e = out_first[v] if side == 0 else in_first[v]
            while e != -1:
                x = e_head[e] if side == 0 else e_tail[e]
                if not contracted[x] and stamp[x] != v:
                    stamp[x] = v
                    nbrs[n_nb] = x
                    n_nb += 1
                e = out_next[e] if side == 0 else in_next[e]
        for i in range(n_nb):
            x = nbrs[i]
            deleted[x] += 1
            level[x] = max(level[x], level[v] + 1)
            sc, deg, _, hk, hv = _process(x, True, simulate_limit, m, g, scratch, hk, hv)
            prio[x] = float(sc - deg + deleted[x] + level[x])
            qk, qv, qsize = _push(qk, qv, qsize, prio[x], x)
    return e_tail[:m].copy(), e_head[:m].copy(), e_w[:m].copy(), e_l[:m].copy(), rank, True


# ---------------------------------------------------------------------- the hierarchy
@dataclass(frozen=True, eq=False)
class Hierarchy:
    """Upward graphs of a contraction hierarchy, as CSR arrays.

    ``up_*``: edges ``x -> to`` to higher-ranked nodes (forward searches); ``down_*``: for
    node ``x``, the edges ``to -> x`` from higher-ranked nodes (backward searches), stored at
    ``x``. ``*_w`` are seconds, ``*_l`` metres.
    """

    rank: np.ndarray
    up_ptr: np.ndarray
    up_to: np.ndarray
    up_w: np.ndarray
    up_l: np.ndarray
    down_ptr: np.ndarray
    down_to: np.ndarray
    down_w: np.ndarray
    down_l: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.rank)

    @property
    def n_edges(self) -> int:
        """Edges and shortcuts in both upward graphs."""
        return len(self.up_to) + len(self.down_to)


def _csr(
    n: int, frm: np.ndarray, to: np.ndarray, w: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((w, to, frm))
    frm, to, w, length = frm[order], to[order], w[order], length[order]
    first = np.ones(len(frm), dtype=bool)
    first[1:] = (frm[1:] != frm[:-1]) | (to[1:] != to[:-1])
    frm, to, w, length = frm[first], to[first], w[first], length[first]
    ptr = np.searchsorted(frm, np.arange(n + 1)).astype(np.int64)
    return ptr, to.astype(np.int64), w.astype(np.float64), length.astype(np.float64)


def build_hierarchy(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    time_s: np.ndarray,
    length_m: np.ndarray,
    *,
    settle_limit: int = _WITNESS_SETTLE,
    simulate_limit: int = _SIMULATE_SETTLE,
) -> Hierarchy:
    """Contract a directed graph into a hierarchy.

    Parameters
    ----------
    n
        Number of nodes.
    src, dst
        Edge ends (node indices); no self-loops; parallel edges allowed (the fastest counts).
    time_s, length_m
        Positive edge times and their lengths.
    settle_limit, simulate_limit
        Nodes settled per witness search when contracting and when estimating priorities.

    Returns
    -------
    Hierarchy
    """
    src = np.ascontiguousarray(src, dtype=np.int64)
    dst = np.ascontiguousarray(dst, dtype=np.int64)
    time_s = np.ascontiguousarray(time_s, dtype=np.float64)
    length_m = np.ascontiguousarray(length_m, dtype=np.float64)
    cap = 3 * len(src) + 64
    while True:
        tail, head, w, length, rank, ok = _contract_all(
            n, src, dst, time_s, length_m, cap, settle_limit, simulate_limit
        )
        if ok:
            break
        cap *= 2
    up = rank[tail] < rank[head]
    up_ptr, up_to, up_w, up_l = _csr(n, tail[up], head[up], w[up], length[up])
    down = ~up
    down_ptr, down_to, down_w, down_l = _csr(n, head[down], tail[down], w[down], length[down])
    return Hierarchy(rank, up_ptr, up_to, up_w, up_l, down_ptr, down_to, down_w, down_l)


def graph_hierarchy(graph: ModeGraph) -> Hierarchy:
    """The hierarchy of a mode's routing graph (junctions and their fastest edges)."""
    return build_hierarchy(graph.n_nodes, graph.src, graph.dst, graph.time_s, graph.length_m)


_FIELDS = ("rank", "up_ptr", "up_to", "up_w", "up_l", "down_ptr", "down_to", "down_w", "down_l")


def save_hierarchy(hierarchy: Hierarchy, path: Path) -> None:
    """Write the hierarchy's arrays to an ``.npz`` file (no pickles)."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **{name: getattr(hierarchy, name) for name in _FIELDS})
    tmp.replace(path)


def load_hierarchy(path: Path) -> Hierarchy:
    """Read a hierarchy written by :func:`save_hierarchy`."""
    with np.load(path, allow_pickle=False) as data:
        return Hierarchy(**{name: data[name] for name in _FIELDS})
