"""One file of a batch: :func:`process_file` runs the pipeline on it, and its :class:`Outcome` is counted."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Optional

from .. import io
from ..engine import set_threads
from ..pipeline import Note, PoolSpec, run
from .walk import Task

__all__ = ["BatchStats", "Outcome", "process_file"]


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
    notes: list[Note] = field(default_factory=list)

    def report_line(self) -> str:
        return json.dumps(
            {"input": self.input, "output": self.output, "status": self.status, "error": self.error, "ms": round(self.ms, 3)}
        )


def process_file(task: Task, spec: PoolSpec, skip_existing: bool, threads: Optional[int] = None) -> Outcome:
    """Pool one file with :func:`poolcli.pipeline.run`; never raises for a bad file.

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
        out.bytes_in = os.path.getsize(task.src)  # before reading: a file that fails counts too
        result = run(task.src, task.dst, spec, fmt=os.path.splitext(task.dst)[1].lstrip("."), make_folders=True)
        out.notes, out.bytes_out = result.notes, result.bytes_out
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
