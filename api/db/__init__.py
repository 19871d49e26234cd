"""Persistence: tables, engines and migrations, spatial helpers."""

from .engine import Database as Database
from .engine import make_engine as make_engine
from .engine import migrate as migrate

__all__ = ["Database", "make_engine", "migrate"]
