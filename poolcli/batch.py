"""Pool whole folders: walk, shard, run in worker processes (or on a Dask cluster), report.

The walk streams: each folder is listed once, its entries sorted, and files are
handed to the workers as they are found, so a folder of 100,000 files starts at
once. Each worker loads, filters, pools and writes whole files (atomically);
the parent only schedules, counts and reports.
"""

from __future__ import annotations

import fnmatch
import glob as _glob
import itertools
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from . import formats, io
from .engine import set_threads
from .pipeline import PoolSpec, apply_filter, apply_pool, encode, prepare, value_type

__all__ = ["Task", "Outcome", "BatchStats", "walk", "plan_tasks", "process_file", "run_batch", "image_extensions"]

def image_extensions() -> Tuple[str, ...]:
    """The file extensions taken without --glob (the readers' own: every image type Pillow opens), lower case with the dot."""
    return formats.batch_extensions()


@dataclass(frozen=True)
class Task:
    """One input file and where its result goes."""

    src: str
    dst: str
    rel: str
    clash: Optional[str] = None  # another input whose output has the same name


@dataclass
class Outcome:
    """What happened to one task (sent back from a worker; one line of the report)."""

    input: str
    output: str
    status: str  # "ok", "skipped" or "failed"
    error: Optional[str] = None
    ms: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    notes: List[str] = field(default_factory=list)

    def report_line(self) -> str:
        return json.dumps(
            {"input": self.input, "output": self.output, "status": self.status, "error": self.error, "ms": round(self.ms, 3)}
        )


@dataclass
class BatchStats:
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    started: float = field(default_factory=time.perf_counter)
    interrupted: bool = False

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def add(self, o: Outcome) -> None:
        if o.status == "ok":
            self.processed += 1
        elif o.status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
        self.bytes_in += o.bytes_in
        self.bytes_out += o.bytes_out

    def line(self) -> str:
        rate = self.processed / self.elapsed if self.elapsed > 0 else 0.0
        head = "interrupted: " if self.interrupted else ""
        return (
            f"{head}{self.processed} processed, {self.skipped} skipped, {self.failed} failed; "
            f"{_size(self.bytes_in)} in, {_size(self.bytes_out)} out; {self.elapsed:.2f} s, {rate:.1f} files/s"
        )


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


# --------------------------------------------------------------------------- the walk


def walk(root: str, *, recursive: bool, exclude: Optional[str] = None) -> Iterator[str]:
    """Yield relative paths of regular files under ``root`` in sorted order, as they are listed.

    Hidden files and folders (a leading dot) are skipped, ``exclude`` (the
    output folder) is not entered, and a folder reached twice through
    symlinks is entered once.
    """
    seen = set()
    excluded = os.path.realpath(exclude) if exclude else None

    def visit(folder: str, rel: str) -> Iterator[str]:
        try:
            st = os.stat(folder)
        except OSError:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            return  # a symlink loop, or the same folder twice
        seen.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = os.path.join(folder, entry.name)
            try:
                is_dir = entry.is_dir()  # follows symlinks; loops stopped by `seen`
                is_file = entry.is_file()
            except OSError:
                continue
            if is_dir:
                if recursive and os.path.realpath(path) != excluded:
                    yield from visit(path, os.path.join(rel, entry.name))
            elif is_file:
                yield os.path.join(rel, entry.name)

    yield from visit(root, "")


def _selected(rel: str, globs: Sequence[str], extensions: Tuple[str, ...]) -> bool:
    name = os.path.basename(rel)
    if globs:
        return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(rel, g) for g in globs)
    return os.path.splitext(name)[1].lower() in extensions


def output_name(rel: str, to: Optional[str]) -> str:
    """The output's relative path: the input's folder and stem, with the format's extension."""
    stem, ext = os.path.splitext(rel)
    fmt = to or ext.lower().lstrip(".")
    if fmt not in formats.OUTPUT_FORMATS:
        fmt = "png"  # an image type poolcli does not write (say .ppm) becomes PNG
    return f"{stem}.{fmt}"


def plan_tasks(
    input_dir: str,
    output_dir: str,
    *,
    globs: Sequence[str] = (),
    recursive: bool = False,
    to: Optional[str] = None,
    shard: Tuple[int, int] = (0, 1),
) -> Iterator[Task]:
    """Yield the tasks for this shard: file number i of the sorted selection goes to shard i % N."""
    extensions = image_extensions()
    index, count = shard
    n = 0
    made: Dict[str, str] = {}  # output -> the input it comes from: a.png and a.jpg may not both write a.png
    for rel in walk(input_dir, recursive=recursive, exclude=output_dir):
        if not _selected(rel, globs, extensions):
            continue
        out_rel = output_name(rel, to)
        first = made.setdefault(out_rel, rel)
        if n % count == index:
            clash = None if first == rel else os.path.join(input_dir, first)
            yield Task(os.path.join(input_dir, rel), os.path.join(output_dir, out_rel), rel, clash)
        n += 1


