"""Entry point of the ``patrolgrid`` command.

Each command lives in its own module under :mod:`api.commands` and registers itself on the
shared :data:`api.commands._app.app` when imported here.
"""

from __future__ import annotations

from api.commands import _app

# One import per command module; importing registers the command on the shared app.
from api.commands import bench as _bench  # noqa: F401
from api.commands import demo as _demo  # noqa: F401
from api.commands import departments as _departments  # noqa: F401
from api.commands import dosage as _dosage  # noqa: F401
from api.commands import export as _export  # noqa: F401
from api.commands import forecast as _forecast  # noqa: F401
from api.commands import grids as _grids  # noqa: F401
from api.commands import grids_build as _grids_build  # noqa: F401
from api.commands import grids_import as _grids_import  # noqa: F401
from api.commands import hotspots as _hotspots  # noqa: F401
from api.commands import join as _join  # noqa: F401
from api.commands import map as _map  # noqa: F401
from api.commands import plan as _plan  # noqa: F401
from api.commands import replan as _replan  # noqa: F401
from api.commands import serve as _serve  # noqa: F401
from api.commands import sla as _sla  # noqa: F401
from api.commands import token as _token  # noqa: F401
from api.commands import units as _units  # noqa: F401

app = _app.app

__all__ = ["app", "main"]


def main() -> None:
    """Run the ``patrolgrid`` command line."""
    app()


if __name__ == "__main__":
    main()
