"""Exceptions raised by :mod:`maps`."""

from __future__ import annotations

__all__ = ["ExportError", "MapsError"]


class MapsError(ValueError):
    """Base class for map and export errors."""


class ExportError(MapsError):
    """A plan cannot be exported in the requested format."""
