"""``patrolgrid departments report``: a department's open work as an offline HTML report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from api.commands._app import app, cli_errors, console, fail

departments_app = typer.Typer(help="City departments: their open work.", no_args_is_help=True)
app.add_typer(departments_app, name="departments")


@departments_app.command("report")
def report(
    code: Annotated[str, typer.Option("--code", help="Department code (the departments file).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")],
    now: Annotated[
        str | None,
        typer.Option(
            help="Report as of this ISO 8601 time (decides what is overdue; default: now)."
        ),
    ] = None,
    lang: Annotated[str, typer.Option(help="Labels: en or zh.")] = "en",
) -> None:
    """Write a department's open incidents (state, dispatched, stage due), escalated first,
    then overdue, then by due time; reads the database like ``patrolgrid sla run``."""
    from api.auth import Principal
    from api.db.engine import Database
    from api.services.departments import open_work_table
    from api.services.loop_config import LoopConfigError, load_departments
    from api.settings import Settings
    from maps.work_report import save_work_report

    with cli_errors():
        try:
            settings = Settings()
            departments = load_departments(settings.departments_path)
            when = datetime.now(UTC)
            if now is not None:
                when = datetime.fromisoformat(now)
                if when.tzinfo is None:
                    raise fail("--now: needs its time zone (Z or +HH:MM)")
        except (LoopConfigError, ValueError) as exc:
            raise fail(str(exc)) from None
        if code not in departments:
            raise fail(f"--code: {code!r} is not a department (known: {', '.join(departments)})")
        if lang not in ("en", "zh"):
            raise fail(f"--lang: {lang!r}: use en or zh")
        department = departments[code]
        database = Database(settings.database_url, schema=settings.db_schema)
        try:
            database.migrate()
            work = open_work_table(database, Principal(role="admin", subject="cli"), code)
        finally:
            database.dispose()
        save_work_report(
            work,
            out,
            department=code,
            name=department.name_zh if lang == "zh" else department.name_en,
            now=when,
            timezone=settings.timezone,
            lang=lang,
        )
    overdue = int((work["due_at"] < when).sum()) if len(work) else 0
    console.print(
        f"{code}: {len(work)} open incidents, {overdue} overdue, "
        f"{int(work['escalated_at'].notna().sum())} escalated; wrote {out}",
        highlight=False,
        soft_wrap=True,
    )
