"""Exceptions raised by :mod:`geo`.

Every message names the file, row or field at fault and, where there is one, the fix.
"""

from __future__ import annotations

__all__ = ["CRSError", "GeoError", "GridError", "IncidentError", "NetworkError"]


class GeoError(ValueError):
    """Base class for bad geographic input (files, columns, coordinates)."""


class CRSError(GeoError):
    """A coordinate reference system is missing, unknown or implausible."""


class GridError(GeoError):
    """A grids file or grid frame is unusable."""


class IncidentError(GeoError):
    """An incidents file or frame is unusable."""


class NetworkError(GeoError):
    """A street network cannot be built, or a point cannot be routed."""
