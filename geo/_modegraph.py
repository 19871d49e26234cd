"""The routable graph of one travel mode: arrays, a sparse matrix and a spatial index of street segments.

Private to :mod:`geo.network`. Nodes are numbered ``0..N-1`` (the largest strongly connected
component of the mode's streets); OSM node ids are kept alongside. Parallel edges between the same
two nodes are reduced to the fastest one, so the sparse matrix, the networkx export and the
matrices all describe the same graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components

from .errors import NetworkError
from .speeds import edge_speeds_kph

__all__ = ["ModeGraph", "build_mode_graph"]

_WALK_BOTH_WAYS = "walk"


@dataclass(frozen=True, eq=False)
class ModeGraph:
    """Routable graph of one mode (see module docstring).

    Directed edges ``src -> dst`` carry ``time_s`` and ``length_m``. Segments are the undirected
    street pieces ``a < b`` with ``w_ab``/``w_ba`` the travel time in each direction (``inf`` where
    that direction is not allowed) and ``len_ab``/``len_ba`` the matching lengths.
    """

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
    speed_kph: np.ndarray
    highway: np.ndarray
    name: np.ndarray
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
    max_speed_mps: float

    @property
    def n_nodes(self) -> int:
        """Number of routable nodes."""
        return len(self.osmid)


def _directed_rows(edges: pd.DataFrame, mode: str, speed: np.ndarray) -> pd.DataFrame:
    """Edges usable by the mode, with reverse copies where the mode may ignore ``oneway``."""
    usable = ~np.isnan(speed)
    rows = edges.loc[usable, ["u", "v", "length_m", "highway", "name", "oneway"]].copy()
    rows["speed_kph"] = speed[usable]
    if "oneway_bicycle" in edges.columns:
        rows["contraflow"] = edges.loc[usable, "oneway_bicycle"].str.lower() == "no"
    else:
        rows["contraflow"] = False
    if mode == _WALK_BOTH_WAYS:
        back = rows[rows["oneway"]]
    elif mode == "bike":
        back = rows[rows["oneway"] & rows["contraflow"]]
    else:
        back = rows.iloc[0:0]
    back = back.rename(columns={"u": "v", "v": "u"})
    return pd.concat([rows, back], ignore_index=True)


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
    # the fastest of parallel edges wins
    order = np.lexsort((time_s, v, u))
    u, v, time_s = u[order], v[order], time_s[order]
    rows = rows.iloc[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, time_s, rows = u[first], v[first], time_s[first], rows[first]

    n_all = len(osmid_all)
    graph = sp.csr_matrix((np.ones(len(u)), (u, v)), shape=(n_all, n_all))
    _, labels = connected_components(graph, directed=True, connection="strong")
    counts = np.bincount(labels[np.unique(np.concatenate([u, v]))], minlength=labels.max() + 1)
    keep_label = int(np.argmax(counts))
    in_scc = labels == keep_label
    keep = in_scc[u] & in_scc[v]
    u, v, time_s, rows = u[keep], v[keep], time_s[keep], rows[keep]
    kept_nodes = np.flatnonzero(in_scc)
    renumber = np.full(n_all, -1, dtype=np.int64)
    renumber[kept_nodes] = np.arange(len(kept_nodes))
    u, v = renumber[u], renumber[v]
    n = len(kept_nodes)
    x_all, y_all = xy
    x, y = x_all[kept_nodes], y_all[kept_nodes]
    length_m = rows["length_m"].to_numpy(dtype=float)
    csr = sp.csr_matrix((time_s, (u, v)), shape=(n, n))

    # undirected segments a < b with the time and length of each direction
    a, b = np.minimum(u, v), np.maximum(u, v)
    forward = u < v
    seg_key = a * n + b
    keys, seg_index = np.unique(seg_key, return_inverse=True)
    n_seg = len(keys)
    w_ab = np.full(n_seg, np.inf)
    w_ba = np.full(n_seg, np.inf)
    len_ab = np.full(n_seg, np.nan)
    len_ba = np.full(n_seg, np.nan)
    w_ab[seg_index[forward]] = time_s[forward]
    len_ab[seg_index[forward]] = length_m[forward]
    w_ba[seg_index[~forward]] = time_s[~forward]
    len_ba[seg_index[~forward]] = length_m[~forward]
    seg_a, seg_b = keys // n, keys % n
    highway = rows["highway"].to_numpy(dtype=object)
    name = rows["name"].to_numpy(dtype=object)
    seg_highway = np.empty(n_seg, dtype=object)
    seg_name = np.empty(n_seg, dtype=object)
    seg_highway[seg_index] = highway
    seg_name[seg_index] = name
    coords = np.stack(
        [np.stack([x[seg_a], y[seg_a]], axis=1), np.stack([x[seg_b], y[seg_b]], axis=1)], axis=1
    )
    lines = shapely.linestrings(coords)
    speed_mps = length_m / np.maximum(time_s, 1e-9)
    return ModeGraph(
        mode=mode,
        osmid=osmid_all[kept_nodes],
        lon=nodes["lon"].to_numpy()[kept_nodes],
        lat=nodes["lat"].to_numpy()[kept_nodes],
        x=x,
        y=y,
        src=u,
        dst=v,
        time_s=time_s,
        length_m=length_m,
        speed_kph=rows["speed_kph"].to_numpy(dtype=float),
        highway=highway,
        name=name,
        csr=csr,
        seg_a=seg_a,
        seg_b=seg_b,
        w_ab=w_ab,
        w_ba=w_ba,
        len_ab=len_ab,
        len_ba=len_ba,
        seg_highway=seg_highway,
        seg_name=seg_name,
        lines=lines,
        tree=shapely.STRtree(lines),
        max_speed_mps=float(speed_mps.max()),
    )
