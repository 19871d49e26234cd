"""``patrolgrid token create`` / ``token revoke``: bearer tokens for a role, revoked by id."""

from __future__ import annotations

from typing import Annotated

import typer

from api.commands._app import app, cli_errors, console, err_console, fail

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
    from api.auth import TokenError, create_token, verify_token
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
        token_id = verify_token(settings.secret.get_secret_value(), token).token_id
        err_console.print(
            f"token id: {token_id} (revoke with `patrolgrid token revoke {token_id}`)",
            highlight=False,
        )


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (printed by `token create`).")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the deny list).")] = None,
) -> None:
    """Revoke one token by its id: the server refuses it from the next request on."""
    from api.db.engine import Database
    from api.services.tokens import revoke as deny
    from api.settings import Settings
    from api.validation import text_problem

    with cli_errors():
        if not 1 <= len(token_id) <= 64 or text_problem(token_id):
            raise fail("TOKEN_ID: expected the printable id printed by `patrolgrid token create`")
        settings = Settings()
        database = Database(settings.database_url, schema=settings.db_schema)
        try:
            database.migrate()
            added = deny(database, token_id, reason=reason)
        finally:
            database.dispose()
        state = "revoked" if added else "was already revoked"
        console.print(f"token {token_id} {state}", highlight=False)
