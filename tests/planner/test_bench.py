"""Benchmark readers, the independent checker, references, the runner and ``patrolgrid bench``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from planner.bench import solomon, toptw
from planner.bench.bks import Reference, load_solomon_bks, load_toptw_bks, toptw_reference
from planner.bench.checker import check_toptw, check_vrptw
from planner.bench.runner import PATROLGRID, run_toptw, run_vrptw
from planner.engines import portfolio, vroom_engine
from planner.engines.arrays import objective
from planner.errors import ProblemError
from tests.conftest import BENCHMARKS

VRP = BENCHMARKS / "vrp"
TOPTW = BENCHMARKS / "toptw"


@pytest.fixture
def c101_25(shared_dir: Path, tmp_path: Path) -> Path:
    """Solomon C101 cut to its first 25 customers (CRLF kept), fleet of 25 vehicles."""
    lines = (VRP / "solomon" / "C101.txt").read_bytes().split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(b"0 "))
    path = tmp_path / "C101.txt"
    path.write_bytes(b"\r\n".join(lines[: start + 26]) + b"\r\n")
    return path


@pytest.fixture
def rc101_30(shared_dir: Path, tmp_path: Path) -> Path:
    """TOPTW rc101 cut to the depot and its first 30 customers."""
    lines = (TOPTW / "instances" / "solomon_100" / "rc101.txt").read_text().splitlines()
    path = tmp_path / "rc101.txt"
    path.write_text("\n".join(lines[: 2 + 31]) + "\n")
    return path


def test_read_solomon_handles_crlf_and_fleet(shared_dir: Path) -> None:
    """C101 has 100 customers, 25 vehicles of capacity 200, and family C1."""
    inst = solomon.read_solomon(VRP / "solomon" / "C101.txt")
    assert (inst.name, inst.family, inst.vehicles, inst.capacity) == ("C101", "C1", 25, 200)
    assert len(inst.ids) == 101
    assert inst.ids[0] == 0
    assert inst.due[0] == 1236
    assert solomon.read_solomon(VRP / "solomon" / "RC208.txt").family == "RC2"


def test_read_solomon_rejects_other_files(tmp_path: Path) -> None:
    """A file without Solomon's sections is refused, naming the file."""
    path = tmp_path / "x.txt"
    path.write_text("hello\n")
    with pytest.raises(ProblemError, match=r"x\.txt"):
        solomon.read_solomon(path)


@pytest.mark.parametrize(
    ("name", "travel", "windows", "service", "demand"),
    [
        ("C101", 398_655_266, 92_672_000, 9_000_000, 1810),
        ("R101", 342_916_502, 20_526_000, 1_000_000, 1458),
        ("RC208", 451_830_018, 89_875_000, 1_000_000, 1724),
    ],
)
def test_solomon_arrays_are_those_of_the_former_reader(
    shared_dir: Path, name: str, travel: int, windows: int, service: int, demand: int
) -> None:
    """Read through vrplib, the engine arrays sum to what the former hand-written reader gave
    (figures recorded from it before the switch; all 56 files compared field by field then)."""
    arrays = solomon.to_arrays(solomon.read_solomon(VRP / "solomon" / f"{name}.txt"))
    assert int(arrays.travel.sum()) == travel
    assert int(np.asarray(arrays.windows).sum()) == windows
    assert int(np.asarray(arrays.service).sum()) == service
    assert int(np.asarray(arrays.demand).sum()) == demand


def test_read_solomon_names_the_bad_row(c101_25: Path, tmp_path: Path) -> None:
    """A node row with a missing column is refused, naming the file and the node row."""
    lines = c101_25.read_bytes().split(b"\r\n")
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(b"5 "))
    lines[at] = b" ".join(lines[at].split()[:-1])
    path = tmp_path / "short.txt"
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ProblemError, match=r"short\.txt: .*node row 6: got 6 columns"):
        solomon.read_solomon(path)


def test_solomon_arrays_round_travel_up(shared_dir: Path) -> None:
    """Integer travel times are never below the scaled Euclidean distance."""
    inst = solomon.read_solomon(VRP / "solomon" / "R101.txt")
    arrays = solomon.to_arrays(inst)
    exact = inst.distances() * solomon.SCALE
    assert (arrays.travel >= exact - 1e-6).all()
    assert (arrays.travel - exact < 1).all()


