"""``patrolgrid grids import``: store a grids file in the service's database."""

from __future__ import annotations

from api.commands._app import cli_errors, console, fail
from api.commands.grids import (
    ColumnOption,
    CrsOption,
    GridFile,
    LayerOption,
    grids_app,
    parse_columns,
)


@grids_app.command("import")
def import_(
    path: GridFile,
    crs: CrsOption = None,
    layer: LayerOption = None,
    column: ColumnOption = None,
) -> None:
    """Store a grids file (any format geo reads) in the database named by PATROLGRID_DATABASE_URL.

    Grids are inserted or replaced by grid_id; migrations are applied first.
    """
    from api.db.engine import Database
    from api.services.grid_files import import_grids_file
    from api.settings import Settings

    with cli_errors():
        try:
            settings = Settings()
        except ValueError as exc:
            raise fail(str(exc)) from None
        database = Database(settings.database_url)
        try:
            database.migrate()
            stored = import_grids_file(
                database, path, layer=layer, crs=crs, columns=parse_columns(column)
            )
        finally:
            database.dispose()
        console.print(f"stored {stored} grids in {database.engine.url.render_as_string()}")