# --------------------------------------------------------------------------- one file


def process_file(task: Task, spec: PoolSpec, skip_existing: bool, threads: Optional[int] = None) -> Outcome:
    """Load, filter, pool and write one file; never raises for a bad file.

    ``threads``, when given, is set as the engine's threads in the process that runs the file (a Dask worker).
    """
    t0 = time.perf_counter()
    if threads is not None:
        set_threads(threads)
    out = Outcome(task.src, task.dst, "ok")
    try:
        if task.clash:
            raise io.OutputError(f"its output {task.dst} is also {task.clash}'s; rename one, or choose the format with --to")
        if skip_existing and os.path.exists(task.dst) and os.path.getmtime(task.dst) >= os.path.getmtime(task.src):
            out.status = "skipped"
            return out
        out.bytes_in = os.path.getsize(task.src)
        loaded = io.read_input(task.src, max_pixels=spec.max_pixels)
        arr, notes = prepare(loaded, spec)
        out.notes.extend(loaded.notes + notes)
        result = apply_pool(apply_filter(arr, spec), spec)
        fmt = os.path.splitext(task.dst)[1].lstrip(".")
        writer, notes = encode(result, fmt, spec, source_dtype=value_type(loaded), name=task.dst)
        out.notes.extend(notes)
        os.makedirs(os.path.dirname(task.dst) or ".", exist_ok=True)
        out.bytes_out = io.write_output(task.dst, writer)
    except (ValueError, OSError, MemoryError) as exc:
        out.status = "failed"
        out.error = _reason(exc, task.src)
    finally:
        out.ms = (time.perf_counter() - t0) * 1000
    return out


def _reason(exc: BaseException, src: str) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    prefix = src + ": "
    return text[len(prefix):] if text.startswith(prefix) else text


#: Set in each worker by its initialiser: the stop flag the parent raises, and the parent's process id.
_STOP = None
_PARENT = 0


def _worker_init(stop, parent: int) -> None:
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


def _worker_signal(signum, frame):
    # The parent decides when its workers stop: Ctrl-C reaches the whole group, the parent with it, and the parent
    # lets each worker finish its file (so that the counts are exact) or, at a second signal, kills them and sweeps
    # their temporary files. Only a worker whose parent is gone leaves here, at once, with nothing half written.
    if os.getppid() != _PARENT:
        io.remove_temporaries()
        os._exit(130)


def _process_in_worker(tasks: List[Task], spec: PoolSpec, skip_existing: bool) -> List[Outcome]:
    """Process a chunk of tasks; after a stop request (or without a parent) the files not yet started are left out."""
    outcomes = []
    for task in tasks:
        if _STOP is not None and (_STOP.value or os.getppid() != _PARENT):
            break
        outcomes.append(process_file(task, spec, skip_existing))
    return outcomes


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class _StopRequest:
    """Ctrl-C or SIGTERM during a run: the first stops it once the files in progress are written; a second ends at once.

    The first is only noted (and passed to the workers through ``flag``), to be acted on at the next safe point.
    A second kills the workers, removes every temporary file of the files in flight, and exits with 130.
    """

    def __init__(self, in_flight: Dict[object, List[Task]], report: Callable[["Outcome"], bool]) -> None:
        self.requested = False
        self.in_flight = in_flight
        self.report = report
        self.started = time.time()
        self.executor: Optional[ProcessPoolExecutor] = None
        self.flag = None
        self._pid = os.getpid()

    def attach(self, executor: ProcessPoolExecutor, flag) -> None:
        self.executor, self.flag = executor, flag

    def __call__(self, signum, frame) -> None:
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
        _sweep_temporaries(in_flight)
        io.remove_temporaries()
        self._report_written(in_flight)
        if os.isatty(2):
            os.write(2, b"\r\x1b[2K\x1b[?25h")  # clear the progress bar's line and show the cursor it hid
        os.write(2, b"poolcli: interrupted\n")
        os._exit(130)

    def _report_written(self, tasks: List["Task"]) -> None:
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
                except Exception:  # noqa: BLE001 - the process is ending: a report that fails must not stop it
                    break

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


class _Total:
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


