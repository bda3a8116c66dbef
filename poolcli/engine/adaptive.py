"""Adaptive pooling (PyTorch AdaptiveMax/AvgPool1d/2d/3d): output i covers [floor(i*n/o), ceil((i+1)*n/o)) per axis."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .banded import accumulator, count_dtype, result_dtype, ufunc_of
from .indices import beats, flat_indices
from .reductions import Reduction

Array = npt.NDArray[Any]


def _bounds(n: int, o: int) -> tuple[Array, Array]:
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def pool_adaptive(
    x: Array, sizes: tuple[int, ...], rec: Reduction, return_indices: bool
) -> Array | tuple[Array, Array]:
    """``rec`` over the adaptive windows that give a ``sizes`` output (and the indices when asked)."""
    ndim = len(sizes)
    shown = "x".join(map(str, sizes))
    if math.prod(sizes) * math.prod(x.shape[ndim:]) > np.iinfo(np.intp).max // 8:
        raise ValueError(f"output size {shown} has more cells than an array can hold")
    try:
        if return_indices:
            return _adaptive_indices(x, sizes, rec)
        acc = accumulator(x.dtype, rec, math.prod(math.ceil(n / o + 1) for n, o in zip(x.shape, sizes)))
        total, counts = x, []
        for axis, o in enumerate(sizes):
            total, count = _adaptive_axis(total, axis, o, rec, acc)
            counts.append(count)
        out_dtype = result_dtype(x.dtype, rec)
        if rec.finish == "divide":
            cells = functools.reduce(np.multiply.outer, counts).astype(count_dtype(acc, out_dtype))
            total = total / cells.reshape(cells.shape + (1,) * (x.ndim - ndim))  # in the wide type, then cast
        with np.errstate(over="ignore"):
            result: Array = total.astype(out_dtype, copy=False)
        return result
    except MemoryError:
        raise ValueError(f"output size {shown} needs more memory than is free") from None


def _adaptive_axis(x: Array, axis: int, o: int, rec: Reduction, acc: np.dtype[Any]) -> tuple[Array, Array]:
    """Adaptive pooling along one axis; also each window's cell count."""
    ufunc = ufunc_of(rec)
    n = x.shape[axis]
    starts, ends = _bounds(n, o)
    width = int((ends - starts).max())
    out = np.array(np.take(x, starts, axis=axis), dtype=acc, copy=True)
    shape = [1] * x.ndim
    shape[axis] = o
    for j in range(1, width):
        pos = starts + j
        v = np.take(x, np.minimum(pos, ends - 1), axis=axis)
        if ufunc is np.add:
            v = np.where((pos < ends).reshape(shape), v, 0)
        # repeating a window's last cell is harmless for max/min
        ufunc(out, v, out=out, casting="unsafe")
    return out, (ends - starts)


def _adaptive_indices(x: Array, sizes: tuple[int, ...], rec: Reduction) -> tuple[Array, Array]:
    better_than = beats(rec)
    vals, idx = x, flat_indices(x.shape, len(sizes))
    # along the last axis first: the first best cell in row-major order wins ties, the last NaN wins
    for axis in reversed(range(len(sizes))):
        starts, ends = _bounds(vals.shape[axis], sizes[axis])
        width = int((ends - starts).max())
        best = np.array(np.take(vals, starts, axis=axis), copy=True)
        where = np.array(np.take(idx, starts, axis=axis), copy=True)
        for j in range(1, width):
            pos = np.minimum(starts + j, ends - 1)
            v = np.take(vals, pos, axis=axis)
            better = better_than(v, best)
            if vals.dtype.kind == "f":
                better |= np.isnan(v)
            np.copyto(best, v, where=better)
            np.copyto(where, np.take(idx, pos, axis=axis), where=better)
        vals, idx = best, where
    return vals, idx
