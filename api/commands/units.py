"""``patrolgrid units check``: validate a units file (and its depots and grids) without solving."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.commands._app import app, cli_errors, console
from api.commands._inputs import GridsCrsOption, read_grids_file

__all__ = ["check", "units_app"]

units_app = typer.Typer(help="Check units files.", no_args_is_help=True)
app.add_typer(units_app, name="units")


@units_app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="Units file (YAML); see docs/units-file.md.")],
    network: Annotated[
        Path | None,
        typer.Option("--network", help="OSM extract: every depot must be near a street."),
    ] = None,
    grids: Annotated[
        Path | None,
        typer.Option("--grids", help="Grids file: every grid id the file names must exist."),
    ] = None,
    grids_crs: GridsCrsOption = None,
    crs: Annotated[
        str,
        typer.Option(
            "--crs",
            help="Coordinates the depots are shown in: wgs84 (default, as the file writes "
            "them), gcj02 (Amap, Tencent) or bd09 (Baidu); shifted in mainland China only.",
        ),
    ] = "wgs84",
) -> None:
    """Validate a units file: unknown keys, wrong types, impossible values; with --network the
    depots, with --grids the grid ids. Exits 2 with a one-line error naming unit and key."""
    with cli_errors():
        from maps.coords import output_crs, points_in_crs
        from planner.units_file import load_units

        crs = output_crs(crs)
        units = load_units(path)
        notes: list[str] = []
        if grids is not None:
            from planner.problem import allowed_leaves

            frame = read_grids_file(grids, grids_crs)
            for unit in units.units:
                if unit.grids:
                    n = len(allowed_leaves(frame, unit.grids))
                    notes.append(f"{unit.unit_id}: grids {', '.join(unit.grids)} = {n} leaf grids")
            if units.police_only:
                allowed_leaves(frame, units.police_only)
        if network is not None:
            from api.planning import check_depots
            from geo.network import load_network

            notes += check_depots(units, load_network(network), source=str(path))
    depot_x, depot_y = points_in_crs(
        [u.depot[0] for u in units.units], [u.depot[1] for u in units.units], crs
    )
    table = Table("unit", "kind", "mode", "shift (local)", f"depot ({crs})", "grids")
    for unit, x, y in zip(units.units, depot_x, depot_y, strict=True):
        start = unit.shift_start.tz_convert(units.timezone)
        end = unit.shift_end.tz_convert(units.timezone)
        table.add_row(
            unit.unit_id,
            unit.kind,
            unit.mode,
            f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}",
            f"{x:.5f}, {y:.5f}",
            "any" if unit.grids is None else ", ".join(unit.grids) or "none",
        )
    console.print(table)
    for note in notes:
        console.print(note, highlight=False, soft_wrap=True)
    console.print(
        f"{path}: {len(units.units)} units, shift {units.shift_start.isoformat()} to "
        f"{units.shift_end.isoformat()} ({units.timezone}); ok",
        highlight=False,
        soft_wrap=True,
    )
