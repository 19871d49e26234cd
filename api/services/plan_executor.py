"""Where ``POST /plans`` jobs run: threads of this process, their solves on a Dask cluster if set.

Without ``PATROLGRID_PLAN_SCHEDULER`` a job runs whole in one of ``PATROLGRID_PLAN_WORKERS``
threads of the server process (one by default), as :func:`api.services.plans.run_plan`.

With a scheduler address, the job still starts in a thread here: it reads the stored grids and
incidents, loads the street network (cached per process) and builds the shift's
:class:`~planner.model.Problem`. Only that small, picklable problem travels to the cluster, where
:func:`planner.solve.solve` runs on a worker; the plan comes back, is checked by the evaluator and
stored here. The database session, the network and the city's data never leave this process, so
a job's status and result, the crash rule (:func:`api.services.plans.fail_interrupted`) and the
errors are those of the thread path. The workers need the ``patrolgrid`` package (with the
``[scale]`` extra) installed, nothing else: no database URL, no network file.

On shutdown, jobs not started yet are dropped (the next start marks them failed, as before);
solves still running on the cluster are cancelled and their jobs marked failed as interrupted.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any

from geo._optional import require
from planner.errors import PlannerError
from planner.model import Plan, Problem
from planner.solve import DEFAULT_BACKEND, solve

__all__ = ["PlanExecutor", "SchedulerUnreachableError"]


class SchedulerUnreachableError(RuntimeError):
    """The configured Dask scheduler did not answer at startup; the message names the setting."""


class PlanExecutor:
    """A thread pool for plan jobs, with a Dask client for their solves when one is configured.

    Use :meth:`start` to build one from the settings' values.

    Parameters
    ----------
    workers
        Threads running jobs in this process (jobs prepared and stored at once).
    client
        A connected ``distributed.Client``; None solves in the job's own thread.
    scheduler
        The scheduler's address, for error messages.

    Examples
    --------
    >>> executor = PlanExecutor(workers=1)
    >>> executor.kind
    'threads'
    >>> executor.submit(sum, [1, 2]).result()
    3
    >>> executor.close()
    """

    def __init__(self, *, workers: int = 1, client: Any = None, scheduler: str | None = None):
        if workers < 1:
            msg = f"PATROLGRID_PLAN_WORKERS: at least 1 thread, got {workers}"
            raise ValueError(msg)
        self.workers = workers
        self.scheduler = scheduler
        self._client = client
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan")
        self._lock = threading.Lock()
        self._solving: set[Any] = set()
        self._closing = False

    @property
    def kind(self) -> str:
        """``"dask"`` when solves run on a cluster, else ``"threads"``."""
        return "threads" if self._client is None else "dask"

    @classmethod
    def start(
        cls, *, scheduler: str | None, workers: int | None = None, timeout_s: float = 10.0
    ) -> PlanExecutor:
        """Connect to ``scheduler`` (when given) and build the executor.

        Parameters
        ----------
        scheduler
            Dask scheduler address (``tcp://host:8786``), or None for threads only.
        workers
            Job threads; by default 1, or with a scheduler the cluster's worker threads when
            connecting (at least 1).
        timeout_s
            How long to wait for the scheduler to answer.

        Raises
        ------
        SchedulerUnreachableError
            When no scheduler answers at ``scheduler`` within ``timeout_s``.
        geo._optional.MissingExtraError
            When a scheduler is set and ``distributed`` is not installed (names ``[scale]``).
        """
        if scheduler is None:
            return cls(workers=workers or 1)
        distributed = require("distributed", "scale")
        try:
            # checked first: a Client built on a bad address hangs 20 s at exit in its __del__
            distributed.comm.get_address_host_port(scheduler)
            client = distributed.Client(
                scheduler, timeout=timeout_s, set_as_default=False, name="patrolgrid-api"
            )
        except ValueError as exc:
            msg = (
                f"PATROLGRID_PLAN_SCHEDULER: {scheduler!r} is not a Dask scheduler address "
                f"({exc}); write tcp://HOST:8786"
            )
            raise SchedulerUnreachableError(msg) from None
        except (OSError, TimeoutError) as exc:
            msg = (
                f"PATROLGRID_PLAN_SCHEDULER: no Dask scheduler answered at {scheduler!r} within "
                f"{timeout_s:g} s ({type(exc).__name__}: {exc}); start one (dask scheduler, "
                "dask worker ADDRESS) or unset PATROLGRID_PLAN_SCHEDULER to plan in this process"
            )
            raise SchedulerUnreachableError(msg) from None
        if workers is None:
            threads = sum(
                int(w.get("nthreads", 1))
                for w in client.scheduler_info(n_workers=-1)["workers"].values()
            )
            workers = max(1, threads)
        return cls(workers=workers, client=client, scheduler=scheduler)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` in a job thread of this process."""
        return self._pool.submit(fn, *args, **kwargs)

    def solve(
        self,
        problem: Problem,
        *,
        time_limit_s: float = 10.0,
        seed: int | None = 0,
        backend: str = DEFAULT_BACKEND,
        max_solutions: int | None = None,
    ) -> Plan:
        """:func:`planner.solve.solve`, on a cluster worker when a client is set (blocks).

        Raises
        ------
        concurrent.futures.CancelledError
            When the server is shutting down and the solve was cancelled.
        planner.errors.PlannerError
            When the cluster cancelled the solve or lost every worker that ran it; the
            solver's own errors come back as they are raised on the worker.
        """
        if self._client is None:
            return solve(
                problem,
                time_limit_s=time_limit_s,
                seed=seed,
                backend=backend,
                max_solutions=max_solutions,
            )
        distributed = require("distributed", "scale")
        future = self._client.submit(
            solve,
            problem,
            time_limit_s=time_limit_s,
            seed=seed,
            backend=backend,
            max_solutions=max_solutions,
            key=f"patrolgrid-plan-{uuid.uuid4().hex}",
            pure=False,
        )
        with self._lock:
            self._solving.add(future)
        try:
            return future.result()
        except CancelledError:
            if self._closing:
                raise
            msg = f"the Dask cluster at {self.scheduler} cancelled the solve; submit it again"
            raise PlannerError(msg) from None
        except distributed.KilledWorker as exc:
            msg = (
                f"the Dask cluster at {self.scheduler} lost every worker that ran the solve "
                f"({exc}); submit it again"
            )
            raise PlannerError(msg) from None
        finally:
            with self._lock:
                self._solving.discard(future)

    def close(self) -> None:
        """Drop jobs not started, cancel solves on the cluster, disconnect (never waits)."""
        self._closing = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is None:
            return
        with self._lock:
            solving = list(self._solving)
        if solving:
            self._client.cancel(solving)
        self._client.close()
