"""``patrolgrid sla run``: one SLA sweep (escalate overdue incidents, deliver webhooks), for cron."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from api.commands._app import app, cli_errors, console, fail

sla_app = typer.Typer(
    help="Service-level agreements: escalation of overdue work.", no_args_is_help=True
)
app.add_typer(sla_app, name="sla")


@sla_app.command("run")
def run(
    now: Annotated[
        str | None, typer.Option(help="Sweep as of this ISO 8601 time (default: now).")
    ] = None,
) -> None:
    """Escalate every overdue incident once and deliver due webhooks; print a JSON summary.

    Settings come from PATROLGRID_* (database, stage limits, departments file, webhook URL and
    secret); the server runs the same sweep every PATROLGRID_SLA_INTERVAL_S seconds.
    """
    from api.db.engine import Database
    from api.services.loop_config import LoopConfigError, load_departments
    from api.services.sla import sweep
    from api.settings import Settings

    with cli_errors():
        try:
            settings = Settings()
            load_departments(settings.departments_path)
            when = None
            if now is not None:
                when = datetime.fromisoformat(now)
                if when.tzinfo is None:
                    raise fail("--now: needs its time zone (Z or +HH:MM)")
        except (LoopConfigError, ValueError) as exc:
            raise fail(str(exc)) from None
        database = Database(settings.database_url, schema=settings.db_schema)
        try:
            database.migrate()
            result = sweep(database, settings, now=when)
        finally:
            database.dispose()
        console.print(json.dumps(result.as_dict()), highlight=False, soft_wrap=True)
