"""What snapping points to the streets returns (:meth:`geo.network.Network.snap`,
:meth:`geo.network.Network.stop_in_polygon`); re-exported by :mod:`geo.network`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Snap", "StreetStop"]


@dataclass(frozen=True, eq=False)
class Snap:
    """Where points land on the routable streets of one mode.

    Attributes
    ----------
    node
        OSM id of the nearer end node of the snapped segment (int64 array).
    distance_m
        Straight-line distance from each point to its snapped position.
    far
        True where ``distance_m > max_snap_m``: the point is not routed.
    lon, lat
        The snapped positions (EPSG:4326), on the street.
    u, v
        OSM ids of the snapped segment's end nodes.
    fraction
        Position along ``u -> v`` (0 at ``u``, 1 at ``v``).
    max_snap_m
        The threshold used for ``far``.
    """

    node: np.ndarray
    distance_m: np.ndarray
    far: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    fraction: np.ndarray
    max_snap_m: float
    segment: np.ndarray

    def __len__(self) -> int:
        return len(self.node)


class StreetStop(tuple[float, float]):
    """A ``(lon, lat)`` point on a routable street, with how it was found.

    Unpacks as ``lon, lat = stop``; ``stop.inside`` is False when the polygon holds no routable
    street and the point is the nearest street point outside it, ``stop.distance_m`` metres away.
    """

    inside: bool
    distance_m: float

    def __new__(cls, lon: float, lat: float, *, inside: bool, distance_m: float) -> StreetStop:
        stop = super().__new__(cls, (float(lon), float(lat)))
        stop.inside = inside
        stop.distance_m = float(distance_m)
        return stop

    @property
    def lon(self) -> float:
        """Longitude (EPSG:4326)."""
        return self[0]

    @property
    def lat(self) -> float:
        """Latitude (EPSG:4326)."""
        return self[1]
