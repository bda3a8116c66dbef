"""The engine's public names under their first home (``poolcli.ops``); the engine itself is :mod:`poolcli.engine`."""

from .engine.banded import get_threads, set_threads, using_threads
from .engine.conv import conv2d
from .engine.pooling import pool2d
from .engine.reductions import MODE_NAMES, MODES, REDUCTIONS, Reduction, reduction
from .engine.windows import DEFAULT_SIZE, output_shape, window_cells

__all__ = [
    "pool2d",
    "conv2d",
    "output_shape",
    "window_cells",
    "DEFAULT_SIZE",
    "MODES",
    "MODE_NAMES",
    "REDUCTIONS",
    "Reduction",
    "reduction",
    "set_threads",
    "get_threads",
    "using_threads",
]
