"""The engine's public names under their first home (``poolcli.ops``); the engine itself is :mod:`poolcli.engine`."""

from .engine.threads import get_threads, set_threads, using_threads
from .engine.conv import conv2d
from .engine.dims import pool2d
from .engine.reductions import MODE_NAMES, MODES, REDUCTIONS, Reduction, reduction
from .engine.shapes import output_shape, window_cells
from .engine.windows import DEFAULT_SIZE

__all__ = [
    "DEFAULT_SIZE",
    "MODES",
    "MODE_NAMES",
    "REDUCTIONS",
    "Reduction",
    "conv2d",
    "get_threads",
    "output_shape",
    "pool2d",
    "reduction",
    "set_threads",
    "using_threads",
    "window_cells",
]
