"""poolcli: max, average, min and sum pooling of images and matrices.

The engine is pure numpy and follows Keras/TensorFlow and PyTorch cell for cell::

    >>> import numpy as np, poolcli
    >>> poolcli.pool2d(np.arange(1, 17).reshape(4, 4), 2)
    array([[ 6,  8],
           [14, 16]])
"""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    "pool2d",
    "conv2d",
    "output_shape",
    "window_cells",
    "FILTERS",
    "FILTER_ALIASES",
    "FilterError",
    "MODES",
    "parse_filter",
    "__version__",
]

# The public names load numpy on first use, so the command line starts without it (`poolcli --help`).
_HOME = {
    "pool2d": "ops",
    "conv2d": "ops",
    "output_shape": "ops",
    "window_cells": "ops",
    "MODES": "ops",
    "FILTERS": "filters",
    "FILTER_ALIASES": "filters",
    "FilterError": "filters",
    "parse_filter": "filters",
}

if TYPE_CHECKING:  # pragma: no cover
    from .filters import FILTER_ALIASES, FILTERS, FilterError, parse_filter
    from .ops import MODES, conv2d, output_shape, pool2d, window_cells


def __getattr__(name):
    if name in _HOME:
        import importlib

        value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'poolcli' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_HOME))
