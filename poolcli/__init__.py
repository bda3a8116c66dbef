"""poolcli: max, average, min, sum and LP pooling of signals, images, matrices and volumes.

The engine is pure numpy and follows Keras/TensorFlow and PyTorch cell for cell::

    >>> import numpy as np, poolcli
    >>> poolcli.pool2d(np.arange(1, 17).reshape(4, 4), 2)
    array([[ 6,  8],
           [14, 16]])
"""

from typing import TYPE_CHECKING, Any, List

__version__ = "0.1.0"

__all__ = [
    "FILTERS",
    "FILTER_ALIASES",
    "MODES",
    "REDUCTIONS",
    "FilterError",
    "__version__",
    "conv2d",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "get_accel",
    "get_threads",
    "output_shape",
    "parse_filter",
    "pool",
    "pool1d",
    "pool2d",
    "pool3d",
    "set_accel",
    "set_threads",
    "unpool",
    "unpool1d",
    "unpool2d",
    "unpool3d",
    "using_threads",
    "window_cells",
]

# The public names load numpy on first use, so the command line starts without it (`poolcli --help`).
_HOME = {
    "pool": "engine",
    "pool1d": "engine",
    "pool2d": "engine",
    "pool3d": "engine",
    "unpool": "engine",
    "unpool1d": "engine",
    "unpool2d": "engine",
    "unpool3d": "engine",
    "fractional_max_pool2d": "engine",
    "fractional_max_pool3d": "engine",
    "conv2d": "engine",
    "output_shape": "engine",
    "window_cells": "engine",
    "MODES": "engine",
    "REDUCTIONS": "engine",
    "set_accel": "engine",
    "get_accel": "engine",
    "set_threads": "engine",
    "get_threads": "engine",
    "using_threads": "engine",
    "FILTERS": "filters",
    "FILTER_ALIASES": "filters",
    "FilterError": "filters",
    "parse_filter": "filters",
}

if TYPE_CHECKING:  # pragma: no cover
    from .filters import FILTER_ALIASES, FILTERS, FilterError, parse_filter
    from .engine import (
        MODES,
        REDUCTIONS,
        conv2d,
        fractional_max_pool2d,
        fractional_max_pool3d,
        get_accel,
        get_threads,
        output_shape,
        pool,
        pool1d,
        pool2d,
        pool3d,
        set_accel,
        set_threads,
        unpool,
        unpool1d,
        unpool2d,
        unpool3d,
        using_threads,
        window_cells,
    )


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'poolcli' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(list(globals()) + list(_HOME))
