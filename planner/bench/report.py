"""Tables of benchmark results: per case, per family, and the JSON the CLI writes.

Gaps are in percent to the reference (positive = worse). Ratios compare patrolgrid with each
peer on the checked values, as a geometric mean over the cases both solved: for VRPTW
``peer distance / patrolgrid distance`` and for TOPTW ``patrolgrid score / peer score``, so a
ratio above 1 always means patrolgrid did better.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from .runner import PATROLGRID, CaseResult

__all__ = ["case_lines", "family_lines", "results_json", "summary"]


def _fmt(value: float | None, spec: str = "6.2f") -> str:
    return "   n/a" if value is None else format(value, spec)


def _label(case: CaseResult) -> str:
    return case.name if case.m is None else f"{case.name}:{case.m}"


def _solvers(results: Sequence[CaseResult]) -> list[str]:
    names: list[str] = []
    for case in results:
        names.extend(n for n in case.runs if n not in names)
    return names


def case_lines(results: Sequence[CaseResult]) -> list[str]:
    """One line per case: reference, then each solver's value, gap and seconds."""
    solvers = _solvers(results)
    head = f"{'case':<10} {'ref':>9} {'kind':<11}" + "".join(
        f" {s + ' value':>18} {'gap%':>6} {'s':>5}" for s in solvers
    )
    lines = [head]
    for case in results:
        ref = case.reference
        line = f"{_label(case):<10} {_fmt(ref.value if ref else None, '9.2f')} {(ref.kind if ref else ''):<11}"
        for s in solvers:
            run = case.runs.get(s)
            value = case.value(s)
            shown = "INFEASIBLE" if run is not None and value is None else _fmt(value, "18.2f")
            seconds = _fmt(run.seconds if run else None, "5.1f")
            line += f" {shown:>18} {_fmt(case.gap_pct(s))} {seconds}"
        lines.append(line)
    return lines


def _ratio(cases: Sequence[CaseResult], peer: str) -> float | None:
    logs = []
    for case in cases:
        ours, theirs = case.value(PATROLGRID), case.value(peer)
        if ours is None or theirs is None or ours <= 0 or theirs <= 0:
            continue
        logs.append(math.log(ours / theirs) if case.maximise else math.log(theirs / ours))
    return math.exp(statistics.fmean(logs)) if logs else None


def summary(results: Sequence[CaseResult]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per family (and ``all``): each solver's mean and median gap, and ratio to patrolgrid."""
    families: dict[str, list[CaseResult]] = {}
    for case in results:
        families.setdefault(case.family.upper(), []).append(case)
    families["ALL"] = list(results)
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for family, cases in families.items():
        out[family] = {}
        for s in _solvers(results):
            gaps = [g for c in cases if (g := c.gap_pct(s)) is not None]
            seconds = [c.runs[s].seconds for c in cases if s in c.runs]
            cpu = [c.runs[s].cpu_seconds for c in cases if s in c.runs]
            out[family][s] = {
                "mean_gap_pct": statistics.fmean(gaps) if gaps else None,
                "median_gap_pct": statistics.median(gaps) if gaps else None,
                "solved": float(len(gaps)),
                "cases": float(len(cases)),
                "median_s": statistics.median(seconds) if seconds else None,
                "median_cpu_s": statistics.median(cpu) if cpu else None,
                "ratio": None if s == PATROLGRID else _ratio(cases, s),
            }
    return out


def family_lines(results: Sequence[CaseResult]) -> list[str]:
    """One line per family and solver: mean and median gap, cases solved, ratio vs patrolgrid."""
    table = summary(results)
    lines = [
        f"{'family':<7} {'solver':<11} {'mean gap%':>9} {'median%':>8} {'solved':>7} "
        f"{'median s':>8} {'cpu s':>6} {'patrolgrid better by (ratio)':>29}"
    ]
    for family, solvers in table.items():
        for s, row in solvers.items():
            solved = f"{int(row['solved'] or 0)}/{int(row['cases'] or 0)}"
            ratio = "" if s == PATROLGRID else _fmt(row["ratio"], "29.4f")
            lines.append(
                f"{family:<7} {s:<11} {_fmt(row['mean_gap_pct'], '9.2f')} "
                f"{_fmt(row['median_gap_pct'], '8.2f')} {solved:>7} "
                f"{_fmt(row['median_s'], '8.2f')} {_fmt(row['median_cpu_s'], '6.2f')} {ratio}"
            )
    return lines


def results_json(results: Sequence[CaseResult]) -> dict[str, Any]:
    """The ``results.json`` document: patrolgrid's checked routes per case, peers beside them."""
    instances = []
    for case in results:
        ours = case.runs[PATROLGRID]
        entry: dict[str, Any] = {"name": case.name}
        if case.m is not None:
            entry["m"] = case.m
        entry["routes"] = [list(r) for r in ours.routes]
        if case.m is not None:
            entry["score"] = ours.check.score
        entry["distance"] = round(ours.check.distance, 6)
        entry["seconds"] = round(ours.seconds, 3)
        entry["cpu_seconds"] = round(ours.cpu_seconds, 3)
        entry["feasible"] = ours.check.ok
        if not ours.check.ok:
            entry["problems"] = list(ours.check.problems)
        entry["engine"] = ours.engine
        if case.reference is not None:
            entry["reference"] = {"value": case.reference.value, "kind": case.reference.kind}
        entry["gap_pct"] = case.gap_pct(PATROLGRID)
        entry["peers"] = {
            s: {
                "value": case.value(s),
                "gap_pct": case.gap_pct(s),
                "seconds": round(run.seconds, 3),
                "cpu_seconds": round(run.cpu_seconds, 3),
                "feasible": run.check.ok,
            }
            for s, run in case.runs.items()
            if s != PATROLGRID
        }
        instances.append(entry)
    return {"instances": instances}
