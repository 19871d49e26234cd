"""Entry point of the ``patrolgrid`` command.

Each command lives in its own module under :mod:`api.commands` and registers itself on the
shared :data:`api.commands._app.app` when imported here.
"""

from __future__ import annotations

from api.commands import _app
from api.commands import demo as _demo  # noqa: F401  (registers `demo`)

app = _app.app

__all__ = ["app", "main"]


def main() -> None:
    """Run the ``patrolgrid`` command line."""
    app()


if __name__ == "__main__":
    main()
