"""Shapes of a run, worked out before any pooling: how many spatial axes the input has, and whether the result fits.

A run pools 1, 2 or 3 spatial axes. A volume is said so (``--volume``); a 1-D
array is a signal; so is a single row or a single column of a matrix, unless
a window option was written as a pair (``-k 1x2`` keeps 2-D meaning). A
signal is pooled along its length and keeps its orientation: a row stays a
row, a column a column.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .engine import output_shape
from .formats.errors import InputError
from .specs import PoolSpec, WindowSpec

__all__ = ["WHAT", "as_2d_window", "check_result_size", "is_signal", "spatial_ndim"]

#: What the spatial axes are called in messages
WHAT = {1: "signal", 2: "matrix", 3: "volume"}


def is_signal(shape: tuple[int, ...], window: WindowSpec) -> bool:
    """Whether a 2-D input (H, W[, C]) of ``shape`` is pooled as a signal: one row or one column, windows of ints.

    >>> is_signal((1, 9), WindowSpec(size=4)), is_signal((9, 1, 3), WindowSpec()), is_signal((1, 9), WindowSpec(size=(1, 4)))
    (True, True, False)
    """
    return len(shape) >= 2 and 1 in shape[:2] and window.axes() == 1


def spatial_ndim(shape: tuple[int, ...], spec: PoolSpec) -> int:
    """How many leading axes of an input of ``shape`` (channels last) are pooled: 3 for a volume, 1 for a signal, else 2."""
    if spec.volume:
        return 3
    if len(shape) == 1 or is_signal(shape, spec.window):
        return 1
    return 2


def as_2d_window(window: WindowSpec, row: bool) -> WindowSpec:
    """The 2-D windows that pool a ``row`` (1, N) or a column (N, 1) as ``window`` pools it as a signal: one cell across.

    >>> as_2d_window(WindowSpec(size=3, stride=2, padding=1), row=True).shape_kwargs()["size"]
    (1, 3)
    """

    def lifted(value: Any, across: int) -> Any:
        if value is None or isinstance(value, (str, tuple)):
            return value  # the size, "valid", "same", "global"; tuples never reach a signal
        return (across, value) if row else (value, across)

    return dataclasses.replace(
        window,
        size=lifted(window.size, 1),
        stride=lifted(window.stride, 1),
        padding=lifted(window.padding, 0),
        dilation=lifted(window.dilation, 1),
        output_size=lifted(window.output_size, 1),
    )


def check_result_size(shape: tuple[int, ...], spec: PoolSpec, name: str, ndim: int = 2) -> None:
    """Refuse, before any work, a padded input or a result of more than ``spec.max_pixels`` pixels (or cells).

    ``shape`` leads with ``ndim`` spatial axes; a signal (``ndim`` 1) may be
    given as its row or column. The padded size is worked out first, by
    arithmetic alone: a vast window or dilation must not allocate even while
    its shape is computed. Raises :class:`InputError` naming
    ``--max-pixels``, or ValueError as the pooling itself would for a window
    that does not fit.
    """
    dims = list(shape[:2] if ndim == 2 or (ndim == 1 and len(shape) >= 2) else shape[:ndim])
    if spec.filter.kernel is not None and len(dims) == 2:
        kh, kw = spec.filter.shape
        if spec.filter.padding == "valid":
            dims = [dims[0] - kh + 1, dims[1] - kw + 1]
        if min(dims) < 1:
            return  # the filter does not fit: conv2d says so
    if ndim == 1 and len(dims) == 2:
        dims = [dims[0] * dims[1]]  # one row or one column: its length
    window = spec.window
    if window.output_size is None:
        padded = [_padded_extent(n, axis, window) for axis, n in enumerate(dims)]
        if math.prod(padded) > spec.max_pixels:
            raise InputError(
                f"{name}: with its padding the input spans {_times(padded)} = {math.prod(padded):,} cells, more than "
                f"--max-pixels {spec.max_pixels:,}; use a smaller window, dilation or padding, or raise --max-pixels"
            )
    out = output_shape(tuple(dims), **window.shape_kwargs(), ndim=ndim)
    if math.prod(out) > spec.max_pixels:
        what = "pixels" if ndim == 2 else "cells"
        raise InputError(
            f"{name}: the result would be {_times(out)} = {math.prod(out):,} {what}, more than --max-pixels "
            f"{spec.max_pixels:,}; raise --max-pixels if this is meant"
        )


def _times(dims: Any) -> str:
    return "x".join(str(n) for n in dims)


def _padded_extent(n: int, axis: int, spec: WindowSpec) -> int:
    """The cells the windows cover along one axis, padding included: the input and its padding, or the last window's reach."""

    def along(v: Any) -> int:
        return int(v[axis] if isinstance(v, tuple) else v)

    k = along(spec.size)
    s = k if spec.stride is None else along(spec.stride)
    e = along(spec.dilation) * (k - 1) + 1  # one window, from its first cell to its last
    if spec.padding == "same":
        return max(n, (-(-n // s) - 1) * s + e)  # Keras: ceil(n / s) windows
    p = 0 if spec.padding == "valid" else along(spec.padding)
    span = max(n + 2 * p - e, 0)
    last = -(-span // s) if spec.ceil_mode else span // s  # PyTorch: where the last window starts, in strides
    return max(n + 2 * p, last * s + e)
