"""``patrolgrid serve``: run the HTTP service with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from api.commands._app import app, cli_errors, fail


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the API (settings from PATROLGRID_*; migrations are applied on start)."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    with cli_errors():
        try:
            settings = Settings()
            application = create_app(settings)
        except (RuntimeError, ValueError) as exc:
            raise fail(str(exc)) from None
        uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)
