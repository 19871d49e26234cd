"""The routable graph of one travel mode: junctions, street segments, a sparse matrix, a spatial index.

Private to :mod:`geo.network`. Built in three steps from the edge table:

1. the mode's directed edges between consecutive OSM way nodes, with travel times from the speed
   table; only the largest strongly connected component is kept;
2. *contraction* (what OSMnx calls simplification): chains of pass-through nodes (two neighbours,
   the same one-way/two-way status and the same speeds on both sides) are merged into one
   *segment* between two *junctions*, keeping its polyline. Along a segment the speed in each
   direction is uniform, so the time to a point at fraction ``t`` of its length is exactly ``t``
   times the segment's time;
3. a sparse matrix over junctions: one directed edge per open direction of each segment, the
   fastest where several segments join the same two junctions.

Junctions are numbered ``0..N-1``; their OSM ids are kept alongside. Segments run ``a -> b``
(junction indices, ``a == b`` for a loop) with ``w_ab``/``w_ba`` the travel time in each direction
(``inf`` where closed) and ``len_ab``/``len_ba`` the lengths.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from .errors import NetworkError
from .speeds import edge_speeds_kph

__all__ = ["ModeGraph", "build_mode_graph", "load_mode_graph", "save_mode_graph"]


@dataclass(frozen=True, eq=False)
class ModeGraph:
    """Routable graph of one mode (see the module docstring)."""

    mode: str
    osmid: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    time_s: np.ndarray
    length_m: np.ndarray
    edge_seg: np.ndarray
    edge_fwd: np.ndarray
    csr: sp.csr_matrix
    seg_a: np.ndarray
    seg_b: np.ndarray
    w_ab: np.ndarray
    w_ba: np.ndarray
    len_ab: np.ndarray
    len_ba: np.ndarray
    seg_highway: np.ndarray
    seg_name: np.ndarray
    lines: np.ndarray
    tree: shapely.STRtree
    n_way_nodes: int

    @property
    def n_nodes(self) -> int:
        """Number of junctions (nodes of the routing graph)."""
        return len(self.osmid)

    def edge_lookup(self) -> dict[tuple[int, int], int]:
        """Directed junction pair -> index of the routing edge."""
        return {
            (int(u), int(v)): i for i, (u, v) in enumerate(zip(self.src, self.dst, strict=True))
        }


def _directed_rows(edges: pd.DataFrame, mode: str, speed: np.ndarray) -> pd.DataFrame:
    """Edges usable by the mode, with reverse copies where the mode may ignore ``oneway``."""
    usable = ~np.isnan(speed)
    rows = edges.loc[usable, ["u", "v", "length_m", "highway", "name", "oneway"]].copy()
    rows["speed_kph"] = speed[usable]
    if "oneway_bicycle" in edges.columns:
        contraflow = edges.loc[usable, "oneway_bicycle"].str.lower() == "no"
    else:
        contraflow = pd.Series(False, index=rows.index)
    if mode == "walk":
        back = rows[rows["oneway"]]
    elif mode == "bike":
        back = rows[rows["oneway"] & contraflow]
    else:
        back = rows.iloc[0:0]
    back = back.rename(columns={"u": "v", "v": "u"})
    return pd.concat([rows, back], ignore_index=True)


@dataclass(frozen=True)
class _Fine:
    """Undirected pieces between consecutive way nodes (``p < q``), before contraction."""

    p: np.ndarray
    q: np.ndarray
    w_pq: np.ndarray
    w_qp: np.ndarray
    l_pq: np.ndarray
    l_qp: np.ndarray
    highway: np.ndarray
    name: np.ndarray


def _fine_pieces(
    u: np.ndarray, v: np.ndarray, time_s: np.ndarray, length: np.ndarray, rows: pd.DataFrame, n: int
) -> _Fine:
    p, q = np.minimum(u, v), np.maximum(u, v)
    forward = u < v
    keys, index = np.unique(p * n + q, return_inverse=True)
    m = len(keys)
    w_pq, w_qp = np.full(m, np.inf), np.full(m, np.inf)
    l_pq, l_qp = np.full(m, np.nan), np.full(m, np.nan)
    w_pq[index[forward]] = time_s[forward]
    l_pq[index[forward]] = length[forward]
    w_qp[index[~forward]] = time_s[~forward]
    l_qp[index[~forward]] = length[~forward]
    highway = np.empty(m, dtype=object)
    name = np.empty(m, dtype=object)
    highway[index] = rows["highway"].to_numpy(dtype=object)
    name[index] = rows["name"].to_numpy(dtype=object)
    return _Fine(keys // n, keys % n, w_pq, w_qp, l_pq, l_qp, highway, name)


def _pass_through(fine: _Fine, n: int) -> np.ndarray:
    """Nodes that only continue a street: two pieces, same direction rules, same speeds."""
    ends = np.concatenate([fine.p, fine.q])
    piece = np.concatenate([np.arange(len(fine.p))] * 2)
    degree = np.bincount(ends, minlength=n)
    candidate = degree == 2
    order = np.argsort(ends, kind="stable")
    ends_s, piece_s = ends[order], piece[order]
    first = np.searchsorted(ends_s, np.arange(n))
    nodes = np.flatnonzero(candidate)
    s1, s2 = piece_s[first[nodes]], piece_s[first[nodes] + 1]

    def out_in(
        s: np.ndarray, node: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        at_p = fine.p[s] == node
        w_out = np.where(at_p, fine.w_pq[s], fine.w_qp[s])
        w_in = np.where(at_p, fine.w_qp[s], fine.w_pq[s])
        l_out = np.where(at_p, fine.l_pq[s], fine.l_qp[s])
        l_in = np.where(at_p, fine.l_qp[s], fine.l_pq[s])
        with np.errstate(divide="ignore", invalid="ignore"):
            return w_out, w_in, l_out / w_out, l_in / w_in

    o1, i1, so1, si1 = out_in(s1, nodes)
    o2, i2, so2, si2 = out_in(s2, nodes)
    # continuing 1 -> node -> 2 uses (in on 1, out on 2); 2 -> node -> 1 uses (in on 2, out on 1)
    open_12 = np.isfinite(i1) & np.isfinite(o2)
    open_21 = np.isfinite(i2) & np.isfinite(o1)
    consistent = (open_12 == np.isfinite(i1)) & (open_12 == np.isfinite(o2))
    consistent &= (open_21 == np.isfinite(i2)) & (open_21 == np.isfinite(o1))
    consistent &= open_12 | open_21
    same_speed = np.where(open_12, np.isclose(si1, so2, rtol=1e-12), True)
    same_speed &= np.where(open_21, np.isclose(si2, so1, rtol=1e-12), True)
    same_kind = fine.highway[s1] == fine.highway[s2]
    same_kind &= fine.name[s1] == fine.name[s2]
    keep = consistent & same_speed & same_kind & (s1 != s2)
    out = np.zeros(n, dtype=bool)
    out[nodes[keep]] = True
    return out


def _chains(fine: _Fine, through: np.ndarray, n: int) -> list[tuple[list[int], list[int]]]:
    """Walk the pieces into chains ``(nodes, pieces)`` from junction to junction."""
    ends = np.concatenate([fine.p, fine.q])
    piece = np.concatenate([np.arange(len(fine.p))] * 2)
    order = np.argsort(ends, kind="stable")
    ends_s, piece_s = ends[order].tolist(), piece[order].tolist()
    start = np.searchsorted(np.asarray(ends_s), np.arange(n + 1)).tolist()
    p_list, q_list = fine.p.tolist(), fine.q.tolist()
    through_l = through.tolist()
    used = [False] * len(p_list)
    chains: list[tuple[list[int], list[int]]] = []

    def walk(node: int, s: int) -> None:
        nodes, pieces = [node], []
        while True:
            used[s] = True
            pieces.append(s)
            node = q_list[s] if p_list[s] == node else p_list[s]
            nodes.append(node)
            if not through_l[node] or node == nodes[0]:
                break
            a, b = piece_s[start[node]], piece_s[start[node] + 1]
            s = b if a == s else a
            if used[s]:
                break
        chains.append((nodes, pieces))

    for node in range(n):
        if through_l[node]:
            continue
        for k in range(start[node], start[node + 1]):
            s = piece_s[k]
            if not used[s]:
                walk(node, s)
    for s in range(len(p_list)):  # rings made only of pass-through nodes
        if not used[s]:
            through_l[p_list[s]] = False
            walk(p_list[s], s)
    return chains


def build_mode_graph(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    mode: str,
    *,
    xy: tuple[np.ndarray, np.ndarray],
    speeds: pd.DataFrame | None,
    maxspeed_share: float,
) -> ModeGraph:
    """Build the routable graph of ``mode`` from the node and edge tables.

    Parameters
    ----------
    nodes, edges
        Tables from :func:`geo._osm_read.read_osm` (or the cache), nodes sorted by ``osmid``.
    mode
        ``"drive"``, ``"bike"`` or ``"walk"``.
    xy
        Projected (metric) node coordinates, aligned with ``nodes``.
    speeds, maxspeed_share
        See :func:`geo.speeds.edge_speeds_kph`.
    """
    speed = edge_speeds_kph(edges, mode, speeds=speeds, maxspeed_share=maxspeed_share)
    rows = _directed_rows(edges, mode, speed)
    if rows.empty:
        msg = f"street network has no streets open to mode {mode!r} (check the speed table)"
        raise NetworkError(msg)
    osmid_all = nodes["osmid"].to_numpy()
    u = np.searchsorted(osmid_all, rows["u"].to_numpy())
    v = np.searchsorted(osmid_all, rows["v"].to_numpy())
    time_s = rows["length_m"].to_numpy() / (rows["speed_kph"].to_numpy() / 3.6)
    # the fastest of parallel pieces wins
    order = np.lexsort((time_s, v, u))
    u, v, time_s, rows = u[order], v[order], time_s[order], rows.iloc[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, time_s, rows = u[first], v[first], time_s[first], rows[first]

    n_all = len(osmid_all)
    graph = sp.csr_matrix((np.ones(len(u)), (u, v)), shape=(n_all, n_all))
    _, labels = connected_components(graph, directed=True, connection="strong")
    counts = np.bincount(labels[np.unique(np.concatenate([u, v]))], minlength=labels.max() + 1)
    in_scc = labels == int(np.argmax(counts))
    keep = in_scc[u] & in_scc[v]
    u, v, time_s, rows = u[keep], v[keep], time_s[keep], rows[keep]
    fine = _fine_pieces(u, v, time_s, rows["length_m"].to_numpy(dtype=float), rows, n_all)
    through = _pass_through(fine, n_all)
    chains = _chains(fine, through, n_all)

    # junctions: chain ends
    ends = np.unique(np.array([c[0][0] for c in chains] + [c[0][-1] for c in chains]))
    junction = np.full(n_all, -1, dtype=np.int64)
    junction[ends] = np.arange(len(ends))
    x_all, y_all = xy
    n_seg = len(chains)
    chain_len = np.array([len(c[1]) for c in chains])
    piece = np.fromiter((s for c in chains for s in c[1]), dtype=np.int64, count=chain_len.sum())
    start = np.fromiter((v for c in chains for v in c[0][:-1]), dtype=np.int64, count=len(piece))
    chain_of = np.repeat(np.arange(n_seg), chain_len)
    fwd = fine.p[piece] == start

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(chain_of, weights=values, minlength=n_seg)

    with np.errstate(invalid="ignore"):
        w_ab = total(np.where(fwd, fine.w_pq[piece], fine.w_qp[piece]))
        w_ba = total(np.where(fwd, fine.w_qp[piece], fine.w_pq[piece]))
        len_ab = total(np.where(fwd, fine.l_pq[piece], fine.l_qp[piece]))
        len_ba = total(np.where(fwd, fine.l_qp[piece], fine.l_pq[piece]))
    seg_a = junction[np.array([c[0][0] for c in chains])]
    seg_b = junction[np.array([c[0][-1] for c in chains])]
    chain_nodes = np.fromiter((v for c in chains for v in c[0]), dtype=np.int64)
    flat = np.column_stack([x_all[chain_nodes], y_all[chain_nodes]])
    lines = shapely.linestrings(flat, indices=np.repeat(np.arange(n_seg), chain_len + 1))
    first_piece = piece[np.concatenate([[0], np.cumsum(chain_len)[:-1]])]

    # routing edges over junctions: fastest segment per directed pair, loops left out
    eu = np.concatenate([seg_a, seg_b])
    ev = np.concatenate([seg_b, seg_a])
    ew = np.concatenate([w_ab, w_ba])
    el = np.concatenate([len_ab, len_ba])
    es = np.concatenate([np.arange(n_seg), np.arange(n_seg)])
    ef = np.concatenate([np.ones(n_seg, dtype=bool), np.zeros(n_seg, dtype=bool)])
    ok = np.isfinite(ew) & (eu != ev)
    eu, ev, ew, el, es, ef = eu[ok], ev[ok], ew[ok], el[ok], es[ok], ef[ok]
    order = np.lexsort((es, ew, ev, eu))
    eu, ev, ew, el, es, ef = eu[order], ev[order], ew[order], el[order], es[order], ef[order]
    first = np.ones(len(eu), dtype=bool)
    first[1:] = (eu[1:] != eu[:-1]) | (ev[1:] != ev[:-1])
    eu, ev, ew, el, es, ef = eu[first], ev[first], ew[first], el[first], es[first], ef[first]
    n = len(ends)
    return ModeGraph(
        mode=mode,
        osmid=osmid_all[ends],
        lon=nodes["lon"].to_numpy()[ends],
        lat=nodes["lat"].to_numpy()[ends],
        x=x_all[ends],
        y=y_all[ends],
        src=eu,
        dst=ev,
        time_s=ew,
        length_m=el,
        edge_seg=es,
        edge_fwd=ef,
        csr=sp.csr_matrix((ew, (eu, ev)), shape=(n, n)),
        seg_a=seg_a,
        seg_b=seg_b,
        w_ab=w_ab,
        w_ba=w_ba,
        len_ab=len_ab,
        len_ba=len_ba,
        seg_highway=fine.highway[first_piece],
        seg_name=fine.name[first_piece],
        lines=lines,
        tree=shapely.STRtree(lines),
        n_way_nodes=int(in_scc.sum()),
    )


_ARRAYS = (
    "osmid", "lon", "lat", "x", "y", "src", "dst", "time_s", "length_m", "edge_seg", "edge_fwd",
    "seg_a", "seg_b", "w_ab", "w_ba", "len_ab", "len_ba",
)  # fmt: skip


def save_mode_graph(graph: ModeGraph, path: Path) -> None:
    """Write ``graph`` to an ``.npz`` file (no pickles): arrays, strings and line coordinates."""
    arrays = {name: getattr(graph, name) for name in _ARRAYS}
    arrays["seg_highway"] = graph.seg_highway.astype(str)
    arrays["seg_name"] = graph.seg_name.astype(str)
    arrays["line_xy"] = shapely.get_coordinates(graph.lines)
    arrays["line_n"] = shapely.get_num_coordinates(graph.lines)
    arrays["meta"] = np.array([graph.mode, str(graph.n_way_nodes)])
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def load_mode_graph(path: Path) -> ModeGraph:
    """Read a graph written by :func:`save_mode_graph`."""
    with np.load(path, allow_pickle=False) as data:
        values = {name: data[name] for name in _ARRAYS}
        counts = data["line_n"]
        lines = shapely.linestrings(
            data["line_xy"], indices=np.repeat(np.arange(len(counts)), counts)
        )
        mode, n_way_nodes = data["meta"].tolist()
        highway = data["seg_highway"].astype(object)
        name = data["seg_name"].astype(object)
    n = len(values["osmid"])
    return ModeGraph(
        mode=mode,
        csr=sp.csr_matrix((values["time_s"], (values["src"], values["dst"])), shape=(n, n)),
        seg_highway=highway,
        seg_name=name,
        lines=lines,
        tree=shapely.STRtree(lines),
        n_way_nodes=int(n_way_nodes),
        **values,
    )
