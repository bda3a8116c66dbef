"""Adaptive pooling (PyTorch AdaptiveMax/AvgPool1d/2d/3d): output i covers [floor(i*n/o), ceil((i+1)*n/o)) per axis.

Three routes, by how the windows sit:

- global (one window per axis): one numpy reduction over the spatial axes
  (avg and sum: :class:`.rowsums.GlobalSums`);
- regular (every ``n`` a multiple of its ``o``): fixed windows of ``n/o``
  cells at stride ``n/o``, which :func:`regular_plans` hands to the banded
  passes when the windows are small; an axis of longer ones is one
  reduction over a reshaped axis;
- any other: axis by axis, the windows hold one of two lengths ``L`` or
  ``L + 1`` (``L = n // o``), and the Python loop runs over whichever is
  fewer, the ``o`` windows (each one reduction of a slice) or the ``L + 1``
  offsets inside a window (each one gathered pass over every window). So it
  never runs more than about ``sqrt(n)`` times, each time over at least
  ``sqrt(n)`` rows.

avg and sum in a float type add the rows of a window in the order of
:mod:`.rowsums`, which depends on the window's own rows only (so a window pooled alone, as a streamed
run pools it, gives the same bits), then reduce along the other axes as above;
where one window spans every column (global pooling among them) each row is summed first, then the rows;
the banded passes take no adaptive sums.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .banded import accumulator, count_dtype, result_dtype, ufunc_of
from .indices import beats, best_keys, flat_indices
from .reductions import Reduction
from .results import window_counts
from .rowsums import GlobalSums, row_sums, window_rows
from .windows import AxisPlan

Array = npt.NDArray[Any]

#: A regular window of at most this many cells along every axis goes to the banded passes; longer ones are
#: reduced as slices (a banded pass loops over the cells of a window).
_BANDED_MAX = 8
#: Adaptive sums pool at least this many windows, or this many bytes of their rows, at a time.
_RUN_WINDOWS = 64
_RUN_BYTES = 1 << 21


def _bounds(n: int, o: int) -> tuple[Array, Array]:
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def check_adaptive_size(x_shape: tuple[int, ...], sizes: tuple[int, ...]) -> None:
    """ValueError for an output that no array can hold."""
    if math.prod(sizes) * math.prod(x_shape[len(sizes) :]) > np.iinfo(np.intp).max // 8:
        raise ValueError(f"output size {'x'.join(map(str, sizes))} has more cells than an array can hold")


def regular_plans(shape: tuple[int, ...], sizes: tuple[int, ...]) -> tuple[AxisPlan, ...] | None:
    """The adaptive windows as fixed ones, when every axis divides evenly into small windows; else None."""
    if any(n % o or n // o > _BANDED_MAX for n, o in zip(shape, sizes)) or all(o == 1 for o in sizes):
        return None
    return tuple(AxisPlan(n, n // o, n // o, 1, o, 0, 0, 0, n) for n, o in zip(shape, sizes))


def pool_adaptive(
    x: Array, sizes: tuple[int, ...], rec: Reduction, return_indices: bool, out_dtype: np.dtype[Any] | None = None
) -> Array | tuple[Array, Array]:
    """``rec`` over the adaptive windows that give a ``sizes`` output (and the indices when asked).

    ``out_dtype`` None gives the record's type; an integer type given with a
    sum record returns the exact integer sums in it (for rounded averages).
    """
    ndim = len(sizes)
    try:
        if return_indices:
            return _adaptive_indices(x, sizes, rec)
        cells = math.prod(math.ceil(n / o + 1) for n, o in zip(x.shape, sizes))
        exact_sums = out_dtype is not None and out_dtype.kind in "iu" and rec.accumulate == "sum"
        acc = out_dtype if exact_sums and out_dtype is not None else accumulator(x.dtype, rec, cells)
        ufunc = ufunc_of(rec)
        if all(o == 1 for o in sizes):
            counts = [np.array([n]) for n in x.shape[:ndim]]
            if rec.accumulate == "sum":  # the order of .rowsums, and its own rescue of an overflow
                global_sums = GlobalSums(rec, ndim, acc=acc)
                global_sums.add(x)
                return global_sums.sums()[0] if exact_sums else global_sums.values()
            else:
                total = ufunc.reduce(x, axis=tuple(range(ndim)), dtype=acc, keepdims=True)
        else:
            total, counts = x, []
            if rec.accumulate == "sum" and acc.kind == "f":  # exact integer sums are the same in any order
                total, counts = _adaptive_sums(x, sizes, ufunc, acc)
            for axis, o in enumerate(sizes[len(counts) :], start=len(counts)):
                total, count = _adaptive_axis(total, axis, o, ufunc, acc)
                counts.append(count)
        if exact_sums:
            return np.asarray(total)
        result_type = result_dtype(x.dtype, rec)
        if rec.finish == "divide":
            divisor = count_dtype(acc, result_type)
            if all((c == c[0]).all() for c in counts):  # every window as large: one divisor (the same quotients)
                cells_in: Any = divisor.type(math.prod(int(c[0]) for c in counts))
            else:
                cells_in = window_counts(counts, x.ndim - ndim).astype(divisor)
            total = total / cells_in  # in the wide type, then cast
        with np.errstate(over="ignore"):
            result: Array = np.asarray(total).astype(result_type, copy=False)
        return result
    except MemoryError:
        raise ValueError(f"output size {'x'.join(map(str, sizes))} needs more memory than is free") from None


def adaptive_counts(shape: tuple[int, ...], sizes: tuple[int, ...], channels: int) -> Array:
    """Each adaptive window's cell count (int64), shaped to broadcast over the channels."""
    return window_counts([end - start for start, end in (_bounds(n, o) for n, o in zip(shape, sizes))], channels)


