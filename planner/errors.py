"""Exceptions raised by :mod:`planner`."""

from __future__ import annotations

__all__ = ["PlannerError", "ProblemError"]


class PlannerError(ValueError):
    """Base class for planning errors."""


class ProblemError(PlannerError):
    """A planning problem (units, stops, shift) is malformed."""