# --------------------------------------------------------------------------- the run


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
    dask_timeout: float = 10.0,
) -> BatchStats:
    """Run every task, calling ``on_outcome`` as each finishes; stop early on Ctrl-C, SIGTERM or fail_fast.

    ``on_total`` is called with the number of tasks known so far: as ``recount``
    (a fresh walk of the same tasks, counted in a thread) finds them, and
    exactly once the run's own walk ends. After one Ctrl-C or SIGTERM the files
    in progress are finished and reported, so the stats count exactly the
    outputs written; a second ends the process at once (exit 130).
    """
    stats = BatchStats()
    in_flight: Dict[object, List[Task]] = {}  # what is being written now, by future (or by task on -j 1)
    # Ctrl-C and SIGTERM stop the run at a safe point, so that workers are stopped and the summary so far is
    # printed (the Dask client waits where an interrupt is safe, so there it is raised at once)
    stopper = _StopRequest(in_flight, lambda outcome: report(outcome))
    handler = _raise_interrupt if dask_address else stopper
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    total = _Total(on_total, recount)

    def report(outcome: Outcome) -> bool:
        stats.add(outcome)
        on_outcome(outcome)
        return fail_fast and outcome.status == "failed"

    try:
        if dask_address:
            total.start()
            _run_dask(tasks, spec, skip_existing, report, total, dask_address, dask_timeout, in_flight)
        elif jobs <= 1:
            total.start()
            n = 0
            for task in tasks:
                stopper.check()  # between files: the one being written is finished first
                n += 1
                in_flight[task] = [task]
                outcome = process_file(task, spec, skip_existing)
                del in_flight[task]
                if report(outcome):
                    break
            else:
                total.done(n)
        else:
            _run_pool(tasks, spec, skip_existing, jobs, report, total, in_flight, CHUNK if not fail_fast else 1, stopper)
        stats.interrupted = stopper.requested
    except KeyboardInterrupt:
        stats.interrupted = True
    finally:
        total.close()
        for sig, old in previous.items():
            signal.signal(sig, old)
        _sweep_temporaries(task for chunk in in_flight.values() for task in chunk)
    return stats


#: Files sent to a worker at a time: small files cost less than the round trip of sending them one by one.
CHUNK = 8


WORKER_DIED = "a worker process died (killed, or out of memory?)"


def _mp_context():
    """fork wherever it is safe (not macOS): workers start at once without importing numpy again, and this
    process is their parent, as the stop rules need (under forkserver, Python 3.14's default on Linux, it is not)."""
    if sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


def _run_pool(tasks, spec, skip_existing, jobs, report, total, pending, chunk, stopper):
    from concurrent.futures.process import BrokenProcessPool

    window = jobs * 3  # chunks queued: every worker busy, without listing far ahead of need
    flag = multiprocessing.RawValue("b", 0)  # raised to stop the workers between files; no lock, so a handler may set it
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
                    _sweep_temporaries(batch)
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


def _failed_future() -> Future:
    from concurrent.futures.process import BrokenProcessPool

    fut: Future = Future()
    fut.set_exception(BrokenProcessPool(WORKER_DIED))
    return fut


def _kill_workers(executor: Optional[ProcessPoolExecutor], timeout: float = 5.0) -> None:
    """Kill the workers at once and wait until they are gone (their temporary files are swept by the caller)."""
    procs = list((getattr(executor, "_processes", None) or {}).values())
    for p in procs:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))


def _sweep_temporaries(tasks) -> None:
    """Remove temporary files a killed worker may have left beside an output it was writing (or its link's target)."""
    for task in list(tasks):
        for dst in {task.dst, os.path.realpath(task.dst)}:
            folder, name = os.path.split(dst)
            for tmp in _glob.glob(os.path.join(_glob.escape(folder or "."), _glob.escape("." + name + ".") + "*.tmp")):
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


def _run_dask(tasks, spec, skip_existing, report, total, address, timeout, in_flight):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise io.OutputError("--dask needs Dask distributed: pip install 'poolcli[dask]' (from a clone: pip install '.[dask]')") from None
    try:
        client = Client(address, timeout=f"{timeout}s")
    except (OSError, TimeoutError) as exc:
        raise io.OutputError(f"--dask {address}: cannot reach the scheduler within {timeout:g} s ({exc})") from None
    try:
        window = max(8, 4 * sum(client.nthreads().values()))
        source = iter(tasks)
        n = 0
        futures = as_completed()
        exhausted = False

        def top_up():
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
            except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost connection ...: that file failed
                task = in_flight[fut][0]
                _sweep_temporaries([task])
                outcome = Outcome(task.src, task.dst, "failed", f"the Dask worker running it failed ({type(exc).__name__})")
            in_flight.pop(fut, None)
            if report(outcome):
                for other in list(in_flight):
                    other.cancel()
                break
            top_up()
    finally:
        client.close()
