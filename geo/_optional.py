"""Packages of the optional extras, imported where they are used.

The core install (``pip install patrolgrid``) runs the demo, the CLI and the API on SQLite;
the extras add the rest (see ``pyproject.toml``). :func:`require` imports a module of an extra
and, when it is not installed, raises :class:`MissingExtraError` naming the extra to install.

>>> require("math", "scale").sqrt(4.0)
2.0
>>> require("not_a_module_anywhere", "scale")
Traceback (most recent call last):
...
geo._optional.MissingExtraError: not_a_module_anywhere is not installed: pip install 'patrolgrid[scale]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "missing_extra_message", "require"]

#: Top-level module -> the extra that installs it.
EXTRAS: dict[str, str] = {
    "dask": "scale",
    "dask_geopandas": "scale",
    "distributed": "scale",
    "psycopg": "postgres",
    "geoalchemy2": "postgres",
    "sklearn": "ml",
    "libpysal": "pysal",
    "esda": "pysal",
}


class MissingExtraError(ModuleNotFoundError):
    """A module of an optional extra is not installed; the message names the extra."""


def missing_extra_message(module: str, extra: str | None = None) -> str:
    """``"<module> is not installed: pip install 'patrolgrid[<extra>]'"``."""
    extra = extra or EXTRAS.get(module.split(".")[0], "test")
    return f"{module} is not installed: pip install 'patrolgrid[{extra}]'"


def require(module: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` (of the extra ``extra``, by default the one :data:`EXTRAS` names).

    Raises
    ------
    MissingExtraError
        When it is not installed.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not module.startswith(error.name):
            raise  # the module is there but one of its own imports failed
        raise MissingExtraError(missing_extra_message(module, extra), name=module) from None