def test_read_toptw_quirks(shared_dir: Path) -> None:
    """c204's malformed header and pr01's CRLF lines still give the right vertices and Tmax."""
    c204 = toptw.read_toptw(TOPTW / "instances" / "solomon_200" / "c204.txt")
    assert (c204.n_customers, c204.tmax) == (100, 3390)
    pr01 = toptw.read_toptw(TOPTW / "instances" / "cordeau" / "pr01.txt")
    assert (pr01.n_customers, pr01.tmax, pr01.family) == (48, 1000, "pr")
    assert pr01.score[1] == 12


def test_toptw_travel_is_truncated_exactly(shared_dir: Path) -> None:
    """Travel is floor(10 d) for Solomon files and floor(100 d) for Cordeau's."""
    c101 = toptw.read_toptw(TOPTW / "instances" / "solomon_100" / "c101.txt")
    arrays = toptw.to_arrays(c101, m=2)
    assert arrays.travel[0, 0, 1] == math.floor(10 * math.sqrt(5**2 + 18**2))  # 18.68 -> 186
    assert len(arrays.vehicles) == 2
    assert not arrays.required[1:].any()
    pr01 = toptw.read_toptw(TOPTW / "instances" / "cordeau" / "pr01.txt")
    pa = toptw.to_arrays(pr01, m=1)
    d = math.hypot(float(pr01.x[0] - pr01.x[1]), float(pr01.y[0] - pr01.y[1]))
    assert pa.travel[0, 0, 1] == math.floor(100 * d)
    with pytest.raises(ProblemError, match="at least 1"):
        toptw.to_arrays(pr01, m=0)


def test_checker_catches_broken_vrptw_solutions(c101_25: Path) -> None:
    """A missing customer, a repeat, an overload and a late arrival are each reported."""
    inst = solomon.read_solomon(c101_25)
    good = vroom_engine.solve(solomon.to_arrays(inst), exploration=1)
    routes = [[int(inst.ids[n]) for n in r] for r in good.routes if r]
    assert check_vrptw(inst, routes).ok
    assert not check_vrptw(inst, routes[1:]).ok
    assert not check_vrptw(inst, [*routes, [routes[0][0]]]).ok
    everyone = [[c for r in routes for c in r]]
    problems = " ".join(check_vrptw(inst, everyone).problems)
    assert "capacity" in problems
    assert "after its due time" in problems


def test_checker_distance_matches_engine_cost(c101_25: Path) -> None:
    """The checker's double-precision distance agrees with the engines' scaled integer cost."""
    inst = solomon.read_solomon(c101_25)
    arrays = solomon.to_arrays(inst)
    result = vroom_engine.solve(arrays, exploration=1)
    routes = [[int(inst.ids[n]) for n in r] for r in result.routes if r]
    check = check_vrptw(inst, routes)
    assert check.distance == pytest.approx(objective(arrays, result.routes).cost / 1000, abs=0.05)


def test_toptw_checker_counts_score_and_limits(rc101_30: Path) -> None:
    """Scores add up; more than m routes, repeats and late visits are flagged."""
    inst = toptw.read_toptw(rc101_30)
    result = vroom_engine.solve(toptw.to_arrays(inst, m=2), exploration=1)
    routes = [list(r) for r in result.routes if r]
    check = check_toptw(inst, 2, routes)
    assert check.ok
    assert check.score == sum(inst.score[c] for r in routes for c in r)
    assert not check_toptw(inst, 1, routes).ok or len(routes) <= 1
    assert not check_toptw(inst, 2, [*routes, [routes[0][0]]]).ok
    late = sorted(range(1, inst.n_customers + 1), key=lambda c: -inst.close[c])
    assert not check_toptw(inst, 1, [late]).ok


