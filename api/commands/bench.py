"""``patrolgrid bench``: the routing engine on standard benchmarks, with peers in the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.commands._app import app, cli_errors, console, fail
from planner.bench.report import case_lines, family_lines, results_json
from planner.bench.runner import CaseResult, run_toptw, run_vrptw
from planner.engines.clock import CLOCKS

__all__ = ["bench"]

bench = typer.Typer(
    help="Benchmark the routing engine (Solomon VRPTW, team orienteering with time windows).",
    no_args_is_help=True,
)
app.add_typer(bench, name="bench")

Files = Annotated[list[Path], typer.Argument(help="Instance files.", show_default=False)]
TimeLimit = Annotated[float, typer.Option("--time-limit", help="Seconds per instance and solver.")]
Out = Annotated[Path | None, typer.Option("--out", help="Write results JSON here.")]
Bks = Annotated[
    Path | None,
    typer.Option("--bks", help="Best-known table (found next to the files when omitted)."),
]
Peers = Annotated[
    str,
    typer.Option("--peers", help="Comma-separated peers to run beside patrolgrid ('' for none)."),
]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the randomised engines.")]
ClockOption = Annotated[
    str,
    typer.Option(
        "--clock",
        help="Count time limits in 'wall' seconds or this process's 'cpu' seconds "
        "(use cpu on a loaded machine).",
    ),
]


def _find_table(files: list[Path], name: str) -> Path | None:
    for folder in files[0].resolve().parents:
        if (folder / name).is_file():
            return folder / name
    return None


def _peers(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _progress(case: CaseResult) -> None:
    label = case.name if case.m is None else f"{case.name}:{case.m}"
    gaps = ", ".join(
        f"{s} {'n/a' if (g := case.gap_pct(s)) is None else f'{g:.2f}%'}" for s in case.runs
    )
    console.print(f"{label}: {gaps}", highlight=False)


def _finish(results: list[CaseResult], out: Path | None) -> None:
    console.print("\n".join(case_lines(results)), highlight=False, soft_wrap=True)
    console.print()
    console.print("\n".join(family_lines(results)), highlight=False, soft_wrap=True)
    if out is not None:
        entries = results_json(results)["instances"]
        body = ",\n".join("  " + json.dumps(entry) for entry in entries)
        out.write_text('{"instances": [\n' + body + "\n]}\n")
        console.print(f"wrote {out}", highlight=False)


def _check_limits(time_limit: float, clock: str) -> None:
    if time_limit <= 0:
        raise fail("--time-limit must be positive")
    if clock not in CLOCKS:
        raise fail(f"--clock must be 'wall' or 'cpu', not {clock!r}")


@bench.command("vrptw")
def vrptw(
    files: Files,
    time_limit: TimeLimit = 5.0,
    out: Out = None,
    bks: Bks = None,
    peers: Peers = "vroom,pyvrp",
    seed: Seed = 0,
    clock: ClockOption = "wall",
) -> None:
    """Solve Solomon VRPTW files; print gaps to the distance-only best-known beside the peers."""
    with cli_errors():
        _check_limits(time_limit, clock)
        table = bks if bks is not None else _find_table(files, "solomon_bks.csv")
        results = run_vrptw(
            files,
            time_limit_s=time_limit,
            bks_path=table,
            peers=_peers(peers),
            seed=seed,
            clock=clock,  # type: ignore[arg-type]
            progress=_progress,
        )
        _finish(results, out)


@bench.command("toptw")
def toptw(
    files: Files,
    vehicles: Annotated[
        list[int], typer.Option("--vehicles", "-m", help="Number of routes (repeatable).")
    ],
    time_limit: TimeLimit = 5.0,
    out: Out = None,
    bks: Bks = None,
    peers: Peers = "vroom,pyvrp,ortools",
    seed: Seed = 0,
    clock: ClockOption = "wall",
) -> None:
    """Solve team orienteering files with time windows; print score gaps beside the peers."""
    with cli_errors():
        _check_limits(time_limit, clock)
        table = bks if bks is not None else _find_table(files, "bks.csv")
        results = run_toptw(
            files,
            vehicles=vehicles,
            time_limit_s=time_limit,
            bks_path=table,
            peers=_peers(peers),
            seed=seed,
            clock=clock,  # type: ignore[arg-type]
            progress=_progress,
        )
        _finish(results, out)
