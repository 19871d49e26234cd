"""Base map settings: none (streets drawn from the data), an intranet XYZ URL, or a provider.

Chinese commercial tiles (AMap/Gaode, Tencent) are drawn in GCJ-02; on such a base map every
overlay is shifted from WGS84 to GCJ-02 so grids and routes sit on the right streets, but only
inside mainland China (decided by :mod:`geo.crs`, with a polygon, not a rectangle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from .errors import MapsError

__all__ = ["PROVIDERS", "Basemap", "resolve_basemap"]

Shift = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Basemap:
    """A base map choice.

    Parameters
    ----------
    name
        Name in the layer control.
    url
        XYZ template (``{z}/{x}/{y}``, optional ``{s}``), or ``None`` for no tiles.
    attribution
        Attribution text the provider requires.
    gcj02
        Whether the tiles are drawn in GCJ-02 (overlays are shifted inside mainland China).
    subdomains
        Values of ``{s}``.
    max_native_zoom
        Highest zoom the server has tiles for.
    """

    name: str
    url: str | None = None
    attribution: str = ""
    gcj02: bool = False
    subdomains: str = "abc"
    max_native_zoom: int = 18

    def shift_function(self) -> Shift:
        """``(lon, lat) -> (lon, lat)`` arrays in the tiles' datum (identity unless GCJ-02)."""
        if not self.gcj02:
            return lambda lon, lat: (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        try:
            from geo import crs as geo_crs
        except ImportError as exc:  # pragma: no cover - geo.crs lands with the geo package
            msg = f"base map {self.name!r} is GCJ-02 but geo.crs is not available ({exc})"
            raise MapsError(msg) from None
        return geo_crs.to_gcj02

    def shift_geometries(self, geometries: np.ndarray) -> np.ndarray:
        """Geometries moved into the tiles' datum (unchanged unless GCJ-02)."""
        if not self.gcj02:
            return np.asarray(geometries, dtype=object)
        shift = self.shift_function()

        def move(coords: np.ndarray) -> np.ndarray:
            lon, lat = shift(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(np.asarray(geometries, dtype=object), move)


#: Named tile providers for networks that may reach them.
PROVIDERS: dict[str, Basemap] = {
    "osm": Basemap(
        "OpenStreetMap",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "&copy; OpenStreetMap contributors",
        max_native_zoom=19,
    ),
    "amap": Basemap(
        "AMap",
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "&copy; AutoNavi",
        gcj02=True,
        subdomains="1234",
    ),
    "tencent": Basemap(
        "Tencent",
        "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&type=vector&styleid=0",
        "&copy; Tencent",
        gcj02=True,
        subdomains="0123",
    ),
}


def resolve_basemap(value: str | Basemap | None) -> Basemap:
    """Turn a ``--basemap`` setting into a :class:`Basemap`.

    Parameters
    ----------
    value
        ``None`` or ``"none"`` (no tiles: streets drawn from the .osm data), a key of
        :data:`PROVIDERS`, an XYZ URL template (``http(s)://.../{z}/{x}/{y}...``; append
        ``#gcj02`` for an intranet server of GCJ-02 tiles), or a :class:`Basemap`.

    Returns
    -------
    Basemap
        The resolved setting.
    """
    if isinstance(value, Basemap):
        return value
    if value is None or value.strip().lower() in ("", "none"):
        return Basemap("none")
    key = value.strip().lower()
    if key in PROVIDERS:
        return PROVIDERS[key]
    if "{z}" in value and "{x}" in value:
        url, _, flag = value.partition("#")
        return Basemap("tiles", url, "intranet tiles", gcj02=flag.lower() == "gcj02")
    msg = (
        f"unknown base map {value!r}; use none, one of {', '.join(PROVIDERS)}, "
        "or an XYZ URL template with {z}/{x}/{y}"
    )
    raise MapsError(msg)
