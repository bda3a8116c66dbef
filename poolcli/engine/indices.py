"""Pooling that also returns, for each output cell, where in the input its value came from (max and min)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .banded import neutral, pad_axis, take
from .reductions import Reduction
from .windows import AxisPlan, pieces

Array = npt.NDArray[Any]

#: How a cell beats the best so far, for the records that pick one cell.
_BEATS = {"maximum": np.greater, "minimum": np.less}


def beats(rec: Reduction) -> np.ufunc:
    """The comparison under which a cell beats the one chosen so far ('>' for max).

    ValueError for a mode that picks no cell.
    """
    if not rec.indices:
        raise ValueError(f"return_indices applies to max (and min) pooling, not {rec.name}")
    return _BEATS[rec.ufunc]


def flat_indices(shape: tuple[int, ...], ndim: int) -> Array:
    """Each cell's flat index into the spatial axes (``d*H*W + h*W + w``), the same for every channel."""
    spatial = shape[:ndim]
    flat = np.arange(math.prod(spatial), dtype=np.int64).reshape(spatial)
    if len(shape) == ndim:
        return flat
    return np.broadcast_to(flat[..., None], shape)


def pool_indices(x: Array, every: Sequence[AxisPlan], rec: Reduction) -> tuple[Array, Array]:
    """``rec`` (max or min) of every window and the flat input index of the cell it came from."""
    ndim = len(every)
    flat = flat_indices(x.shape, ndim)
    parts = list(itertools.product(*(pieces(plan) for plan in every)))
    shape = tuple(plan.out for plan in every) + x.shape[ndim:]
    values, indices = np.empty(shape, x.dtype), np.empty(shape, np.int64)
    for part in parts:
        cut = tuple(slice(pc.offset, pc.offset + pc.plan.n) for pc in part)
        v, i = x[cut], flat[cut]
        # the last axis first: then the first best cell in row-major order wins ties, and the last NaN
        for axis in reversed(range(ndim)):
            v, i = _best_along(v, i, axis, part[axis].plan, rec)
        if len(parts) == 1:
            return v, i
        target = tuple(slice(pc.first, pc.first + pc.plan.out) for pc in part)
        values[target], indices[target] = v, i
    return values, indices


def _best_along(vals: Array, idx: Array, axis: int, plan: AxisPlan, rec: Reduction) -> tuple[Array, Array]:
    """Reduce (value, index) pairs along an axis; the first best wins, but the last NaN (as PyTorch)."""
    better_than = beats(rec)
    vp = pad_axis(vals, axis, plan.before, plan.after, neutral(vals.dtype, rec))
    ip = pad_axis(idx, axis, plan.before, plan.after, -1)
    span = (plan.out - 1) * plan.s + 1
    best = np.array(take(vp, axis, 0, span, plan.s), copy=True)
    where = np.array(take(ip, axis, 0, span, plan.s), copy=True)
    floats = vals.dtype.kind == "f"
    for j in range(1, plan.k):
        off = j * plan.d
        v = take(vp, axis, off, off + span, plan.s)
        vi = take(ip, axis, off, off + span, plan.s)
        better = better_than(v, best)
        if floats:
            better |= np.isnan(v)
        # a real cell beats padding even when it only ties with the padding value
        better |= (where < 0) & (vi >= 0)
        better &= vi >= 0
        np.copyto(best, v, where=better)
        np.copyto(where, vi, where=better)
    return best, where
