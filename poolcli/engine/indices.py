"""Pooling that also returns, for each output cell, where in the input its value came from (max and min)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .banded import band_rows, neutral, pad_axis, take
from .threads import run_bands
from .reductions import Reduction
from .windows import AxisPlan, pieces

Array = npt.NDArray[Any]
#: The j-th cell of every window of an array along one axis.
Cut = Callable[[Array, int], Array]

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
    spatial = x.shape[:ndim]
    weights = [math.prod(spatial[a + 1 :]) for a in range(ndim)]  # a coordinate's part of the flat index
    shape = tuple(plan.out for plan in every) + x.shape[ndim:]
    values, indices = np.empty(shape, x.dtype), np.empty(shape, np.int64)
    for part in itertools.product(*(pieces(plan) for plan in every)):
        cut = tuple(slice(pc.offset, pc.offset + pc.plan.n) for pc in part)
        target = tuple(slice(pc.first, pc.first + pc.plan.out) for pc in part)
        _indices_banded(
            x[cut], [pc.plan for pc in part], [pc.offset for pc in part], weights, rec, values[target], indices[target]
        )
    return values, indices


def _indices_banded(
    x: Array,
    every: Sequence[AxisPlan],
    offsets: Sequence[int],
    weights: Sequence[int],
    rec: Reduction,
    values: Array,
    indices: Array,
) -> None:
    """The (value, index) passes into ``values`` and ``indices``, band by band of the first axis's output.

    ``x`` starts at ``offsets`` in the input; a cell's flat index is the sum of its coordinates times ``weights``.
    Each band builds only its own cells' indices, so no index array the size of the input is ever made.
    """
    ndim, first, h = len(every), every[0], x.shape[0]
    e_h = first.d * (first.k - 1) + 1
    per_band = band_rows(max(1, x.size // h) * (x.dtype.itemsize + 8) * max(first.s, 1))
    # the flat index's part from every axis after the first, the same in every band
    rest: Array = np.zeros((1,) * (x.ndim - 1), dtype=np.int64)
    for axis in range(1, ndim):
        along = (offsets[axis] + np.arange(x.shape[axis], dtype=np.int64)) * weights[axis]
        rest = rest + along.reshape((-1,) + (1,) * (x.ndim - 1 - axis))

    padded = any(plan.before or plan.after for plan in every)

    def band(i0: int, i1: int) -> None:
        r0 = i0 * first.s - first.before
        r1 = (i1 - 1) * first.s + e_h - first.before
        lo, hi = max(r0, 0), min(r1, h)
        v = x[lo:hi]
        rows_plan = AxisPlan(hi - lo, first.k, first.s, first.d, i1 - i0, lo - r0, r1 - hi, 0, 0)
        if not padded:
            best, where = _best_by_keys(v, [rows_plan, *every[1:]], rec, offsets, weights, lo)
            # a window holding NaN has a NaN best (max and min keep NaN): only then is the band done again
            if best.dtype.kind != "f" or not np.isnan(best).any():
                values[i0:i1], indices[i0:i1] = best, where
                return
        nans = v.dtype.kind == "f" and bool(np.isnan(v).any())
        rows = (offsets[0] + np.arange(lo, hi, dtype=np.int64)) * weights[0]
        i = np.broadcast_to(rows.reshape((-1,) + (1,) * (x.ndim - 1)) + rest, v.shape)
        # the last axis first: then the first best cell in row-major order wins ties, and the last NaN
        for axis in reversed(range(1, ndim)):
            v, i = _best_along(v, i, axis, every[axis], rec, nans)
        values[i0:i1], indices[i0:i1] = _best_along(v, i, 0, rows_plan, rec, nans)

    run_bands(band, first.out, per_band, x.size)


def _best_along(
    vals: Array, idx: Array, axis: int, plan: AxisPlan, rec: Reduction, nans: bool = True
) -> tuple[Array, Array]:
    """Reduce (value, index) pairs along an axis; the first best wins, but the last NaN (as PyTorch).

    ``nans`` False says the values hold no NaN, which saves a test per cell.
    """
    better_than = beats(rec)
    padded = plan.before > 0 or plan.after > 0
    vp = pad_axis(vals, axis, plan.before, plan.after, neutral(vals.dtype, rec))
    ip = pad_axis(idx, axis, plan.before, plan.after, -1)
    span = (plan.out - 1) * plan.s + 1
    best = np.array(take(vp, axis, 0, span, plan.s), copy=True)
    where = np.array(take(ip, axis, 0, span, plan.s), copy=True)
    nans = nans and vals.dtype.kind == "f"
    for j in range(1, plan.k):
        off = j * plan.d
        v = take(vp, axis, off, off + span, plan.s)
        vi = take(ip, axis, off, off + span, plan.s)
        better = better_than(v, best)
        if nans:
            better |= np.isnan(v)
        if padded:
            # a real cell beats padding even when it only ties with the padding value
            better |= (where < 0) & (vi >= 0)
            better &= vi >= 0
        np.copyto(best, v, where=better)
        np.copyto(where, vi, where=better)
    return best, where


def best_keys(v: Array, alongs: Sequence[tuple[int, Cut]], rec: Reduction) -> tuple[Array, Array]:
    """Windows without padding or NaN: the best value of each, and a key that says which cell won.

    ``alongs`` gives, axis by axis, the window's cells ``k`` and ``cut(a, j)``,
    the ``j``-th cell of every window of ``a`` along that axis. The first axis
    first, where rows are contiguous: the values by ``np.maximum`` (or minimum),
    and beside them a small integer key, the row-major position of the winning
    cell inside its window. A later axis's cell beats the best so far when it is
    better, or equal with a smaller key from the earlier axes (so ties go
    row-major, as PyTorch).
    """
    better_than = beats(rec)
    pick = np.maximum if rec.ufunc == "maximum" else np.minimum
    key_type = np.min_scalar_type(math.prod(k for k, _ in alongs) - 1)
    key: Array | None = None
    for k, cut in alongs:
        best = cut(v, 0)
        # None while every key is 0 (the first axes had one cell, or none was passed yet)
        best_key: Array | None = None if key is None else cut(key, 0) * key_type.type(k)
        for j in range(1, k):
            vj = cut(v, j)
            better = better_than(vj, best)
            candidate: Any = key_type.type(j)
            if key is not None:
                candidate = cut(key, j) * key_type.type(k) + candidate
                better |= (vj == best) & (candidate < best_key)
            best = pick(best, vj, out=None if j == 1 else best)
            if best_key is None and j == 1 and key_type.itemsize == 1:
                best_key = better.view(key_type)  # 0 or 1: the bools are the keys
            else:
                # key + better * (candidate - key), wrapping in the unsigned key type: a select without
                # np.where, whose branch on random masks costs several times these three passes
                start = np.zeros(better.shape, key_type) if best_key is None else best_key
                step = np.subtract(candidate, start, dtype=key_type)
                step *= better
                best_key = np.add(start, step, out=start if best_key is not None else None)
        v = best
        key = best_key
    return np.array(v, copy=True), np.zeros(v.shape, key_type) if key is None else key


def _best_by_keys(
    v: Array, every: Sequence[AxisPlan], rec: Reduction, offsets: Sequence[int], weights: Sequence[int], first_row: int
) -> tuple[Array, Array]:
    """:func:`best_keys` over strided windows, and the flat indices, made once for the output cells alone from
    the key by a table of each position's offset."""
    alongs = []
    for axis, plan in enumerate(every):
        span = (plan.out - 1) * plan.s + 1

        def cut(a: Array, j: int, axis: int = axis, plan: AxisPlan = plan, span: int = span) -> Array:
            return take(a, axis, j * plan.d, j * plan.d + span, plan.s)

        alongs.append((plan.k, cut))
    v, key = best_keys(v, alongs, rec)
    table: Array = np.zeros((), np.int64)  # each position's offset in the flat index, in row-major order
    index = np.zeros(v.shape, np.int64)
    for axis, plan in enumerate(every):
        table = np.add.outer(table, np.arange(plan.k, dtype=np.int64) * (plan.d * weights[axis]))
        origin = offsets[axis] + (first_row if axis == 0 else 0)
        base = (origin + plan.s * np.arange(plan.out, dtype=np.int64)) * weights[axis]
        index += base.reshape((-1,) + (1,) * (v.ndim - 1 - axis))
    index += table.ravel()[key]
    return v, index