def test_references(shared_dir: Path) -> None:
    """VRPTW uses distance-only BKS; TOPTW falls back to a labelled ref* where no BKS exists."""
    solomon = load_solomon_bks(VRP / "solomon_bks.csv")
    assert solomon["R101"] == Reference(1642.88, "distonly")
    # R109's distance-only value is flagged as below the proven optimum: the gap uses that bound.
    assert solomon["R109"] == Reference(1146.9, "lower-bound")
    table = load_toptw_bks(TOPTW / "bks.csv")
    assert toptw_reference(table, "c101", 1, 0) == Reference(320.0, "optimal")
    ref = toptw_reference(table, "c105", 2, 0)
    assert ref is not None
    assert ref.kind == "ref*"
    assert toptw_reference(table, "c105", 2, ref.value + 10) == Reference(
        ref.value + 10, "ref*(run)"
    )
    assert toptw_reference(table, "nope", 1, 0) is None


def test_run_vrptw_reports_checked_routes_in_file_numbers(c101_25: Path) -> None:
    """Every customer of the file appears exactly once in patrolgrid's reported routes."""
    [case] = run_vrptw([c101_25], time_limit_s=0.5, peers=["vroom"])
    ours = case.runs[PATROLGRID]
    assert ours.check.ok
    visited = sorted(c for r in ours.routes for c in r)
    assert visited == list(range(1, 26))
    assert case.value("vroom") is not None
    assert ours.check.distance <= case.value("vroom") + 1e-6


def test_run_toptw_reference_without_table(rc101_30: Path) -> None:
    """Without a BKS table the reference is the best checked score of the run, so gaps >= 0."""
    [case] = run_toptw([rc101_30], vehicles=[1], time_limit_s=0.5, peers=["vroom"])
    assert case.reference is not None
    assert case.reference.kind == "ref*(run)"
    assert all(case.gap_pct(s) >= 0 for s in case.runs)


def test_cli_bench_vrptw_writes_results(c101_25: Path, tmp_path: Path) -> None:
    """``patrolgrid bench vrptw`` writes the results shape and prints the family table."""
    from api.cli import app

    out = tmp_path / "results.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "vrptw",
            str(c101_25),
            "--time-limit",
            "0.5",
            "--peers",
            "vroom",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "patrolgrid" in result.output
    doc = json.loads(out.read_text())
    [entry] = doc["instances"]
    assert entry["name"] == "C101"
    assert {"routes", "distance", "seconds"} <= set(entry)
    assert sorted(c for r in entry["routes"] for c in r) == list(range(1, 26))
    # as before the switch to vrplib: C101's first 25 customers at the optimum, 191.81
    assert entry["distance"] == pytest.approx(191.81362, abs=1e-4)
    assert sorted(entry["routes"]) == [
        [5, 3, 7, 8, 10, 11, 9, 6, 4, 2, 1],
        [13, 17, 18, 19, 15, 16, 14, 12],
        [20, 24, 25, 23, 22, 21],
    ]


def test_cli_bench_toptw_bad_input_exits_2(tmp_path: Path) -> None:
    """A missing file or an unknown peer is a one-line error with exit code 2."""
    from api.cli import app

    result = CliRunner().invoke(app, ["bench", "toptw", str(tmp_path / "none.txt"), "-m", "1"])
    assert result.exit_code == 2
    bad = tmp_path / "x.txt"
    bad.write_text("1 2\n3 4\n")
    result = CliRunner().invoke(app, ["bench", "toptw", str(bad), "-m", "1"])
    assert result.exit_code == 2
    assert "no vertex lines" in result.output


@pytest.mark.slow
def test_portfolio_reaches_known_optima(shared_dir: Path) -> None:
    """With 3 CPU seconds the portfolio reaches C101's best-known distance and rc101 m=1's optimum."""
    inst = solomon.read_solomon(VRP / "solomon" / "C101.txt")
    arrays = solomon.to_arrays(inst)
    routes = portfolio.solve(arrays, time_limit_s=3, clock="cpu").routes
    check = check_vrptw(inst, [[int(inst.ids[n]) for n in r] for r in routes if r])
    assert check.ok
    assert check.distance <= 828.94 * 1.005
    top = toptw.read_toptw(TOPTW / "instances" / "solomon_100" / "rc101.txt")
    result = portfolio.solve(toptw.to_arrays(top, m=1), time_limit_s=3, clock="cpu")
    assert check_toptw(top, 1, [list(r) for r in result.routes if r]).score == 219