def _adaptive_sums(x: Array, sizes: tuple[int, ...], ufunc: np.ufunc, acc: np.dtype[Any]) -> tuple[Array, list[Array]]:
    """Sums over the adaptive windows: down the first axis in the order of :mod:`.rowsums`, then along the others;
    a run of windows at a time, so that their row sums are reduced while they are in cache. And the lengths."""
    starts, ends = _bounds(x.shape[0], sizes[0])
    if all(o == 1 for o in sizes[1:]):  # one window across: each row summed first, as global pooling sums
        rest = [np.array([n]) for n in x.shape[1 : len(sizes)]]
        rows = row_sums(x, len(sizes), acc).reshape((x.shape[0],) + (1,) * len(rest) + x.shape[len(sizes) :])
        return window_rows(rows, starts, ends, acc), [ends - starts] + rest
    row_bytes = max(1, x[:1].nbytes)
    step = max(_RUN_WINDOWS, _RUN_BYTES // (row_bytes * int((ends - starts).max())))
    out: Array | None = None
    counts = [ends - starts]
    for c in range(0, len(starts), step):
        part = window_rows(x, starts[c : c + step], ends[c : c + step], acc)
        for axis, o in enumerate(sizes[1:], start=1):
            part, count = _adaptive_axis(part, axis, o, ufunc, acc)
            if c == 0:
                counts.append(count)
        if out is None:
            out = part if len(part) == len(starts) else np.empty((len(starts),) + part.shape[1:], acc)
        if out is not part:
            out[c : c + step] = part
    assert out is not None
    return out, counts


def _adaptive_axis(x: Array, axis: int, o: int, ufunc: np.ufunc, acc: np.dtype[Any]) -> tuple[Array, Array]:
    """Adaptive pooling along one axis, looping over windows or offsets, whichever are fewer; and the lengths."""
    n = x.shape[axis]
    if n % o == 0 and n // o <= _BANDED_MAX:  # short regular windows: a pass per cell of a window, strided
        k = n // o
        cut: list[Any] = [slice(None)] * x.ndim
        cut[axis] = slice(0, None, k)
        out = np.array(x[tuple(cut)], dtype=acc, copy=True)
        for j in range(1, k):
            cut[axis] = slice(j, None, k)
            ufunc(out, x[tuple(cut)], out=out, casting="unsafe")
        return out, np.full(o, k)
    if n % o == 0:  # regular windows: one reduction over an axis of n / o cells
        split = x.reshape(x.shape[:axis] + (o, n // o) + x.shape[axis + 1 :])
        return ufunc.reduce(split, axis=axis + 1, dtype=acc), np.full(o, n // o)
    starts, ends = _bounds(n, o)
    lengths = ends - starts
    width = int(lengths.max())
    shape = list(x.shape)
    shape[axis] = o
    if o <= width:
        out = np.empty(shape, dtype=acc)
        index: list[Any] = [slice(None)] * x.ndim
        for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
            index[axis] = slice(a, b)
            part = x[tuple(index)]
            index[axis] = slice(i, i + 1)
            ufunc.reduce(part, axis=axis, dtype=acc, keepdims=True, out=out[tuple(index)])
        return out, lengths
    out = np.array(np.take(x, starts, axis=axis), dtype=acc, copy=True)
    for j in range(1, width):
        pos = starts + j
        beyond = lengths <= j  # windows shorter than j + 1 cells (at most one length less than the widest)
        if beyond.any():
            pos = np.minimum(pos, ends - 1)  # repeating a window's last cell is harmless for max/min
            if ufunc is np.add:
                mask = [1] * x.ndim
                mask[axis] = o
                ufunc(out, np.where(beyond.reshape(mask), 0, np.take(x, pos, axis=axis)), out=out, casting="unsafe")
                continue
        ufunc(out, np.take(x, pos, axis=axis), out=out, casting="unsafe")
    return out, lengths


def _adaptive_indices(x: Array, sizes: tuple[int, ...], rec: Reduction) -> tuple[Array, Array]:
    """max/min of every adaptive window and the flat index of its cell: the first in row-major order, the last NaN."""
    ndim = len(sizes)
    if all(o == 1 for o in sizes):
        flat = x.reshape((-1,) + x.shape[ndim:])
        where = np.expand_dims(_best_positions(flat, 0, rec), 0)
        keep = (1,) * ndim + x.shape[ndim:]
        return np.take_along_axis(flat, where, axis=0).reshape(keep), where.reshape(keep)
    keyed = _keyed_indices(x, sizes, rec)
    if keyed is not None:
        return keyed
    vals, idx = x, flat_indices(x.shape, ndim)
    # along the last axis first: the first best cell in row-major order wins ties, the last NaN wins
    for axis in reversed(range(ndim)):
        vals, idx = _best_along(vals, idx, axis, sizes[axis], rec)
    return vals, idx


def _keyed_indices(x: Array, sizes: tuple[int, ...], rec: Reduction) -> tuple[Array, Array] | None:
    """The indices by :func:`best_keys`, when every axis has more windows than cells in one and no window holds NaN;
    else None. A window one cell short repeats its last cell, which never wins the tie with itself."""
    alongs, starts = [], []
    for axis, (n, o) in enumerate(zip(x.shape, sizes)):
        start, end = _bounds(n, o)
        width = int((end - start).max())
        if o <= width:
            return None

        def cut(a: Array, j: int, axis: int = axis, start: Array = start, end: Array = end) -> Array:
            return np.take(a, np.minimum(start + j, end - 1), axis=axis)

        alongs.append((width, cut))
        starts.append((start, width))
    values, key = best_keys(x, alongs, rec)
    if values.dtype.kind == "f" and np.isnan(values).any():
        return None
    index = np.zeros(values.shape, np.int64)
    radix = math.prod(width for _, width in starts)
    spatial = x.shape[: len(sizes)]
    wide_key = key.astype(np.int64)
    for axis, (start, width) in enumerate(starts):
        radix //= width
        weight = math.prod(spatial[axis + 1 :])
        index += start.reshape((-1,) + (1,) * (values.ndim - 1 - axis)) * weight
        index += (wide_key // radix % width) * weight
    return values, index


def _best_along(vals: Array, idx: Array, axis: int, o: int, rec: Reduction) -> tuple[Array, Array]:
    """The best cell of every adaptive window along ``axis``, and its index, looping over windows or offsets."""
    starts, ends = _bounds(vals.shape[axis], o)
    width = int((ends - starts).max())
    if o <= width:
        best, where = [], []
        index: list[Any] = [slice(None)] * vals.ndim
        for a, b in zip(starts.tolist(), ends.tolist()):
            index[axis] = slice(a, b)
            part = vals[tuple(index)]
            pos = np.expand_dims(_best_positions(part, axis, rec), axis)
            best.append(np.take_along_axis(part, pos, axis=axis))
            where.append(np.take_along_axis(idx[tuple(index)], pos, axis=axis))
        return np.concatenate(best, axis=axis), np.concatenate(where, axis=axis)
    better_than = beats(rec)
    out = np.array(np.take(vals, starts, axis=axis), copy=True)
    chosen = np.array(np.take(idx, starts, axis=axis), copy=True)
    for j in range(1, width):
        pos = np.minimum(starts + j, ends - 1)
        v = np.take(vals, pos, axis=axis)
        better = better_than(v, out)
        if vals.dtype.kind == "f":
            better |= np.isnan(v)
        np.copyto(out, v, where=better)
        np.copyto(chosen, np.take(idx, pos, axis=axis), where=better)
    return out, chosen


def _best_positions(v: Array, axis: int, rec: Reduction) -> Array:
    """Along ``axis``, the position of the first best cell, or of the last NaN where there is one (PyTorch)."""
    pos: Array = (np.argmax if rec.ufunc == "maximum" else np.argmin)(v, axis=axis)
    # argmax and argmin stop at the first NaN: only where they found one is the last one looked for
    if v.dtype.kind == "f" and np.isnan(np.take_along_axis(v, np.expand_dims(pos, axis), axis=axis)).any():
        nan = np.isnan(v)
        last = v.shape[axis] - 1 - np.argmax(np.flip(nan, axis=axis), axis=axis)
        pos = np.where(nan.any(axis=axis), last, pos)
    return pos
