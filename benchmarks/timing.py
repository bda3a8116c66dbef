"""Shared timing and table printing for the benchmark scripts (not part of the test run)."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable, List, Optional


def median_ms(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of fn() in milliseconds, after warm-up calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def machine() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), platform.processor())
    except OSError:
        model = platform.processor()
    import numpy

    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {numpy.__version__}"


def table(title: str, columns: List[str], rows: List[List[str]]) -> str:
    """A Markdown table, so a run can be pasted into RESULTS.md as it is."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [f"### {title}", "", line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


def fmt(ms: Optional[float]) -> str:
    if ms is None:
        return "-"
    return f"{ms:.1f}" if ms >= 1 else f"{ms:.2f}"


def ratio(a: Optional[float], b: Optional[float]) -> str:
    """b / a as 'N.NNx' (how many times faster poolcli, a, is than b), or '-'."""
    if a is None or b is None or a == 0:
        return "-"
    return f"{b / a:.2f}x"


def optional(name: str):
    try:
        return __import__(name)
    except Exception:
        return None
