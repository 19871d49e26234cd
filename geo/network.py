"""Street networks built offline from OpenStreetMap files, and travel times between points.

``load_network`` reads ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` (see :mod:`geo._osm_read`), clips it
to a polygon plus a buffer and caches the node and edge tables on disk. :class:`Network` then
serves the modes ``drive``, ``bike`` and ``walk``: speeds per ``highway`` type from an editable
table (:mod:`geo.speeds`), one-way streets respected when driving (and cycling, except
``oneway:bicycle=no``) but not when walking, and only the largest strongly connected part of each
mode's streets routable.

Points are snapped to the nearest routable street *segment* of the mode (not merely the nearest
node): the snapped position lies on the segment, and matrices start and end exactly there (the
remaining part of the segment is travelled at its speed, in a legal direction). Points farther
than ``max_snap_m`` from every routable street are flagged ``far`` and refused by the matrices
and paths, never silently routed. Matrices run compiled Dijkstra
(:func:`scipy.sparse.csgraph.dijkstra`) from the sources only; see ``docs/geo-network.md``.

Examples
--------
>>> net = load_network("temple_north_philly.osm")  # doctest: +SKIP
>>> net.travel_time_matrix([-75.155, -75.160], [39.981, 39.985], "drive")  # doctest: +SKIP
array([[  0. , 142.3], [131.9,   0. ]])
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import ArrayLike
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from ._modegraph import ModeGraph, build_mode_graph, load_mode_graph, save_mode_graph
from ._network_tables import as_polygon, network_tables
from ._routing import Positions, matrices
from ._snap import Snap as Snap
from ._snap import StreetStop as StreetStop
from ._street_geometry import nearest_segments, route_line, street_point_in
from .errors import NetworkError
from .speeds import MODES, load_speeds

if TYPE_CHECKING:
    from ._ch import Hierarchy

__all__ = ["Network", "Snap", "StreetStop", "load_network"]

Mode = Literal["drive", "bike", "walk"]
SnapTo = Literal["edge", "node"]
Engine = Literal["auto", "ch", "dijkstra"]
_GRAPH_VERSION = "mode-graph-1"
_CH_VERSION = "ch-1"
_CH_MIN_PAIRS = 10_000  # engine="auto": contraction hierarchy from K_s x K_t pairs up
#: engine="auto" builds a mode's contraction hierarchy once Dijkstra has run from this many
#: sources of that mode (this call's included): about what the build itself costs (measured:
#: 1,300 to 3,700 sources' worth, docs/geo-network.md). Renting until the rent paid equals the
#: price, then buying, never costs more than about twice the better choice made in hindsight,
#: and a first matrix of fewer sources is plain Dijkstra.
_CH_BUILD_SOURCES = 2_000


def _as_coords(
    lon: ArrayLike, lat: ArrayLike, what: str = "points"
) -> tuple[np.ndarray, np.ndarray]:
    lon_a = np.atleast_1d(np.asarray(lon, dtype=float))
    lat_a = np.atleast_1d(np.asarray(lat, dtype=float))
    if lon_a.shape != lat_a.shape or lon_a.ndim != 1:
        msg = f"{what}: lon and lat must be 1-D arrays of the same length ({lon_a.shape} vs {lat_a.shape})"
        raise NetworkError(msg)
    bad = ~(np.isfinite(lon_a) & np.isfinite(lat_a))
    bad |= (np.abs(lon_a) > 180) | (np.abs(lat_a) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"{what}: point {i} ({lon_a[i]}, {lat_a[i]}) is not a valid [lon, lat] in EPSG:4326; "
            "pass longitude first, in degrees"
        )
        raise NetworkError(msg)
    return lon_a, lat_a


@dataclass(frozen=True)
class _MatrixQuery:
    """What one matrix call asks for, besides its sources (see :meth:`Network.travel_time_matrix`).

    ``lengths`` also returns the metres of the fastest paths; the other fields are the public
    methods' options of the same names.
    """

    mode: Mode
    targets: tuple[ArrayLike, ArrayLike] | None = None
    snap_to: SnapTo = "edge"
    max_snap_m: float | None = None
    lengths: bool = False
    bounded: bool = True
    engine: Engine = "auto"


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        msg = f"travel mode {mode!r} is unknown; use one of {list(MODES)}"
        raise NetworkError(msg)


class Network:
    """A street network for the modes drive, bike and walk (build with :func:`load_network`).

    Parameters
    ----------
    nodes
        ``osmid`` (sorted, int64), ``lon``, ``lat``.
    edges
        Directed street edges as returned by :func:`geo._osm_read.read_osm`.
    source
        Where the network came from (for messages).
    speeds
        Speed table (:func:`geo.speeds.load_speeds`); ``None`` for the packaged defaults.
    maxspeed_share
        Share of a posted ``maxspeed`` a car averages.
    max_snap_m
        Default snap threshold: points farther from every routable street are ``far``.
    cache
        ``(folder, key)`` where each mode's routing graph is kept as ``.npz`` (the key names
        the source tables; the speed table and ``maxspeed_share`` are added to it).
    """

    def __init__(
        self,
        nodes: pd.DataFrame,
        edges: pd.DataFrame,
        *,
        source: str = "network",
        speeds: pd.DataFrame | None = None,
        maxspeed_share: float = 0.7,
        max_snap_m: float = 250.0,
        cache: tuple[Path, str] | None = None,
    ) -> None:
        if nodes.empty or edges.empty:
            msg = f"{source}: has no streets"
            raise NetworkError(msg)
        self.nodes = nodes.sort_values("osmid", kind="stable").reset_index(drop=True)
        self.edge_table = edges
        self.source = source
        self.speeds = load_speeds() if speeds is None else speeds
        self.maxspeed_share = float(maxspeed_share)
        self.max_snap_m = float(max_snap_m)
        lon, lat = self.nodes["lon"].to_numpy(), self.nodes["lat"].to_numpy()
        self.crs = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").estimate_utm_crs()
        self._fwd = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self._inv = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        self._xy = self._fwd.transform(lon, lat)
        self._graphs: dict[str, ModeGraph] = {}
        self._hierarchies: dict[str, Hierarchy] = {}
        self._dijkstra_sources: dict[str, int] = {}  # engine="auto": sources run per mode
        self._cache = cache

    def __repr__(self) -> str:
        return f"Network({self.source!r}, nodes={len(self.nodes)}, edges={len(self.edge_table)})"

    # ------------------------------------------------------------------ graphs
    def graph(self, mode: Mode) -> ModeGraph:
        """The routable graph of ``mode`` (built on first use, then kept, and cached on disk)."""
        _check_mode(mode)
        if mode in self._graphs:
            return self._graphs[mode]
        cached = self._graph_file(mode)
        if cached is not None and cached.is_file():
            self._graphs[mode] = load_mode_graph(cached)
            return self._graphs[mode]
        self._graphs[mode] = build_mode_graph(
            self.nodes,
            self.edge_table,
            mode,
            xy=(np.asarray(self._xy[0]), np.asarray(self._xy[1])),
            speeds=self.speeds,
            maxspeed_share=self.maxspeed_share,
        )
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            save_mode_graph(self._graphs[mode], cached)
        return self._graphs[mode]

    def _graph_file(self, mode: Mode, suffix: str = "npz") -> Path | None:
        if self._cache is None:
            return None
        folder, key = self._cache
        recipe = f"{_GRAPH_VERSION}|{key}|{mode}|{self.maxspeed_share!r}|{self.speeds.to_csv()}"
        return folder / f"{hashlib.sha256(recipe.encode()).hexdigest()[:32]}.{mode}.{suffix}"

    # ------------------------------------------------------------------ contraction hierarchy
    def hierarchy(self, mode: Mode) -> Hierarchy:
        """Contraction hierarchy of ``mode``'s routing graph (see :mod:`geo._ch`).

        Built on first use (seconds per 10,000 junctions), then kept, and cached on disk next
        to the routing graph (``.ch.npz``) when the network has a cache folder.
        """
        _check_mode(mode)
        if mode in self._hierarchies:
            return self._hierarchies[mode]
        from ._ch import graph_hierarchy, load_hierarchy, save_hierarchy  # numba: load on use

        graph = self.graph(mode)
        cached = self._graph_file(mode, f"{_CH_VERSION}.npz")
        if cached is not None and cached.is_file():
            self._hierarchies[mode] = load_hierarchy(cached)
        else:
            self._hierarchies[mode] = graph_hierarchy(graph)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                save_hierarchy(self._hierarchies[mode], cached)
        return self._hierarchies[mode]

    def _hierarchy_pays(self, mode: Mode, sources: int) -> bool:
        """Whether ``engine="auto"`` answers from the hierarchy: it is built, or cached on disk
        (loading it costs little), or the sources Dijkstra has run for this mode, with these,
        reach :data:`_CH_BUILD_SOURCES` (building it now pays)."""
        if mode in self._hierarchies:
            return True
        cached = self._graph_file(mode, f"{_CH_VERSION}.npz")
        if cached is not None and cached.is_file():
            return True
        return self._dijkstra_sources.get(mode, 0) + sources >= _CH_BUILD_SOURCES

    @property
    def area(self) -> shapely.Polygon:
        """Convex hull (EPSG:4326) of the network's street nodes."""
        pts = shapely.points(self.nodes["lon"].to_numpy(), self.nodes["lat"].to_numpy())
        hull = shapely.convex_hull(shapely.multipoints(pts))
        if not isinstance(hull, shapely.Polygon):
            hull = hull.buffer(1e-4)
        return hull

    def coverage(self, mode: Mode = "drive", *, reach_m: float = 150.0) -> BaseGeometry:
        """The area (EPSG:4326) within ``reach_m`` of a street routable by ``mode``.

        Tighter than :attr:`area` where an extract's ways run out past its bounds: grids made
        inside it have a street to place a stop on.
        """
        if reach_m <= 0:
            msg = f"coverage: reach_m must be > 0, got {reach_m}"
            raise NetworkError(msg)
        lines = self.edges(mode).to_crs(self.crs).geometry.to_numpy()
        covered = shapely.union_all(shapely.buffer(lines, reach_m, quad_segs=4))
        covered = shapely.simplify(covered, reach_m / 10)
        return shapely.transform(
            covered, lambda c: np.column_stack(self._inv.transform(c[:, 0], c[:, 1]))
        )

    def to_networkx(self, mode: Mode) -> nx.DiGraph:
        """The routable graph of ``mode`` as a networkx DiGraph.

        Nodes are OSM ids with ``x`` (lon) and ``y`` (lat); edges carry ``travel_time`` (s) and
        ``length`` (m), exactly the weights the matrices use.
        """
        g = self.graph(mode)
        out = nx.DiGraph(crs="EPSG:4326", mode=mode)
        out.add_nodes_from(
            (int(o), {"x": float(x), "y": float(y)})
            for o, x, y in zip(g.osmid, g.lon, g.lat, strict=True)
        )
        out.add_edges_from(
            (int(g.osmid[u]), int(g.osmid[v]), {"travel_time": float(t), "length": float(m)})
            for u, v, t, m in zip(g.src, g.dst, g.time_s, g.length_m, strict=True)
        )
        return out

    def edges(self, mode: Mode) -> gpd.GeoDataFrame:
        """Routable street segments of ``mode`` for drawing (one row per segment, EPSG:4326).

        A segment runs between two junctions (pass-through nodes merged). Columns: ``u``, ``v``
        (OSM ids of its ends), ``highway``, ``name``, ``oneway`` (only one direction is open to
        the mode), ``length_m``, ``time_uv_s`` and ``time_vu_s`` (``inf`` where closed),
        ``geometry`` (LineString). Row ``i`` is segment ``i`` of :attr:`Snap.segment`.
        """
        g = self.graph(mode)
        return gpd.GeoDataFrame(
            {
                "u": g.osmid[g.seg_a],
                "v": g.osmid[g.seg_b],
                "highway": g.seg_highway,
                "name": g.seg_name,
                "oneway": ~(np.isfinite(g.w_ab) & np.isfinite(g.w_ba)),
                "length_m": np.fmin(g.len_ab, g.len_ba),
                "time_uv_s": g.w_ab,
                "time_vu_s": g.w_ba,
            },
            geometry=self._to_lonlat(g.lines),
            crs="EPSG:4326",
        )

    def _to_lonlat(self, geoms: np.ndarray) -> np.ndarray:
        def inv(c: np.ndarray) -> np.ndarray:
            return np.column_stack(self._inv.transform(c[:, 0], c[:, 1]))

        return shapely.transform(geoms, inv)

    # ------------------------------------------------------------------ snapping
    def snap(
        self, lon: ArrayLike, lat: ArrayLike, mode: Mode, *, max_snap_m: float | None = None
    ) -> Snap:
        """Snap points to the nearest routable street segment of ``mode``.

        Parameters
        ----------
        lon, lat
            Points in EPSG:4326.
        mode
            ``"drive"``, ``"bike"`` or ``"walk"``.
        max_snap_m
            Threshold for ``far`` (default: the network's ``max_snap_m``).
        """
        lon_a, lat_a = _as_coords(lon, lat)
        g = self.graph(mode)
        limit = self.max_snap_m if max_snap_m is None else float(max_snap_m)
        x, y = self._fwd.transform(lon_a, lat_a)
        seg, distance, t, spot = nearest_segments(g, shapely.points(x, y))
        a, b = g.seg_a[seg], g.seg_b[seg]
        slon, slat = self._inv.transform(shapely.get_x(spot), shapely.get_y(spot))
        return Snap(
            node=np.where(t <= 0.5, g.osmid[a], g.osmid[b]),
            distance_m=distance,
            far=distance > limit,
            lon=np.asarray(slon, dtype=float),
            lat=np.asarray(slat, dtype=float),
            u=g.osmid[a],
            v=g.osmid[b],
            fraction=t,
            max_snap_m=limit,
            segment=seg,
        )

    def _positions(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        mode: Mode,
        snap_to: SnapTo,
        max_snap_m: float | None,
        what: str,
    ) -> tuple[Snap, Positions]:
        if snap_to not in ("edge", "node"):
            msg = f"snap_to={snap_to!r} is unknown; use 'edge' or 'node'"
            raise NetworkError(msg)
        snap = self.snap(lon, lat, mode, max_snap_m=max_snap_m)
        if snap.far.any():
            bad = np.flatnonzero(snap.far)
            shown = ", ".join(f"{i} ({snap.distance_m[i]:.0f} m)" for i in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            msg = (
                f"{what}: {len(bad)} point(s) lie farther than {snap.max_snap_m:.0f} m from any "
                f"street open to {mode!r} in {self.source}: index {shown}{more}; drop them "
                "(see Network.snap(...).far), load a network that covers them, or raise max_snap_m"
            )
            raise NetworkError(msg)
        t = snap.fraction if snap_to == "edge" else np.where(snap.fraction <= 0.5, 0.0, 1.0)
        return snap, Positions(seg=snap.segment, t=t)

    # ------------------------------------------------------------------ matrices
    def _matrices(
        self, lon: ArrayLike, lat: ArrayLike, query: _MatrixQuery
    ) -> tuple[np.ndarray, np.ndarray | None]:
        mode, engine = query.mode, query.engine
        if engine not in ("auto", "ch", "dijkstra"):
            msg = f"engine={engine!r} is unknown; use 'auto', 'ch' or 'dijkstra'"
            raise NetworkError(msg)
        _, src = self._positions(lon, lat, mode, query.snap_to, query.max_snap_m, "sources")
        if query.targets is None:
            tgt = src
        else:
            tlon, tlat = query.targets
            _, tgt = self._positions(tlon, tlat, mode, query.snap_to, query.max_snap_m, "targets")
        if engine == "auto":
            large = len(src.seg) * len(tgt.seg) >= _CH_MIN_PAIRS
            engine = "ch" if large and self._hierarchy_pays(mode, len(src.seg)) else "dijkstra"
            if engine == "dijkstra":
                self._dijkstra_sources[mode] = self._dijkstra_sources.get(mode, 0) + len(src.seg)
        if engine == "ch":
            from ._ch_query import point_matrices

            times, all_dists = point_matrices(self.graph(mode), self.hierarchy(mode), src, tgt)
            dists = all_dists if query.lengths else None
        else:
            times, dists = matrices(
                self.graph(mode), src, tgt, lengths=query.lengths, bounded=query.bounded
            )
        if not np.isfinite(times).all():  # pragma: no cover - strongly connected by construction
            i, j = np.argwhere(~np.isfinite(times))[0]
            msg = f"{self.source}: no {mode} route from source {i} to target {j}"
            raise NetworkError(msg)
        return times, dists

    def travel_time_matrix(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        mode: Mode,
        *,
        targets: tuple[ArrayLike, ArrayLike] | None = None,
        snap_to: SnapTo = "edge",
        max_snap_m: float | None = None,
        bounded: bool = True,
        engine: Engine = "auto",
    ) -> np.ndarray:
        """Fastest travel times (seconds) between snapped points.

        Parameters
        ----------
        lon, lat
            Sources in EPSG:4326.
        mode
            ``"drive"``, ``"bike"`` or ``"walk"``.
        targets
            ``(lon, lat)`` of the targets; default: the sources (a square matrix).
        snap_to
            ``"edge"`` (default): start and end at the snapped position on the segment;
            ``"node"``: at the segment's nearer end node (the networkx-comparable variant).
        max_snap_m
            Points farther than this from any routable street raise :class:`NetworkError`.
        bounded
            Stop each search at a proven bound on the farthest target (exact; faster when the
            points cover a small part of the network). ``False`` searches the whole graph.
            Dijkstra engine only.
        engine
            ``"dijkstra"``: scipy's compiled Dijkstra from each source; ``"ch"``: bucket
            queries on the mode's contraction hierarchy (:meth:`hierarchy`, built once); the
            same times within 1e-9 s. ``"auto"`` (default) takes the hierarchy from
            ``K_sources x K_targets >= 10,000`` pairs up.

        Returns
        -------
        numpy.ndarray
            ``K_sources x K_targets`` float seconds, all finite.
        """
        query = _MatrixQuery(mode, targets, snap_to, max_snap_m, False, bounded, engine)
        times, _ = self._matrices(lon, lat, query)
        return times

    def distance_matrix(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        mode: Mode,
        *,
        targets: tuple[ArrayLike, ArrayLike] | None = None,
        snap_to: SnapTo = "edge",
        max_snap_m: float | None = None,
        engine: Engine = "auto",
    ) -> np.ndarray:
        """Length (metres) of the fastest path between snapped points (same paths as the times).

        Parameters are those of :meth:`travel_time_matrix`.
        """
        return self.matrices(
            lon, lat, mode, targets=targets, snap_to=snap_to, max_snap_m=max_snap_m, engine=engine
        )[1]

    def matrices(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        mode: Mode,
        *,
        targets: tuple[ArrayLike, ArrayLike] | None = None,
        snap_to: SnapTo = "edge",
        max_snap_m: float | None = None,
        engine: Engine = "auto",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both matrices from one search: ``(seconds, metres)`` of the fastest paths."""
        query = _MatrixQuery(mode, targets, snap_to, max_snap_m, lengths=True, engine=engine)
        times, dists = self._matrices(lon, lat, query)
        assert dists is not None
        return times, dists

    # ------------------------------------------------------------------ paths
    def path(
        self, lon: ArrayLike, lat: ArrayLike, mode: Mode, *, max_snap_m: float | None = None
    ) -> LineString:
        """Street geometry (EPSG:4326) of the fastest route visiting the points in order.

        The line starts at the first point's snapped position, follows the streets through each
        snapped point and ends at the last one.
        """
        lon_a, lat_a = _as_coords(lon, lat)
        if len(lon_a) < 2:
            msg = "path: needs at least two points"
            raise NetworkError(msg)
        _, pos = self._positions(lon_a, lat_a, mode, "edge", max_snap_m, "path")
        xy = route_line(self.graph(mode), pos)
        lon_p, lat_p = self._inv.transform(xy[:, 0], xy[:, 1])
        return LineString(np.column_stack([lon_p, lat_p]))

    # ------------------------------------------------------------------ stops
    def stop_in_polygon(
        self,
        polygon: BaseGeometry,
        mode: Mode,
        *,
        near: tuple[float, float] | Sequence[float] | None = None,
    ) -> StreetStop:
        """A routable street point inside ``polygon`` (EPSG:4326), closest to ``near``.

        Parameters
        ----------
        polygon
            The grid (Polygon or MultiPolygon, EPSG:4326).
        mode
            Travel mode whose routable streets count.
        near
            ``(lon, lat)`` to be close to (e.g. the grid's incident-weighted centre); default the
            polygon's representative point (always inside it).

        Returns
        -------
        StreetStop
            ``(lon, lat)`` on a routable street; ``inside`` False when no routable street crosses
            the polygon (then the nearest street point to it, ``distance_m`` away).
        """
        if not isinstance(polygon, BaseGeometry) or polygon.is_empty:
            msg = "stop_in_polygon: polygon must be a non-empty shapely geometry in EPSG:4326"
            raise NetworkError(msg)
        g = self.graph(mode)
        poly = shapely.transform(
            polygon, lambda c: np.column_stack(self._fwd.transform(c[:, 0], c[:, 1]))
        )
        if near is None:
            target = poly.representative_point()
        else:
            nx_, ny_ = self._fwd.transform(float(near[0]), float(near[1]))
            target = Point(nx_, ny_)
        spot, inside, away = street_point_in(g, poly, target)
        lon, lat = self._inv.transform(spot.x, spot.y)
        return StreetStop(lon, lat, inside=inside, distance_m=away)


def load_network(
    path: str | Path,
    *,
    polygon: BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    buffer_m: float = 500.0,
    cache_dir: str | Path | None = None,
    speeds: str | Path | pd.DataFrame | None = None,
    maxspeed_share: float = 0.7,
    max_snap_m: float = 250.0,
) -> Network:
    """Build a street network from an OpenStreetMap file, offline.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf``.
    polygon
        Keep only streets within this area (EPSG:4326) plus ``buffer_m``; default: everything.
    buffer_m
        Buffer around ``polygon`` in metres, so routes may leave the area a little.
    cache_dir
        Folder for the parsed node and edge tables (Parquet), keyed by the file's SHA-256 and
        the clip options, and for each mode's routing graph (``.npz``, keyed also by the speed
        table); a second load reads them instead of the OSM file.
    speeds
        Speed table (CSV path or frame from :func:`geo.speeds.load_speeds`); default packaged.
    maxspeed_share
        Share of a posted ``maxspeed`` a car averages.
    max_snap_m
        Points farther than this from a routable street are ``far`` (not routed).

    Returns
    -------
    Network

    Raises
    ------
    NetworkError
        Unreadable file, no streets, or a polygon that misses the network.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"street network file {path} does not exist"
        raise NetworkError(msg)
    clip = None if polygon is None else as_polygon(polygon)
    table = speeds if isinstance(speeds, pd.DataFrame) or speeds is None else load_speeds(speeds)
    nodes, edges, cache_files = network_tables(path, clip, buffer_m, cache_dir)
    return Network(
        nodes,
        edges,
        source=str(path),
        speeds=table,
        maxspeed_share=maxspeed_share,
        max_snap_m=max_snap_m,
        cache=None if cache_files is None else (cache_files[0].parent, cache_files[0].name),
    )
