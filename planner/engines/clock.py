"""Time budgets measured on the wall clock or on this process's CPU clock.

The planner runs on wall-clock budgets. Benchmarks on a shared, loaded machine can instead
count this process's CPU seconds (``clock="cpu"``), which gives each solver the same amount of
search as the same wall-clock budget on a quiet machine; the engines here are single-threaded,
so CPU seconds and quiet-machine seconds agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

__all__ = ["CLOCKS", "Budget", "Clock"]

Clock = Literal["wall", "cpu"]
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


class Budget:
    """A time budget that starts when it is created.

    Parameters
    ----------
    limit_s
        Seconds available.
    clock
        ``"wall"`` (elapsed real time) or ``"cpu"`` (this process's CPU time).

    Examples
    --------
    >>> budget = Budget(10.0)
    >>> 9.0 < budget.remaining() <= 10.0
    True
    """

    def __init__(self, limit_s: float, clock: Clock = "wall") -> None:
        if clock not in CLOCKS:
            msg = f"unknown clock {clock!r}; choose 'wall' or 'cpu'"
            raise ValueError(msg)
        self.limit_s = float(limit_s)
        self.clock: Clock = clock
        self._now = CLOCKS[clock]
        self._start = self._now()

    def elapsed(self) -> float:
        """Seconds used so far on this budget's clock."""
        return self._now() - self._start

    def remaining(self) -> float:
        """Seconds left (negative once overrun)."""
        return self.limit_s - self.elapsed()

    def expired(self) -> bool:
        """Whether the budget is used up."""
        return self.elapsed() >= self.limit_s

    def wall_equivalent(self, seconds: float, *, probe_s: float = 0.05) -> float:
        """Wall-clock seconds expected to give ``seconds`` on this budget's clock.

        For engines that only take wall-clock limits (VROOM). On the wall clock this is
        ``seconds``; on the CPU clock a short busy probe measures the share of a core this
        process gets now, and the answer is ``seconds`` divided by it.
        """
        if self.clock == "wall":
            return seconds
        wall0, cpu0 = time.perf_counter(), time.process_time()
        while time.perf_counter() - wall0 < probe_s:
            pass
        share = (time.process_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9)
        return seconds / min(1.0, max(share, 0.05))

    def sub(self, limit_s: float) -> Budget:
        """A budget on the same clock for ``min(limit_s, remaining)`` seconds, from now."""
        return Budget(max(0.0, min(limit_s, self.remaining())), self.clock)

    def __call__(self, best_cost: float = 0.0) -> bool:
        """PyVRP stopping criterion: ``True`` once the budget is used up."""
        del best_cost
        return self.expired()
