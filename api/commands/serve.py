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
    """Serve the API (settings from PATROLGRID_*; migrations are applied on start).

    With PATROLGRID_PLAN_SCHEDULER set, plan solves run on that Dask cluster; a scheduler that
    does not answer stops the start with an error naming it."""
    import uvicorn

    from api.app import create_app
    from api.services.plan_executor import PlanExecutor
    from api.settings import Settings

    with cli_errors():
        try:
            settings = Settings()
            application = create_app(settings)
            if settings.plan_scheduler is not None:  # one line, not uvicorn's startup traceback
                PlanExecutor.start(
                    scheduler=settings.plan_scheduler,
                    workers=1,
                    timeout_s=settings.plan_scheduler_timeout_s,
                ).close()
        except (RuntimeError, ValueError) as exc:
            raise fail(str(exc)) from None
        uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)
