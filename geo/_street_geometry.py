"""Where points meet a mode's streets, in the network's metric CRS.

Private to :mod:`geo.network`, which converts to and from EPSG:4326 around these functions:
the nearest routable segment of each point (:meth:`geo.network.Network.snap`), a street point
inside a polygon (:meth:`geo.network.Network.stop_in_polygon`), and the street line of a route
through snapped points (:meth:`geo.network.Network.path`).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import shapely
import shapely.ops
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from ._modegraph import ModeGraph
from ._routing import Positions, route_nodes

__all__ = ["nearest_segments", "route_line", "street_point_in"]


def nearest_segments(
    graph: ModeGraph, pts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The nearest routable segment of each point.

    Parameters
    ----------
    graph
        The mode's routing graph.
    pts
        Shapely points in the graph's metric CRS.

    Returns
    -------
    tuple of numpy.ndarray
        ``(segment, distance_m, fraction, spot)``: segment index, distance to it, position
        along ``a -> b`` (0..1) and the snapped point (shapely, metric CRS).
    """
    if len(pts):
        idx, dist = graph.tree.query_nearest(pts, return_distance=True, all_matches=False)
        seg = np.empty(len(pts), dtype=np.int64)
        seg[idx[0]] = idx[1]
        distance = np.empty(len(pts))
        distance[idx[0]] = dist
    else:
        seg, distance = np.empty(0, dtype=np.int64), np.empty(0)
    lines = graph.lines[seg]
    t = np.clip(shapely.line_locate_point(lines, pts, normalized=True), 0.0, 1.0)
    t = np.nan_to_num(t)
    spot = shapely.line_interpolate_point(lines, t, normalized=True)
    return seg, distance, t, spot


def street_point_in(
    graph: ModeGraph, poly: BaseGeometry, target: Point
) -> tuple[Point, bool, float]:
    """The routable street point inside ``poly`` closest to ``target`` (all in metric CRS).

    Returns
    -------
    tuple
        ``(spot, inside, distance_m)``; ``inside`` is False when no routable street crosses
        ``poly`` (then ``spot`` is the nearest street point to it, ``distance_m`` away).
    """
    cands = graph.tree.query(poly, predicate="intersects")
    if len(cands):
        pieces = shapely.intersection(graph.lines[cands], poly)
        dist = shapely.distance(pieces, target)
        best = int(np.argmin(dist))
        return shapely.ops.nearest_points(pieces[best], target)[0], True, 0.0
    best_seg = int(graph.tree.query_nearest(poly, all_matches=False)[0])
    spot = shapely.ops.nearest_points(graph.lines[best_seg], poly)[0]
    return spot, False, float(shapely.distance(spot, poly))


def route_line(graph: ModeGraph, pos: Positions) -> np.ndarray:
    """Coordinates (metric CRS) of the fastest route through the snapped points, in order.

    The line starts at the first position on its segment, follows the streets through each
    position and ends at the last one; repeated consecutive coordinates are dropped (a single
    point is returned twice, so the result always makes a LineString).
    """
    lookup = graph.edge_lookup()
    pieces: list[np.ndarray] = []
    for k, nodes in enumerate(route_nodes(graph, pos)):
        s0, t0 = int(pos.seg[k]), float(pos.t[k])
        s1, t1 = int(pos.seg[k + 1]), float(pos.t[k + 1])
        if nodes is None:
            pieces.append(_along(graph.lines[s0], t0, t1))
            continue
        a0, b0 = graph.seg_a[s0], graph.seg_b[s0]
        leave_back = (
            nodes[0] == a0 if a0 != b0 else t0 * graph.w_ba[s0] <= (1 - t0) * graph.w_ab[s0]
        )
        pieces.append(_along(graph.lines[s0], t0, 0.0 if leave_back else 1.0))
        for hop_u, hop_v in pairwise(nodes):
            edge = lookup[(hop_u, hop_v)]
            seg = int(graph.edge_seg[edge])
            pieces.append(
                _along(graph.lines[seg], *((0.0, 1.0) if graph.edge_fwd[edge] else (1.0, 0.0)))
            )
        a1, b1 = graph.seg_a[s1], graph.seg_b[s1]
        enter_a = nodes[-1] == a1 if a1 != b1 else t1 * graph.w_ab[s1] <= (1 - t1) * graph.w_ba[s1]
        pieces.append(_along(graph.lines[s1], 0.0 if enter_a else 1.0, t1))
    xy = np.concatenate(pieces)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
    xy = xy[keep]
    if len(xy) == 1:
        xy = np.vstack([xy, xy])
    return xy


def _along(line: LineString, t0: float, t1: float) -> np.ndarray:
    """Coordinates of ``line`` from fraction ``t0`` to ``t1`` (reversed when ``t1 < t0``)."""
    if t0 == t1:
        return shapely.get_coordinates(shapely.line_interpolate_point(line, t0, normalized=True))
    piece = shapely.ops.substring(line, min(t0, t1), max(t0, t1), normalized=True)
    coords = shapely.get_coordinates(piece)
    return coords[::-1] if t1 < t0 else coords
