"""Run a batch in this machine's worker processes (or, with one job, in this process), and stop it cleanly.

Each worker loads, filters, pools and writes whole files (atomically); the
parent only schedules, counts and reports. Ctrl-C or SIGTERM stops the run
once the files in progress are written; a second ends it at once.
"""

from __future__ import annotations

import glob as _glob
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable

from ..engine import set_threads
from ..pipeline import PoolSpec
from ..status import end_now
from .outcome import Outcome, TaskCount, process_file
from .walk import Task
import contextlib

__all__ = ["CHUNK", "Report", "StopRequest", "run_pool", "run_serial", "sweep_temporaries"]

#: Takes each outcome as it comes; True stops the run (fail-fast).
Report = Callable[[Outcome], bool]

#: Set in each worker by its initialiser: the stop flag the parent raises, and the parent's process id.
_STOP = None
_PARENT = 0


def _worker_init(stop: Any, parent: int) -> None:
    global _STOP, _PARENT
    _STOP, _PARENT = stop, parent
    set_threads(1)  # one process per core already: threads inside each would only contend
    signal.signal(signal.SIGTERM, _worker_signal)
    signal.signal(signal.SIGINT, _worker_signal)
    if sys.platform.startswith("linux"):
        import ctypes

        # PR_SET_PDEATHSIG: a SIGTERM when the parent dies, even killed with SIGKILL, so no worker outlives it
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    if os.getppid() != parent:
        _worker_signal(signal.SIGTERM, None)  # the parent died before it could be watched


def _worker_signal(signum: int, frame: object) -> None:
    # The parent decides when its workers stop: Ctrl-C reaches the whole group, the parent with it, and the parent
    # lets each worker finish its file (so that the counts are exact) or, at a second signal, kills them and sweeps
    # their temporary files. Only a worker whose parent is gone leaves here, at once, with nothing half written.
    if os.getppid() != _PARENT:
        end_now(say=False)


def _process_in_worker(tasks: list[Task], spec: PoolSpec, skip_existing: bool) -> list[Outcome]:
    """Process a chunk of tasks; after a stop request (or without a parent) the files not yet started are left out."""
    outcomes = []
    for task in tasks:
        if _STOP is not None and (_STOP.value or os.getppid() != _PARENT):
            break
        outcomes.append(process_file(task, spec, skip_existing))
    return outcomes


class StopRequest:
    """Ctrl-C or SIGTERM during a run: the first stops it once the files in progress are written; a second ends at once.

    The first is only noted (and passed to the workers through ``flag``), to be acted on at the next safe point.
    A second kills the workers, removes every temporary file of the files in flight, and exits with 130.
    """

    def __init__(self, in_flight: dict[Any, list[Task]], report: Report) -> None:
        self.requested = False
        self.in_flight = in_flight
        self.report = report
        self.started = time.time()
        self.executor: ProcessPoolExecutor | None = None
        self.flag = None
        self._pid = os.getpid()

    def attach(self, executor: ProcessPoolExecutor, flag: Any) -> None:
        self.executor, self.flag = executor, flag

    def __call__(self, signum: int, frame: object) -> None:
        if os.getpid() != self._pid:
            return  # a worker forked before its initialiser ran: the parent decides
        if not self.requested:
            self.requested = True
            if self.flag is not None:
                self.flag.value = 1
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # the end has begun: further signals change nothing
        # the executor's own thread complains about the futures the killed workers leave: it is ending anyway
        threading.excepthook = lambda args: None
        _kill_workers(self.executor)
        in_flight = [task for chunk in list(self.in_flight.values()) for task in chunk]
        sweep_temporaries(in_flight)
        self._report_written(in_flight)
        # on a terminal, clear the progress bar's line and show the cursor it hid
        end_now(before=b"\r\x1b[2K\x1b[?25h" if os.isatty(2) else b"")

    def _report_written(self, tasks: list[Task]) -> None:
        """Report the files in flight that a worker finished: their outcomes come back a chunk at a time, so
        the chunk was never reported, but an output renamed into place since the run started is whole."""
        for task in tasks:
            try:
                st = os.stat(task.dst)
            except OSError:
                continue
            if st.st_mtime >= self.started:
                try:
                    self.report(Outcome(task.src, task.dst, "ok", bytes_out=st.st_size))
                except Exception:
                    break

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


#: Files sent to a worker at a time: small files cost less than the round trip of sending them one by one.
CHUNK = 8


WORKER_DIED = "a worker process died (killed, or out of memory?)"


