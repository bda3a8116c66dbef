"""The pooling engine: pure numpy, imports nothing of the rest of the project, never prints, lets no numpy warning out.

    reductions  the modes as data (importable without numpy)
    windows     argument checks and window placement (plain Python)
    shapes      output shapes and the cells of every window (plain Python)
    banded      the separable banded passes
    passes      the strided passes along one axis that banded runs
    threads     how many threads, and which passes run on them
    small       cached recipes for small inputs
    results     results in a type the caller names (dtype=)
    adaptive    adaptive and global pooling
    rowsums     the order adaptive and global sums add their rows in; global sums given a band at a time
    indices     max/min with the index of the chosen cell
    pooling     pool, over all of these
    dims        pool1d, pool2d, pool3d: pool with the number of spatial axes fixed
    unpooling   unpool and unpool1d/unpool2d/unpool3d, max pooling undone from its indices
    fractional  fractional_max_pool2d/3d, PyTorch's windows given its random samples
    conv        conv2d, with exact kernels
    accel       OpenCV where it gives the same bits (optional: set_accel, get_accel)

Names load their module on first use, so that the command line can read the
table of modes and the shape arithmetic before numpy is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "DEFAULT_SIZE",
    "MODES",
    "MODE_NAMES",
    "REDUCTIONS",
    "GlobalSums",
    "Reduction",
    "conv2d",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "get_accel",
    "get_threads",
    "output_shape",
    "pool",
    "pool1d",
    "pool2d",
    "pool3d",
    "reduction",
    "set_accel",
    "set_threads",
    "unpool",
    "unpool1d",
    "unpool2d",
    "unpool3d",
    "using_threads",
    "window_cells",
]

_HOME = {
    "GlobalSums": "rowsums",
    "pool": "pooling",
    "pool1d": "dims",
    "pool2d": "dims",
    "pool3d": "dims",
    "unpool": "unpooling",
    "unpool1d": "unpooling",
    "unpool2d": "unpooling",
    "unpool3d": "unpooling",
    "fractional_max_pool2d": "fractional",
    "fractional_max_pool3d": "fractional",
    "conv2d": "conv",
    "output_shape": "shapes",
    "window_cells": "shapes",
    "DEFAULT_SIZE": "windows",
    "MODES": "reductions",
    "MODE_NAMES": "reductions",
    "REDUCTIONS": "reductions",
    "Reduction": "reductions",
    "reduction": "reductions",
    "set_accel": "accel",
    "get_accel": "accel",
    "set_threads": "threads",
    "get_threads": "threads",
    "using_threads": "threads",
}

if TYPE_CHECKING:  # pragma: no cover
    from .threads import get_threads, set_threads, using_threads
    from .accel import get_accel, set_accel
    from .conv import conv2d
    from .fractional import fractional_max_pool2d, fractional_max_pool3d
    from .dims import pool1d, pool2d, pool3d
    from .pooling import pool
    from .reductions import MODE_NAMES, MODES, REDUCTIONS, Reduction, reduction
    from .rowsums import GlobalSums
    from .unpooling import unpool, unpool1d, unpool2d, unpool3d
    from .shapes import output_shape, window_cells
    from .windows import DEFAULT_SIZE


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_HOME))
