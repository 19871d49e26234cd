"""Colours shared by the map, the report and the exports."""

from __future__ import annotations

__all__ = ["RISK_COLORS", "UNIT_COLORS"]

#: Fill of grids with no risk, then five classes from low to high (ColorBrewer YlOrRd).
RISK_COLORS: tuple[str, ...] = ("#e8e8e8", "#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: One colour per unit, cycled.
UNIT_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#e377c2",
    "#17becf",
    "#8c564b",
    "#bcbd22",
    "#ff7f0e",
    "#7f7f7f",
    "#393b79",
)
