"""Adaptive pooling (PyTorch AdaptiveMaxPool2d / AdaptiveAvgPool2d): output i covers [floor(i*n/o), ceil((i+1)*n/o))."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .banded import accumulator, count_dtype, result_dtype, ufunc_of
from .indices import beats
from .reductions import Reduction

Array = npt.NDArray[Any]


def _bounds(n: int, o: int) -> tuple[Array, Array]:
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def pool_adaptive(
    x: Array, out_hw: tuple[int, int], rec: Reduction, return_indices: bool
) -> Array | tuple[Array, Array]:
    """``rec`` over the adaptive windows that give an ``out_hw`` output (and the indices when asked)."""
    oh, ow = out_hw
    if oh * ow * (x.shape[2] if x.ndim == 3 else 1) > np.iinfo(np.intp).max // 8:
        raise ValueError(f"output size {oh}x{ow} has more cells than an array can hold")
    try:
        if return_indices:
            return _adaptive_indices(x, oh, ow, rec)
        h, w = x.shape[:2]
        acc = accumulator(x.dtype, rec, math.ceil(h / oh + 1) * math.ceil(w / ow + 1))
        rows, ch = _adaptive_axis(x, 0, oh, rec, acc)
        total, cw = _adaptive_axis(rows, 1, ow, rec, acc)
        out_dtype = result_dtype(x.dtype, rec)
        if rec.finish == "divide":
            counts = np.multiply.outer(ch, cw).astype(count_dtype(acc, out_dtype))
            total = total / (counts[:, :, None] if x.ndim == 3 else counts)  # in the wide type, then cast
        with np.errstate(over="ignore"):
            result: Array = total.astype(out_dtype, copy=False)
        return result
    except MemoryError:
        raise ValueError(f"output size {oh}x{ow} needs more memory than is free") from None


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


def _adaptive_indices(x: Array, oh: int, ow: int, rec: Reduction) -> tuple[Array, Array]:
    better_than = beats(rec)
    h, w = x.shape[:2]
    flat = (np.arange(h)[:, None] * w + np.arange(w)[None, :]).astype(np.int64)
    if x.ndim == 3:
        flat = np.broadcast_to(flat[:, :, None], x.shape)
    vals, idx = x, flat
    # along the columns first, then the rows: the first best cell in row-major order wins ties, the last NaN wins
    for axis, o in ((1, ow), (0, oh)):
        n = vals.shape[axis]
        starts, ends = _bounds(n, o)
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
