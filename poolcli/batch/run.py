"""Run a batch: every task once, in worker processes or on a Dask cluster, each outcome reported as it comes."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable
from typing import Callable

from ..pipeline import PoolSpec
from ..specs import DASK_TIMEOUT
from .dask import run_dask
from .local import CHUNK, StopRequest, run_pool, run_serial, sweep_temporaries
from .outcome import BatchStats, Outcome, TaskCount
from .walk import Task

__all__ = ["run_batch"]


def run_batch(
    tasks: Iterable[Task],
    spec: PoolSpec,
    *,
    jobs: int,
    skip_existing: bool = False,
    fail_fast: bool = False,
    on_outcome: Callable[[Outcome], None] = lambda o: None,
    on_total: Callable[[int], None] = lambda n: None,
    recount: Callable[[], Iterable[Task]] | None = None,
    dask_address: str | None = None,
    dask_timeout: float = DASK_TIMEOUT,
) -> BatchStats:
    """Run every task, calling ``on_outcome`` as each finishes; stop early on Ctrl-C, SIGTERM or fail_fast.

    ``on_total`` is called with the number of tasks known so far: as ``recount``
    (a fresh walk of the same tasks, counted in a thread) finds them, and
    exactly once the run's own walk ends. After one Ctrl-C or SIGTERM the files
    in progress are finished and reported, so the stats count exactly the
    outputs written; a second ends the process at once (exit 130).
    """
    stats = BatchStats()
    in_flight: dict[object, list[Task]] = {}  # what is being written now, by future (or by task on -j 1)

    def report(outcome: Outcome) -> bool:
        stats.add(outcome)
        on_outcome(outcome)
        return fail_fast and outcome.status == "failed"

    # Ctrl-C and SIGTERM stop the run at a safe point, so that workers are stopped and the summary so far is
    # printed (the Dask client waits where an interrupt is safe, so there it is raised at once)
    stopper = StopRequest(in_flight, report)
    handler = _raise_interrupt if dask_address else stopper
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    total = TaskCount(on_total, recount)

    try:
        if dask_address:
            total.start()
            run_dask(tasks, spec, skip_existing, report, total, dask_address, dask_timeout, in_flight)
        elif jobs <= 1:
            run_serial(tasks, spec, skip_existing, report, total, in_flight, stopper)
        else:
            run_pool(tasks, spec, skip_existing, jobs, report, total, in_flight, CHUNK if not fail_fast else 1, stopper)
        stats.interrupted = stopper.requested
    except KeyboardInterrupt:
        stats.interrupted = True
    finally:
        total.close()
        for sig, old in previous.items():
            signal.signal(sig, old)
        sweep_temporaries(task for chunk in in_flight.values() for task in chunk)
    return stats


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
