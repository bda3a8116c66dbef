"""Run a batch on a Dask distributed cluster: each file is one task, running :func:`process_file` on a worker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..formats.errors import OutputError
from ..pipeline import PoolSpec
from .local import Report, sweep_temporaries
from .outcome import Outcome, TaskCount, process_file
from .walk import Task

__all__ = ["run_dask"]


def run_dask(
    tasks: Iterable[Task],
    spec: PoolSpec,
    skip_existing: bool,
    report: Report,
    total: TaskCount,
    address: str,
    timeout: float,
    in_flight: dict[Any, list[Task]],
) -> None:
    """Submit the tasks to the scheduler at ``address``, a window at a time, and report each outcome as it comes.

    ``report`` returns True to stop (fail-fast); ``in_flight`` holds the futures not yet reported, by future.
    """
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise OutputError(
            "--dask needs Dask distributed: pip install 'poolcli[dask]' (from a clone: pip install '.[dask]')"
        ) from None
    try:
        client = Client(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as exc:
        raise OutputError(f"--dask {address}: cannot reach the scheduler within {timeout:g} s ({exc})") from None
    try:
        window = max(8, 4 * sum(client.nthreads().values()))
        source = iter(tasks)
        n = 0
        futures = as_completed()
        exhausted = False

        def top_up() -> None:
            nonlocal n, exhausted
            while not exhausted and futures.count() < window:
                try:
                    task = next(source)
                except StopIteration:
                    exhausted = True
                    total.done(n)
                    return
                n += 1
                # each worker runs as many files at once as it has threads: one engine thread per file
                fut = client.submit(process_file, task, spec, skip_existing, 1, pure=False)
                in_flight[fut] = [task]
                futures.add(fut)

        top_up()
        while futures.count():
            fut = next(futures)
            try:
                outcome = fut.result()
            except Exception as exc:
                task = in_flight[fut][0]
                sweep_temporaries([task])
                outcome = Outcome(
                    task.src, task.dst, "failed", f"the Dask worker running it failed ({type(exc).__name__})"
                )
            in_flight.pop(fut, None)
            if report(outcome):
                for other in list(in_flight):
                    other.cancel()
                break
            top_up()
    finally:
        client.close()
