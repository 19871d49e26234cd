"""``patrolgrid token create``: print a signed bearer token for a role."""

from __future__ import annotations

from typing import Annotated

import typer

from api.commands._app import app, cli_errors, console, fail

token_app = typer.Typer(help="Bearer tokens for the HTTP API.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    role: Annotated[
        str,
        typer.Option(help="admin, dispatcher, supervisor, volunteer, department or open311."),
    ],
    community: Annotated[
        str | None, typer.Option(help="Community grid id (volunteers are limited to it).")
    ] = None,
    district: Annotated[
        str | None, typer.Option(help="District grid id (supervisors are limited to it).")
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="Department code (department tokens act for it).")
    ] = None,
    subject: Annotated[str | None, typer.Option(help="Who holds it (audit trail name).")] = None,
    ttl_days: Annotated[float | None, typer.Option(help="Lifetime in days.", min=0.001)] = None,
) -> None:
    """Print a bearer token signed with PATROLGRID_SECRET (send it as Authorization: Bearer ...)."""
    from api.auth import TokenError, create_token
    from api.services.loop_config import load_departments
    from api.settings import Settings

    with cli_errors():
        try:
            settings = Settings()
            settings.check_startable()
            ttl_s = int(ttl_days * 86400) if ttl_days is not None else settings.token_ttl_s
            if department is not None:
                known = load_departments(settings.departments_path)
                if department not in known:
                    msg = f"--department: {department!r} is not one of {', '.join(known)}"
                    raise TokenError(msg)
            token = create_token(
                settings.secret.get_secret_value(),
                role,
                community=community,
                district=district,
                subject=subject,
                department=department,
                ttl_s=ttl_s,
            )
        except (TokenError, RuntimeError, ValueError) as exc:
            raise fail(str(exc)) from None
        console.print(token, highlight=False, soft_wrap=True)