def _mp_context() -> Any:
    """fork wherever it is safe (not macOS): workers start at once without importing numpy again, and this
    process is their parent, as the stop rules need (under forkserver, Python 3.14's default on Linux, it is not)."""
    if sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


def run_serial(
    tasks: Iterable[Task],
    spec: PoolSpec,
    skip_existing: bool,
    report: Report,
    total: TaskCount,
    in_flight: dict[Any, list[Task]],
    stopper: StopRequest,
) -> None:
    """Run the tasks one after another in this process (-j 1); ``report`` returns True to stop (fail-fast)."""
    total.start()
    n = 0
    for task in tasks:
        stopper.check()  # between files: the one being written is finished first
        n += 1
        in_flight[task] = [task]
        outcome = process_file(task, spec, skip_existing)
        del in_flight[task]
        if report(outcome):
            return
    total.done(n)


def run_pool(
    tasks: Iterable[Task],
    spec: PoolSpec,
    skip_existing: bool,
    jobs: int,
    report: Report,
    total: TaskCount,
    pending: dict[Any, list[Task]],
    chunk: int,
    stopper: StopRequest,
) -> None:
    """Run the tasks in ``jobs`` worker processes, ``chunk`` files at a time; ``pending`` holds the chunks in flight."""
    from concurrent.futures.process import BrokenProcessPool

    window = jobs * 3  # chunks queued: every worker busy, without listing far ahead of need
    flag = multiprocessing.RawValue(
        "b", 0
    )  # raised to stop the workers between files; no lock, so a handler may set it
    executor = ProcessPoolExecutor(
        max_workers=jobs, mp_context=_mp_context(), initializer=_worker_init, initargs=(flag, os.getpid())
    )
    stopper.attach(executor, flag)
    clean = False
    try:
        n = 0
        source = iter(tasks)
        exhausted = failed_fast = broken = False
        while not (stopper.requested or failed_fast or broken):
            while not exhausted and not stopper.requested and len(pending) < window:
                batch = list(itertools.islice(source, chunk))
                n += len(batch)
                if len(batch) < chunk:
                    exhausted = True
                    total.done(n)
                if not batch:
                    break
                try:
                    pending[executor.submit(_process_in_worker, batch, spec, skip_existing)] = batch
                except BrokenProcessPool:
                    pending[_failed_future()] = batch
                    broken = True
                    break
                total.start()  # after the first submit, which forks the workers: no thread is forked with them
            if not pending:
                break
            done, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                if fut.exception() is not None:
                    broken = True  # settled below, with every other chunk in flight
                    break
                del pending[fut]
                for outcome in fut.result():
                    failed_fast = report(outcome) or failed_fast
        # Stopped, failed fast, or a worker died: start nothing more, let each worker finish the file it is
        # writing, and report everything that finished, so that the counts match the files on disk
        flag.value = 1
        for fut in pending:
            fut.cancel()
        while pending:
            done, _ = wait(list(pending), timeout=0.2)
            for fut in done:
                batch = pending.pop(fut)
                if fut.cancelled():
                    continue
                if fut.exception() is None:
                    for outcome in fut.result():
                        report(outcome)
                else:
                    sweep_temporaries(batch)
                    for t in batch:
                        report(Outcome(t.src, t.dst, "failed", WORKER_DIED))
        if broken:
            for t in source:
                report(Outcome(t.src, t.dst, "failed", "not started: " + WORKER_DIED))
        clean = True
    finally:
        if clean:
            executor.shutdown(wait=True)
        else:
            _kill_workers(executor)
            executor.shutdown(wait=False, cancel_futures=True)


def _failed_future() -> Future[list[Outcome]]:
    from concurrent.futures.process import BrokenProcessPool

    fut: Future[list[Outcome]] = Future()
    fut.set_exception(BrokenProcessPool(WORKER_DIED))
    return fut


def _kill_workers(executor: ProcessPoolExecutor | None, timeout: float = 5.0) -> None:
    """Kill the workers at once and wait until they are gone (their temporary files are swept by the caller)."""
    procs = list((getattr(executor, "_processes", None) or {}).values())
    for p in procs:
        with contextlib.suppress(OSError):
            os.kill(p.pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))


def sweep_temporaries(tasks: Iterable[Task]) -> None:
    """Remove temporary files a killed worker may have left beside an output it was writing (or its link's target)."""
    for task in list(tasks):
        for dst in {task.dst, os.path.realpath(task.dst)}:
            folder, name = os.path.split(dst)
            for tmp in _glob.glob(os.path.join(_glob.escape(folder or "."), _glob.escape("." + name + ".") + "*.tmp")):
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
