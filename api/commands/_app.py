"""The one Typer application and the shared error handling of every command.

Command modules register themselves on :data:`app` (or add a sub-app to it); :mod:`api.cli`
imports them all. Bad input never shows a traceback: :func:`cli_errors` turns the libraries'
own exceptions into one line on stderr and exit code 2.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from geo._optional import EXTRAS, MissingExtraError, missing_extra_message
from geo.errors import GeoError
from maps.errors import MapsError
from planner.errors import PlannerError

__all__ = ["EXIT_BAD_INPUT", "app", "cli_errors", "console", "err_console", "fail"]

EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="patrolgrid",
    help="Grid mapping, hotspots and patrol planning for community policing.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

#: Exceptions that mean "the user's input is wrong", reported in one line.
USER_ERRORS: tuple[type[BaseException], ...] = (
    GeoError,
    PlannerError,
    MapsError,
    FileNotFoundError,
    IsADirectoryError,
    PermissionError,
)


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn the libraries' input errors into a one-line message and exit code 2."""
    try:
        yield
    except ModuleNotFoundError as exc:  # a package of an optional extra: name the extra
        if exc.name is None or exc.name.split(".")[0] not in EXTRAS:
            raise
        raise fail(
            str(exc) if isinstance(exc, MissingExtraError) else missing_extra_message(exc.name)
        ) from None
    except USER_ERRORS as exc:
        message = str(exc)
        if isinstance(exc, OSError) and exc.filename is not None:
            message = f"{exc.filename}: {exc.strerror or exc}"
        raise fail(message) from None
