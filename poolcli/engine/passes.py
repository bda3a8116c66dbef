"""The strided passes along one axis that every banded pool is made of: padding, slices, and the window reductions.

Each pass reduces the windows along one axis with a handful of in-place ufunc calls over strided slices (a
window of k cells is k - 1 calls, or about log2(k) for wide stride-1 windows); :mod:`.banded` runs them axis
after axis, band by band.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .windows import AxisPlan

__all__ = ["pad_axis", "take"]

Array = npt.NDArray[Any]

#: Interleaved channels up to this many are pooled one by one along a strided axis (see _window_reduce).
_SPLIT_CHANNELS = 8


def pad_axis(x: Array, axis: int, before: int, after: int, value: int | float) -> Array:
    """``x`` with ``before`` and ``after`` cells of ``value`` along ``axis``: one allocation, the margins filled and
    the middle assigned (``np.pad`` costs tens of microseconds more per call, once per band)."""
    if before == 0 and after == 0:
        return x
    shape = list(x.shape)
    shape[axis] += before + after
    out = np.empty(shape, x.dtype)
    lead = (slice(None),) * axis
    out[lead + (slice(0, before),)] = value
    out[lead + (slice(before + x.shape[axis], None),)] = value
    out[lead + (slice(before, before + x.shape[axis]),)] = x
    return out


def take(x: Array, axis: int, start: int, stop: int, step: int) -> Array:
    index: list[slice] = [slice(None)] * x.ndim
    index[axis] = slice(start, stop, step)
    return x[tuple(index)]


def _window_reduce(
    xp: Array, axis: int, o: int, k: int, s: int, d: int, ufunc: np.ufunc, acc: np.dtype[Any], out: Array | None = None
) -> Array:
    """Reduce ``o`` windows along ``axis`` of an already padded array: window i covers ``xp[i*s + j*d]``, j < k.

    Strided slices and in-place ufuncs; for stride 1 and wide windows the
    window is built by doubling (2, 4, 8 ... cells), so a 7-wide max takes 3
    passes instead of 6.
    """
    span = (o - 1) * s + 1

    def sl(off: int) -> Array:
        return take(xp, axis, off, off + span, s)

    if k == 1:
        if out is None:
            return np.array(sl(0), dtype=acc, copy=True)
        np.copyto(out, sl(0), casting="unsafe")
        return out
    if s == 1 and d == 1 and k >= 5:
        return _doubling(xp, axis, o, k, ufunc, acc, out)
    if s > 1 and xp.ndim == axis + 2 and 1 < xp.shape[-1] <= _SPLIT_CHANNELS:
        # strided windows over interleaved channels (RGB): numpy would loop over the few channels innermost,
        # one short loop per pixel; channel by channel its inner loop runs along the row instead (~5x faster)
        shape = list(xp.shape)
        shape[axis] = o
        split = np.empty(shape, acc) if out is None else out
        for c in range(xp.shape[-1]):
            _window_reduce(xp[..., c], axis, o, k, s, d, ufunc, acc, split[..., c])
        return split
    result: Array = ufunc(sl(0), sl(d), dtype=acc, out=out)
    for j in range(2, k):
        ufunc(result, sl(j * d), out=result)
    return result


def _edged_reduce(
    x: Array, axis: int, plan: AxisPlan, ufunc: np.ufunc, acc: np.dtype[Any], fill: int | float, out: Array | None
) -> Array:
    """The windows of ``plan`` along ``axis`` of ``x``, with its padding, without a padded copy of ``x``.

    The windows wholly inside the input are reduced from ``x`` itself; only those that reach into the padding
    are reduced from a padded copy of the few cells at each edge. The cells of every window are combined in
    the same order as from a padded copy (padded cells are neutral), so the values are the same bit for bit.
    """
    k, s, d, before, count = plan.k, plan.s, plan.d, plan.before, plan.out
    n, e = x.shape[axis], plan.d * (plan.k - 1) + 1
    lo = -(-before // s)  # the first window that starts at or after the first cell
    hi = min(count, max(0, (n - e + before) // s + 1))  # past the last window that ends at or before the last cell
    if (before == 0 and plan.after == 0) or hi <= lo:
        padded = pad_axis(x, axis, before, plan.after, fill)
        return _window_reduce(padded, axis, count, k, s, d, ufunc, acc, out)
    shape = list(x.shape)
    shape[axis] = count
    result = np.empty(shape, acc) if out is None else out
    inside = take(x, axis, lo * s - before, n, 1)
    _window_reduce(inside, axis, hi - lo, k, s, d, ufunc, acc, take(result, axis, lo, hi, 1))
    if lo > 0:
        end = (lo - 1) * s - before + e  # past the last cell of window lo - 1
        strip = pad_axis(take(x, axis, 0, min(end, n), 1), axis, before, max(end - n, 0), fill)
        _window_reduce(strip, axis, lo, k, s, d, ufunc, acc, take(result, axis, 0, lo, 1))
    if hi < count:
        end = (count - 1) * s - before + e
        strip = pad_axis(take(x, axis, hi * s - before, n, 1), axis, 0, end - n, fill)
        _window_reduce(strip, axis, count - hi, k, s, d, ufunc, acc, take(result, axis, hi, count, 1))
    return result


def _doubling(
    xp: Array, axis: int, o: int, k: int, ufunc: np.ufunc, acc: np.dtype[Any], out: Array | None = None
) -> Array:
    """Stride-1 windows of k cells from runs of 1, 2, 4 ... cells (a sparse table)."""
    levels = {1: xp}
    m = 1
    # r_2m[t] = r_m[t] (op) r_m[t + m], as long as needed for windows of k cells
    while 2 * m <= k:
        prev = levels[m]
        length = o + k - 2 * m  # positions needed at this level
        levels[2 * m] = ufunc(take(prev, axis, 0, length, 1), take(prev, axis, m, m + length, 1), dtype=acc)
        m *= 2
    if ufunc is not np.add:
        # max/min are idempotent: two overlapping runs of m cells cover the window
        top = levels[m]
        pick: Array = ufunc(take(top, axis, 0, o, 1), take(top, axis, k - m, k - m + o, 1), dtype=acc, out=out)
        return pick
    # a sum takes the binary digits of k, each run once, the largest (m) first
    result = np.array(take(levels[m], axis, 0, o, 1), dtype=acc, copy=True) if out is None else out
    if out is not None:
        np.copyto(result, take(levels[m], axis, 0, o, 1), casting="unsafe")
    offset = m
    for size in sorted(levels, reverse=True)[1:]:
        if k - offset >= size:
            np.add(result, take(levels[size], axis, offset, offset + o, 1), out=result, casting="unsafe")
            offset += size
    return result
