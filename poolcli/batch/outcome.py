"""One file of a batch: :func:`process_file` runs the pipeline on it; its :class:`Outcome` is counted in the
run's :class:`BatchStats`, and :class:`TaskCount` counts the files ahead for the progress bar."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable

from ..engine import set_threads
from ..formats.errors import OutputError
from ..formats.volumes import input_size, slice_names
from ..pipeline import Note, PoolSpec, run
from .walk import Task

__all__ = ["BatchStats", "Outcome", "TaskCount", "process_file"]


@dataclass
class Outcome:
    """What happened to one task (sent back from a worker; one line of the report)."""

    input: str
    output: str
    status: str  # "ok", "skipped" or "failed"
    error: str | None = None
    ms: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    notes: list[Note] = field(default_factory=list)

    def report_line(self) -> str:
        return json.dumps(
            {
                "input": self.input,
                "output": self.output,
                "status": self.status,
                "error": self.error,
                "ms": round(self.ms, 3),
            }
        )


def process_file(task: Task, spec: PoolSpec, skip_existing: bool, threads: int | None = None) -> Outcome:
    """Pool one file with :func:`poolcli.pipeline.run`; never raises for a bad file.

    ``threads``, when given, is set as the engine's threads in the process that runs the file (a Dask worker).
    """
    t0 = time.perf_counter()
    if threads is not None:
        set_threads(threads)
    out = Outcome(task.src, task.dst, "ok")
    try:
        if task.clash:
            raise OutputError(task.clash)
        if skip_existing and os.path.exists(task.dst) and os.path.getmtime(task.dst) >= _changed(task.src):
            out.status = "skipped"
            return out
        out.bytes_in = input_size(task.src)  # before reading: a file that fails counts too; a folder its slices
        fmt = os.path.splitext(task.dst)[1].lstrip(".")
        result = run(task.src, task.dst, spec, fmt=fmt, make_folders=True, keep_values=False)
        out.notes, out.bytes_out = result.notes, result.bytes_out
    except (ValueError, OSError, MemoryError) as exc:
        out.status = "failed"
        out.error = _reason(exc, task.src)
    finally:
        out.ms = (time.perf_counter() - t0) * 1000
    return out


def _changed(src: str) -> float:
    """When ``src`` last changed: a file's time, or a folder of slices' newest (a slice rewritten changes the volume)."""
    if os.path.isdir(src):
        return max([os.path.getmtime(src)] + [os.path.getmtime(os.path.join(src, n)) for n in slice_names(src)])
    return os.path.getmtime(src)


def _reason(exc: BaseException, src: str) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    for prefix in (src + ": ", src + os.sep):  # a folder's slice is named within it: "scan: s3.csv: ..."
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


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


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


class TaskCount:
    """The number of tasks, counted by a second walk in a thread so that the progress bar knows it (and an ETA) early.

    The run's own walk streams, listing folders only as fast as the work needs them; this one runs ahead. When the
    run's walk ends, its count is final.
    """

    def __init__(self, on_total: Callable[[int], None], recount: Callable[[], Iterable[Task]] | None) -> None:
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
        except Exception:
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
