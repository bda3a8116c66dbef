"""Run a batch: every task once, in worker processes or on a Dask cluster, each outcome reported as it comes."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterable
from typing import Callable, Optional

from ..pipeline import PoolSpec
from ..specs import DASK_TIMEOUT
from .dask import run_dask
from .local import CHUNK, StopRequest, run_pool, run_serial, sweep_temporaries
from .outcome import BatchStats, Outcome
from .walk import Task

__all__ = ["TaskCount", "run_batch"]


def run_batch(
    tasks: Iterable[Task],
    spec: PoolSpec,
    *,
    jobs: int,
    skip_existing: bool = False,
    fail_fast: bool = False,
    on_outcome: Callable[[Outcome], None] = lambda o: None,
    on_total: Callable[[int], None] = lambda n: None,
    recount: Optional[Callable[[], Iterable[Task]]] = None,
    dask_address: Optional[str] = None,
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
    # Ctrl-C and SIGTERM stop the run at a safe point, so that workers are stopped and the summary so far is
    # printed (the Dask client waits where an interrupt is safe, so there it is raised at once)
    stopper = StopRequest(in_flight, lambda outcome: report(outcome))
    handler = _raise_interrupt if dask_address else stopper
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    total = TaskCount(on_total, recount)

    def report(outcome: Outcome) -> bool:
        stats.add(outcome)
        on_outcome(outcome)
        return fail_fast and outcome.status == "failed"

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


class TaskCount:
    """The number of tasks, counted by a second walk in a thread so that the progress bar knows it (and an ETA) early.

    The run's own walk streams, listing folders only as fast as the work needs them; this one runs ahead. When the
    run's walk ends, its count is final.
    """

    def __init__(self, on_total: Callable[[int], None], recount: Optional[Callable[[], Iterable[Task]]]) -> None:
        self._on_total = on_total
        self._recount = recount
        self._lock = threading.Lock()
        self._final = False
        self._started = False

    def start(self) -> None:
        if self._recount is not None and not self._started:
            self._started = True
            threading.Thread(target=self._count, args=(self._recount,), name="poolcli-count", daemon=True).start()

    def _count(self, recount: Callable[[], Iterable[Task]]) -> None:
        n, last = 0, time.monotonic()
        try:
            for _ in recount():
                if self._final:
                    return
                n += 1
                if time.monotonic() - last >= 0.1:
                    self._say(n)
                    last = time.monotonic()
        except Exception:  # noqa: BLE001 - the run's own walk meets the same fault and reports it; the bar only waits
            return
        self._say(n)

    def _say(self, n: int) -> None:
        with self._lock:
            if not self._final:
                self._on_total(n)

    def done(self, n: int) -> None:
        with self._lock:
            self._final = True
            self._on_total(n)

    def close(self) -> None:
        self._final = True


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
