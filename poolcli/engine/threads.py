"""The engine's threads: how many, and which passes run on them (numpy releases the GIL in its loops)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np

__all__ = ["get_threads", "set_threads", "using_threads"]

#: Inputs with at least this many elements are split across threads (when the passes gain from it).
_THREAD_MIN_ELEMENTS = 1 << 21
#: Threads for one large input; None means the number of cores.
_threads: int | None = None


def set_threads(n: int | None) -> None:
    """Set how many threads one large input is split across; None (the default) means one per core.

    The setting holds for the whole process. Worker processes that already
    run one per core (``poolcli batch``) set 1.

    >>> set_threads(1); get_threads()
    1
    >>> set_threads(None)
    """
    global _threads
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"threads must be an int >= 1 or None (one per core), got {n!r}")
    _threads = n


def get_threads() -> int:
    """Return how many threads one large input is split across: the number set, else the number of cores."""
    return _threads or os.cpu_count() or 1


@contextmanager
def using_threads(n: int | None) -> Iterator[None]:
    """Within the ``with`` block, split large inputs across ``n`` threads (see :func:`set_threads`)."""
    saved = _threads
    set_threads(n)
    try:
        yield
    finally:
        set_threads(saved)


def run_bands(band: Callable[[int, int], None], n_out: int, per_band: int, size: int, pays: bool = True) -> None:
    """Call band(i0, i1) over the output rows, on several threads when the input is large and ``pays`` says
    a second thread gains (see :func:`threads_pay`)."""
    bands = [(i, min(i + per_band, n_out)) for i in range(0, n_out, per_band)]
    threads = get_threads()
    if pays and threads > 1 and len(bands) > 1 and size >= _THREAD_MIN_ELEMENTS:
        from concurrent.futures import ThreadPoolExecutor

        # a new thread starts with numpy's default error handling: give it the caller's
        state: Any = dict(np.geterr(), call=np.geterrcall())

        def run(group: list[tuple[int, int]]) -> None:
            with np.errstate(**state):
                for b in group:
                    band(*b)

        groups = [bands[t::threads] for t in range(threads)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for f in [pool.submit(run, g) for g in groups if g]:
                f.result()
    else:
        for b in bands:
            band(*b)


def threads_pay(itemsize: int, stride: int) -> bool:
    """Whether pooling passes gain from a second thread, as measured (benchmarks/RESULTS.md, issue 14).

    They gain when a band holds much work per byte read: stride-1 windows on 4- and 8-byte cells (every input
    cell is in several windows). Windows with stride == size and 1- or 2-byte cells run at memory speed on
    one core already, and a second thread, sharing that bandwidth, only adds its start-up and the scheduling
    (0.57-0.93x of one thread).
    """
    return stride == 1 and itemsize >= 4
