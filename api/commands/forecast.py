"""``patrolgrid forecast``: score square cells (or, with ``--grids``, the city's own leaf grids,
rolled up to every level) for the coming days; ``forecast evaluate`` scores a cell forecast with
PAI and PEI* on later incidents (the NIJ challenge's measures)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pandas as pd
import typer

from api.commands._app import app, cli_errors, console, fail
from api.commands._inputs import (
    CategoriesOption,
    ColumnsOption,
    IncidentsCrsOption,
    TimezoneOption,
    read_grids_file,
    read_incidents,
)

__all__ = ["evaluate", "forecast_app"]

DAY = pd.Timedelta(days=1)

forecast_app = typer.Typer(
    help="Hotspot forecasts on square cells, scored like the NIJ challenge.",
    invoke_without_command=True,
)
app.add_typer(forecast_app, name="forecast")

IncidentsOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--incidents",
        help="Incident files (canonical CSV: incident_id, occurred_at, category, lon, lat; "
        "Philadelphia exports) or folders of CSVs; repeatable.",
    ),
]


@forecast_app.callback()
def forecast(
    ctx: typer.Context,
    incidents: IncidentsOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="GeoJSON of every cell with its score.")
    ] = None,
    train_until: Annotated[
        str | None,
        typer.Option(help="Forecast origin (ISO 8601, UTC if no offset); only earlier incidents."),
    ] = None,
    horizon_days: Annotated[float, typer.Option(help="Days ahead to forecast.")] = 7.0,
    cell_m: Annotated[float, typer.Option(help="Cell side in metres.")] = 183.0,
    category: Annotated[str | None, typer.Option(help="Forecast only this category.")] = None,
    area: Annotated[
        Path | None,
        typer.Option(help="Study area polygons (GeoJSON...); default: the incidents' hull."),
    ] = None,
    grids: Annotated[
        Path | None,
        typer.Option(
            "--grids",
            help="Score the leaf grids of this grids file (and roll up to every level) instead "
            "of square cells.",
        ),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            help="auto (default: chosen by backtest on the history), naive, naive_prior, "
            "recency, kde, shrinkage, stacked or gbm."
        ),
    ] = None,
    columns: ColumnsOption = None,
    timezone: TimezoneOption = None,
    categories: CategoriesOption = None,
    incidents_crs: IncidentsCrsOption = "EPSG:4326",
) -> None:
    """Forecast: a square grid over the area, every cell with a score (higher = more expected)."""
    if ctx.invoked_subcommand is not None:
        return
    missing = [
        flag
        for flag, value in (
            ("--incidents", incidents),
            ("--out", out),
            ("--train-until", train_until),
        )
        if not value
    ]
    if missing or incidents is None or out is None or train_until is None:
        raise fail(f"forecast needs {', '.join(missing)} (see patrolgrid forecast --help)")
    with cli_errors():
        frame, _ = read_incidents(
            incidents,
            columns=columns,
            timezone=timezone,
            categories=categories,
            crs=incidents_crs,
        )
        grid_frame = None if grids is None else read_grids_file(grids)
    if grid_frame is not None:
        _forecast_grids(frame, grid_frame, out, train_until, horizon_days, category, method)
        return
    with cli_errors():
        from geo.forecast import DEFAULT_METHOD
        from geo.forecast import forecast as make_forecast

        area_frame = gpd.read_file(area) if area is not None else None
        cells = make_forecast(
            frame,
            train_until=train_until,
            horizon_days=horizon_days,
            cell_m=cell_m,
            method=method or DEFAULT_METHOD,
            category=category,
            area=area_frame,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        cells.to_file(out, driver="GeoJSON")
    console.print(
        f"{len(frame):,} incidents, {len(cells):,} cells of {cell_m:g} m, method "
        f"{cells['method'].iloc[0]}, origin {cells['train_until'].iloc[0]}, "
        f"{horizon_days:g} days ahead; wrote {out}",
        highlight=False,
    )
    backtest = cells.attrs.get("backtest")
    if backtest is not None:
        console.print(backtest.summary(), highlight=False)


def _forecast_grids(
    frame: gpd.GeoDataFrame,
    grid_frame: gpd.GeoDataFrame,
    out: Path,
    train_until: str,
    horizon_days: float,
    category: str | None,
    method: str | None,
) -> None:
    """``forecast --grids``: every grid of every level with its expected incidents."""
    with cli_errors():
        from geo.forecast import DEFAULT_METHOD
        from geo.grid_forecast import forecast_grids
        from geo.join import join_incidents

        joined = join_incidents(frame, grid_frame)
        table = forecast_grids(
            joined,
            grid_frame,
            train_until=train_until,
            horizon_days=horizon_days,
            method=method or DEFAULT_METHOD,
            category=category,
        )
        backtest = table.attrs.get("backtest")
        table["backtest"] = None if backtest is None else backtest.to_json()
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            table.to_csv(out, index=False)
        else:
            shapes = grid_frame[["grid_id", "geometry"]].merge(table, on="grid_id", how="right")
            shapes = gpd.GeoDataFrame(shapes, geometry="geometry", crs=grid_frame.crs)
            for column in ("score", "rank"):
                shapes[column] = pd.to_numeric(shapes[column], errors="coerce")
            shapes.to_crs("EPSG:4326").to_file(out, driver="GeoJSON")
    leaves = table.loc[table["score"].notna()]
    console.print(
        f"{len(frame):,} incidents, {len(leaves):,} leaf grids ({len(table):,} at all levels), "
        f"method {table['method'].iloc[0]}, origin {table['train_until'].iloc[0]}, "
        f"{horizon_days:g} days ahead, {table.loc[table['score'].notna(), 'expected'].sum():.1f} "
        f"incidents expected; wrote {out}",
        highlight=False,
    )
    if backtest is not None:
        console.print(backtest.summary(), highlight=False)


@forecast_app.command()
def evaluate(
    forecast_file: Annotated[
        Path, typer.Option("--forecast", help="Cells GeoJSON written by patrolgrid forecast.")
    ],
    incidents: IncidentsOption = None,
    windows: Annotated[
        list[str] | None,
        typer.Option("--window", help="1w, 2w, 1m, 2m or 3m (repeatable; default all five)."),
    ] = None,
    area_sq_mi: Annotated[
        float, typer.Option(help="Area of top cells to flag, 0.25-0.75 square miles (NIJ).")
    ] = 0.75,
    origin: Annotated[
        str | None,
        typer.Option("--from", help="Window start; default the forecast's train_until."),
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="CSV of the scores.")] = None,
    columns: ColumnsOption = None,
    timezone: TimezoneOption = None,
    categories: CategoriesOption = None,
    incidents_crs: IncidentsCrsOption = "EPSG:4326",
) -> None:
    """Score a forecast: PAI and PEI* of its top cells on the incidents after its origin."""
    if not incidents:
        raise fail("forecast evaluate needs --incidents (the incidents to score against)")
    with cli_errors():
        from geo.errors import GeoError
        from geo.forecast import Lattice, cell_events
        from geo.forecast_eval import WINDOWS, score_forecast, window_end

        cells = gpd.read_file(forecast_file)
        needed = {"score", "ix", "iy", "area_m2"}
        if not needed <= set(cells.columns):
            msg = (
                f"{forecast_file}: not a forecast (needs columns {sorted(needed)}); "
                "write it with patrolgrid forecast"
            )
            raise GeoError(msg)
        start = origin
        if start is None and "train_until" in cells.columns:
            start = str(cells["train_until"].iloc[0])
        if start is None:
            msg = f"{forecast_file}: no train_until column; pass --from DATE"
            raise GeoError(msg)
        t0 = pd.Timestamp(start)
        t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
        lattice = Lattice.from_cells(cells)
        frame, _ = read_incidents(
            incidents,
            columns=columns,
            timezone=timezone,
            categories=categories,
            crs=incidents_crs,
        )
        category = str(cells["category"].iloc[0]) if "category" in cells else "all"
        if category != "all":
            frame = frame.loc[frame["category"].astype(str) == category]
        events, _ = cell_events(frame, lattice)
        last = pd.Timestamp(events.time_ns.max(), tz="UTC") if events.time_ns.size else t0
        rows = []
        for window in windows or list(WINDOWS):
            end = window_end(t0, window)
            actual = events.between(int(t0.value), int(end.value)).counts(lattice.n_cells)
            result = score_forecast(
                cells["score"].to_numpy(dtype=float),
                actual,
                cells["area_m2"].to_numpy(dtype=float),
                area_sq_mi=area_sq_mi,
            )
            row = {"window": window, "start": t0.isoformat(), "end": end.isoformat()}
            row["note"] = "incidents end before the window does" if last < end - DAY else None
            rows.append(row | asdict(result))
        table = pd.DataFrame(rows)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            table.to_csv(out, index=False)
    for row in rows:
        pai = "n/a" if row["pai"] is None else f"{row['pai']:.2f}"
        pei = "n/a" if row["pei_star"] is None else f"{row['pei_star']:.2f}"
        notes = [n for n in (row["reason"], row["note"]) if n]
        note = f" ({'; '.join(notes)})" if notes else ""
        console.print(
            f"{row['window']:>3}: PAI {pai}  PEI* {pei}  hits {row['hits']}/{row['incidents']} "
            f"in {row['flagged_cells']} cells ({row['flagged_sq_mi']:.2f} sq mi){note}",
            highlight=False,
        )
