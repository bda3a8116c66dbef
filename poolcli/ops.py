"""Pooling, convolution and shape arithmetic in pure numpy.

Semantics follow Keras/TensorFlow (``padding="same"``) and PyTorch (explicit
integer padding, ``ceil_mode``, ``count_include_pad``, dilation, adaptive
pooling, ``return_indices``). Arrays are (H, W) or (H, W, C); channels are
pooled independently.

The work is done as separable passes: first along the rows (axis 0), then
along the columns (axis 1), each pass a handful of in-place ``np.maximum`` /
``np.add`` calls over strided slices. Nothing loops over pixels or windows in
Python; the loops run over the few offsets inside one window.

This module imports nothing from the rest of the project and never prints.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple, Optional, Tuple, Union

import numpy as np

__all__ = ["pool2d", "conv2d", "output_shape", "window_cells", "MODES"]

IntPair = Union[int, Tuple[int, int]]
Padding = Union[str, int, Tuple[int, int]]

#: Canonical pooling modes, and the aliases accepted for them.
MODES = ("max", "avg", "min", "sum")
_MODE_ALIASES = {"average": "avg", "mean": "avg"}


class _AxisPlan(NamedTuple):
    """How the windows sit along one axis."""

    n: int  # input length
    k: int  # window size
    s: int  # stride
    d: int  # dilation
    out: int  # number of windows
    before: int  # padding cells before the input
    after: int  # cells the last window reaches past the input (padding + ceil overhang)
    count_lo: int  # avg divides by the window cells inside [count_lo, count_hi)
    count_hi: int


# --------------------------------------------------------------------------- arguments


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _ints(value, name: str, forms: str) -> Tuple[int, int]:
    """An int or an (h, w) pair of ints, as a pair; ``forms`` says what was expected."""
    if _is_int(value):
        return (int(value), int(value))
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) != 2 or not all(_is_int(v) for v in items):
        raise ValueError(f"{name} must be {forms}, got {value!r}")
    return (int(items[0]), int(items[1]))


def _pair(value, name: str) -> Tuple[int, int]:
    """Normalise an int or an (h, w) pair of ints to a pair, checking >= 1."""
    pair = _ints(value, name, "an int or an (h, w) pair of ints")
    if min(pair) < 1:
        shown = pair[0] if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"
        raise ValueError(f"{name} must be >= 1, got {shown}")
    return pair


def _padding(padding) -> Union[str, Tuple[int, int]]:
    """Normalise padding to "valid", "same" or an (h, w) pair of ints >= 0."""
    if isinstance(padding, str):
        low = padding.lower()
        if low in ("valid", "same"):
            return low
        raise ValueError(f"padding must be 'valid', 'same' or an int, got {padding!r}")
    pair = _ints(padding, "padding", "'valid', 'same', an int or an (h, w) pair")
    if min(pair) < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    return pair


def canonical_mode(mode: str) -> str:
    """Return "max", "avg", "min" or "sum" for a mode or its alias ("average", "mean"); ValueError otherwise."""
    return _mode(mode)


def _mode(mode: str) -> str:
    if not isinstance(mode, str):
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    low = mode.lower()
    low = _MODE_ALIASES.get(low, low)
    if low not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)} (or 'average'/'mean' for avg)")
    return low


def _fmt_pair(pair: Tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def _check_array(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise ValueError(f"input must be an integer or float array, got dtype {x.dtype}")
    if x.ndim not in (2, 3):
        raise ValueError(f"input must be 2-D (H, W) or 3-D (H, W, C), got {x.ndim}-D with shape {x.shape}")
    if 0 in x.shape:
        raise ValueError(f"input is empty (shape {x.shape})")
    return x


# --------------------------------------------------------------------------- shapes


def _plan_axis(n: int, k: int, s: int, d: int, padding, ceil_mode: bool, count_pad: bool) -> _AxisPlan:
    """Place the windows along one axis: valid / same (Keras) / explicit padding and ceil_mode (PyTorch)."""
    e = d * (k - 1) + 1
    if padding == "same":
        out = -(-n // s)
        total = max((out - 1) * s + e - n, 0)
        before = total // 2
        after = total - before
        return _AxisPlan(n, k, s, d, out, before, after, 0, n)
    p = 0 if padding == "valid" else padding
    span = n + 2 * p - e
    if span < 0:
        raise _NoFit()
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        # the last window would start in the right padding: PyTorch drops it
        out -= 1
    after = max((out - 1) * s + e - p - n, 0)
    lo, hi = (-p, n + p) if count_pad else (0, n)
    return _AxisPlan(n, k, s, d, out, p, after, lo, hi)


class _NoFit(Exception):
    pass


def _plans(shape, size, stride, padding, dilation, ceil_mode, count_pad=True):
    k = _pair(size, "pool size")
    s = k if stride is None else _pair(stride, "stride")
    d = _pair(dilation, "dilation")
    pad = _padding(padding)
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must be (H, W) or (H, W, C), got {tuple(shape)}")
    if min(shape) < 1:
        raise ValueError(f"input is empty (shape {tuple(shape)})")
    if pad not in ("valid", "same"):
        for axis in (0, 1):
            e = d[axis] * (k[axis] - 1) + 1
            if pad[axis] > e // 2:
                raise ValueError(
                    f"padding {_fmt_pair(pad)} is more than half the pool window "
                    f"{_fmt_pair(tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d)))}; "
                    f"use padding <= {min(dd * (kk - 1) + 1 for kk, dd in zip(k, d)) // 2}"
                )
    try:
        plans = tuple(
            _plan_axis(int(shape[a]), k[a], s[a], d[a], pad if isinstance(pad, str) else pad[a], ceil_mode, count_pad)
            for a in (0, 1)
        )
    except _NoFit:
        e = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
        what = f"pool size {_fmt_pair(k)}" + (f" with dilation {_fmt_pair(d)} (window {_fmt_pair(e)})" if d != (1, 1) else "")
        shown_pad = f"'{pad}'" if isinstance(pad, str) else _fmt_pair(pad)
        raise ValueError(
            f"{what} does not fit the {shape[0]}x{shape[1]} input with padding {shown_pad}; "
            f"use padding 'same' or a smaller size"
        ) from None
    for axis, plan in enumerate(plans):
        empty = _windows_without_real_cell(plan)
        if empty is not None:
            raise ValueError(
                f"with dilation {_fmt_pair(d)} and padding {pad if isinstance(pad, str) else _fmt_pair(pad)}, "
                f"window {empty} along {('rows', 'columns')[axis]} holds only padding cells "
                f"of the {shape[0]}x{shape[1]} input; use a smaller dilation or padding"
            )
    return plans


def _windows_without_real_cell(plan: _AxisPlan) -> Optional[int]:
    """The first window (0-based) whose cells all fall in the padding, or None."""
    starts = np.arange(plan.out) * plan.s - plan.before
    cells = starts[:, None] + np.arange(plan.k)[None, :] * plan.d
    real = ((cells >= 0) & (cells < plan.n)).any(axis=1)
    return None if real.all() else int(np.argmin(real))


def _output_size(output_size) -> Optional[Tuple[int, int]]:
    if output_size is None:
        return None
    if isinstance(output_size, str):
        if output_size.lower() == "global":
            return (1, 1)
        raise ValueError(f"output_size must be 'global', an int or an (h, w) pair, got {output_size!r}")
    return _pair(output_size, "output size")


def _check_adaptive_alone(size, stride, padding, dilation, ceil_mode):
    given = []
    if size not in (None, 2):
        given.append("size")
    if stride is not None:
        given.append("stride")
    if not (isinstance(padding, str) and padding.lower() == "valid"):
        given.append("padding")
    if dilation not in (1, (1, 1)):
        given.append("dilation")
    if ceil_mode:
        given.append("ceil_mode")
    if given:
        raise ValueError(
            f"output_size sets the windows itself; it cannot be combined with {', '.join(given)}"
        )


def output_shape(
    shape,
    size: IntPair = 2,
    stride: Optional[IntPair] = None,
    padding: Padding = "valid",
    *,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    output_size=None,
) -> Tuple[int, ...]:
    """Return the shape that :func:`pool2d` gives for an input of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``.
    size, stride, padding, dilation, ceil_mode, output_size
        As in :func:`pool2d`.

    Returns
    -------
    tuple of int
        ``(OH, OW)`` or ``(OH, OW, C)``.

    Raises
    ------
    ValueError
        When a window does not fit, or an argument is out of range.

    Examples
    --------
    >>> output_shape((26, 26), 2)
    (13, 13)
    >>> output_shape((5, 5, 3), 2, padding="same")
    (3, 3, 3)
    """
    shape = tuple(int(v) for v in shape)
    adaptive = _output_size(output_size)
    if adaptive is not None:
        _check_adaptive_alone(size, stride, padding, dilation, ceil_mode)
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(f"shape must be a non-empty (H, W) or (H, W, C), got {shape}")
        return adaptive + shape[2:]
    ph, pw = _plans(shape, size, stride, padding, dilation, ceil_mode)
    return (ph.out, pw.out) + shape[2:]


def window_cells(
    shape,
    size: IntPair = 2,
    stride: Optional[IntPair] = None,
    padding: Padding = "valid",
    *,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    count_pad: Optional[bool] = None,
    output_size=None,
):
    """Return, for each axis, the cells of every window: lists of (index, counted) pairs.

    ``index`` may lie outside ``[0, n)`` (a padded cell); ``counted`` says
    whether avg counts the cell in its divisor. The slow, explicit view of
    the same plan :func:`pool2d` follows, for explaining and for tests.

    Examples
    --------
    >>> rows, cols = window_cells((3, 3), 3, 2, 1)
    >>> rows[0]
    [(-1, True), (0, True), (1, True)]
    """
    adaptive = _output_size(output_size)
    if adaptive is not None:
        _check_adaptive_alone(size, stride, padding, dilation, ceil_mode)
        result = []
        for n, o in zip(shape[:2], adaptive):
            starts, ends = _adaptive_bounds(int(n), o)
            result.append([[(i, True) for i in range(a, b)] for a, b in zip(starts.tolist(), ends.tolist())])
        return tuple(result)
    count = True if count_pad is None else bool(count_pad)
    result = []
    for plan in _plans(tuple(shape), size, stride, padding, dilation, ceil_mode, count):
        windows = []
        for i in range(plan.out):
            start = i * plan.s - plan.before
            cells = [start + j * plan.d for j in range(plan.k)]
            windows.append([(c, plan.count_lo <= c < plan.count_hi) for c in cells])
        result.append(windows)
    return tuple(result)


# --------------------------------------------------------------------------- pooling


def _neutral(dtype: np.dtype, mode: str):
    """The value a padded cell holds so that it never wins (max/min) or adds nothing (sum/avg)."""
    if mode in ("sum", "avg"):
        return 0
    if dtype.kind == "f":
        return -np.inf if mode == "max" else np.inf
    info = np.iinfo(dtype)
    return info.min if mode == "max" else info.max


def _pad_axis(x: np.ndarray, axis: int, before: int, after: int, value) -> np.ndarray:
    if before == 0 and after == 0:
        return x
    widths = [(0, 0)] * x.ndim
    widths[axis] = (before, after)
    return np.pad(x, widths, mode="constant", constant_values=value)


def _take(x: np.ndarray, axis: int, start: int, stop: int, step: int) -> np.ndarray:
    index = [slice(None)] * x.ndim
    index[axis] = slice(start, stop, step)
    return x[tuple(index)]


#: Input bytes per band of rows: small enough that a band and its intermediate stay in cache.
_BAND_BYTES = 1 << 19
#: Inputs with at least this many elements are split across threads (numpy releases the GIL).
_THREAD_MIN_ELEMENTS = 1 << 21
#: Threads for one large input; None means the number of cores.
_THREADS: Optional[int] = None


def _window_reduce(xp: np.ndarray, axis: int, o: int, k: int, s: int, d: int, ufunc, acc_dtype, out=None) -> np.ndarray:
    """Reduce ``o`` windows along ``axis`` of an already padded array: window i covers ``xp[i*s + j*d]``, j < k.

    Strided slices and in-place ufuncs; for stride 1 and wide windows the
    window is built by doubling (2, 4, 8 ... cells), so a 7-wide max takes 3
    passes instead of 6.
    """
    span = (o - 1) * s + 1

    def sl(arr, off, length=span, step=s):
        return _take(arr, axis, off, off + length, step)

    if k == 1:
        if out is None:
            return np.array(sl(xp, 0), dtype=acc_dtype, copy=True)
        np.copyto(out, sl(xp, 0), casting="unsafe")
        return out
    if s == 1 and d == 1 and k >= 5:
        return _doubling(xp, axis, o, k, ufunc, acc_dtype, out)
    out = ufunc(sl(xp, 0), sl(xp, d), dtype=acc_dtype, out=out)
    for j in range(2, k):
        ufunc(out, sl(xp, j * d), out=out)
    return out


def _doubling(xp: np.ndarray, axis: int, o: int, k: int, ufunc, acc_dtype, out=None) -> np.ndarray:
    """Stride-1 windows of k cells from runs of 1, 2, 4 ... cells (a sparse table)."""
    levels = {1: xp}
    m = 1
    # r_2m[t] = r_m[t] (op) r_m[t + m], as long as needed for windows of k cells
    while 2 * m <= k:
        prev = levels[m]
        length = o + k - 2 * m  # positions needed at this level
        levels[2 * m] = ufunc(_take(prev, axis, 0, length, 1), _take(prev, axis, m, m + length, 1), dtype=acc_dtype)
        m *= 2
    if ufunc is not np.add:
        # max/min are idempotent: two overlapping runs of m cells cover the window
        top = levels[m]
        return ufunc(_take(top, axis, 0, o, 1), _take(top, axis, k - m, k - m + o, 1), dtype=acc_dtype, out=out)
    # a sum takes the binary digits of k, each run once
    offset, result = 0, out
    first = True
    for size in sorted(levels, reverse=True):
        if k - offset >= size:
            part = _take(levels[size], axis, offset, offset + o, 1)
            if first:
                if result is None:
                    result = np.array(part, dtype=acc_dtype, copy=True)
                else:
                    np.copyto(result, part, casting="unsafe")
                first = False
            else:
                np.add(result, part, out=result, casting="unsafe")
            offset += size
    return result


def _pool_banded(x: np.ndarray, ph: _AxisPlan, pw: _AxisPlan, mode: str) -> np.ndarray:
    """max/min/sum/avg over bands of output rows: rows pass then columns pass, each band in cache."""
    ufunc = {"max": np.maximum, "min": np.minimum}.get(mode, np.add)
    if mode in ("max", "min"):
        acc = out_dtype = x.dtype
    else:
        acc, out_dtype = _sum_dtype(x.dtype, ph.k * pw.k), _result_float(x.dtype)
    fill = _neutral(x.dtype, mode)
    h = x.shape[0]
    out = np.empty((ph.out, pw.out) + x.shape[2:], dtype=out_dtype)
    e_h = ph.d * (ph.k - 1) + 1
    # size bands by the widest array a band holds (the input, the sums, or a float64 output)
    widest = max(x.dtype.itemsize, np.dtype(acc).itemsize, np.dtype(out_dtype).itemsize)
    row_bytes = max(1, (x.size // h) * widest)
    per_band = max(1, _BAND_BYTES // (row_bytes * max(ph.s, 1)))
    if mode == "avg":
        cdt = _count_dtype(acc, out_dtype)
        count_h = _window_counts(ph).astype(cdt)
        count_w = _window_counts(pw).astype(cdt)
        if x.ndim == 3:
            count_w = count_w[:, None]

    def band(i0: int, i1: int) -> None:
        r0 = i0 * ph.s - ph.before
        r1 = (i1 - 1) * ph.s + e_h - ph.before
        part = x[max(r0, 0) : min(r1, h)]
        if r0 < 0 or r1 > h:
            part = _pad_axis(part, 0, max(-r0, 0), max(r1 - h, 0), fill)
        rows = _window_reduce(part, 0, i1 - i0, ph.k, ph.s, ph.d, ufunc, acc)
        rows = _pad_axis(rows, 1, pw.before, pw.after, fill)
        target = out[i0:i1]
        divisor = count_h[i0:i1].reshape((-1,) + (1,) * (x.ndim - 1)) * count_w if mode == "avg" else None
        if acc == out_dtype:
            _window_reduce(rows, 1, pw.out, pw.k, pw.s, pw.d, ufunc, acc, out=target)
            if divisor is not None:
                np.divide(target, divisor, out=target)
        else:
            total = _window_reduce(rows, 1, pw.out, pw.k, pw.s, pw.d, ufunc, acc)
            if divisor is None or np.dtype(out_dtype).itemsize >= np.dtype(acc).itemsize:
                # integer sums: into the float64 output, then divided in place (no temporary)
                with np.errstate(over="ignore"):  # a float16 sum past 65504 is inf, as numpy's own sum would be
                    np.copyto(target, total, casting="unsafe")
                if divisor is not None:
                    np.divide(target, divisor, out=target)
            else:
                # a float16 input's float32 sums are divided before they are narrowed
                np.copyto(target, total / divisor, casting="unsafe")

    _run_bands(band, ph.out, per_band, x.size)
    return out


def _window_counts(plan: _AxisPlan) -> np.ndarray:
    """For each window, how many of its cells lie in [count_lo, count_hi)."""
    starts = np.arange(plan.out) * plan.s - plan.before
    cells = starts[:, None] + np.arange(plan.k)[None, :] * plan.d
    return ((cells >= plan.count_lo) & (cells < plan.count_hi)).sum(axis=1)


def _sum_dtype(dtype: np.dtype, cells: int) -> np.dtype:
    """An accumulator that holds a sum of ``cells`` values exactly (integers) or well (floats)."""
    if dtype.kind == "f":
        return np.dtype(np.float32) if dtype.itemsize < 4 else dtype
    info = np.iinfo(dtype)
    for cand in (np.int16, np.int32, np.int64) if info.min < 0 else (np.uint16, np.uint32, np.uint64):
        ci = np.iinfo(cand)
        if np.dtype(cand).itemsize >= dtype.itemsize and info.max * cells <= ci.max and info.min * cells >= ci.min:
            return np.dtype(cand)
    return np.dtype(np.float64)


def _result_float(dtype: np.dtype) -> np.dtype:
    """avg and sum keep a float input's type; integer input gives float64."""
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def _argmax_axis(vals: np.ndarray, idx: np.ndarray, axis: int, plan: _AxisPlan, mode: str):
    """Reduce (value, index) pairs along an axis; the first best wins, NaN beats numbers."""
    fill = _neutral(vals.dtype, mode)
    vp = _pad_axis(vals, axis, plan.before, plan.after, fill)
    ip = _pad_axis(idx, axis, plan.before, plan.after, -1)
    span = (plan.out - 1) * plan.s + 1
    best = np.array(_take(vp, axis, 0, span, plan.s), copy=True)
    where = np.array(_take(ip, axis, 0, span, plan.s), copy=True)
    floats = vals.dtype.kind == "f"
    for j in range(1, plan.k):
        off = j * plan.d
        v = _take(vp, axis, off, off + span, plan.s)
        vi = _take(ip, axis, off, off + span, plan.s)
        better = v > best if mode == "max" else v < best
        if floats:
            better |= np.isnan(v) & ~np.isnan(best)
        # a real cell beats padding even when it only ties with the padding value
        better |= (where < 0) & (vi >= 0)
        better &= vi >= 0
        np.copyto(best, v, where=better)
        np.copyto(where, vi, where=better)
    return best, where


def _adaptive_bounds(n: int, o: int):
    i = np.arange(o)
    starts = (i * n) // o
    ends = -((-(i + 1) * n) // o)
    return starts, ends


def _adaptive_axis(x: np.ndarray, axis: int, o: int, mode: str, acc_dtype):
    """Adaptive pooling along one axis: window i covers [floor(i*n/o), ceil((i+1)*n/o))."""
    n = x.shape[axis]
    starts, ends = _adaptive_bounds(n, o)
    width = int((ends - starts).max())
    out = np.array(np.take(x, starts, axis=axis), dtype=acc_dtype, copy=True)
    shape = [1] * x.ndim
    shape[axis] = o
    for j in range(1, width):
        pos = starts + j
        inside = pos < ends
        v = np.take(x, np.minimum(pos, ends - 1), axis=axis)
        if mode == "max":
            np.maximum(out, v, out=out)  # repeating the last cell is harmless for max/min
        elif mode == "min":
            np.minimum(out, v, out=out)
        else:
            np.add(out, np.where(inside.reshape(shape), v, 0), out=out, casting="unsafe")
    return out, (ends - starts)


def _adaptive_indices(x: np.ndarray, oh: int, ow: int, mode: str):
    h, w = x.shape[:2]
    flat = (np.arange(h)[:, None] * w + np.arange(w)[None, :]).astype(np.int64)
    if x.ndim == 3:
        flat = np.broadcast_to(flat[:, :, None], x.shape)
    vals, idx = x, flat
    # along the columns first, then the rows: the first best cell in row-major order wins ties
    for axis, o in ((1, ow), (0, oh)):
        n = vals.shape[axis]
        starts, ends = _adaptive_bounds(n, o)
        width = int((ends - starts).max())
        best = np.array(np.take(vals, starts, axis=axis), copy=True)
        where = np.array(np.take(idx, starts, axis=axis), copy=True)
        for j in range(1, width):
            pos = np.minimum(starts + j, ends - 1)
            v = np.take(vals, pos, axis=axis)
            better = v > best if mode == "max" else v < best
            if vals.dtype.kind == "f":
                better |= np.isnan(v) & ~np.isnan(best)
            np.copyto(best, v, where=better)
            np.copyto(where, np.take(idx, pos, axis=axis), where=better)
        vals, idx = best, where
    return vals, idx


def pool2d(
    x,
    size: IntPair = 2,
    stride: Optional[IntPair] = None,
    padding: Padding = "valid",
    mode: str = "max",
    *,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    count_pad: Optional[bool] = None,
    output_size=None,
    return_indices: bool = False,
):
    """Return ``x`` pooled over windows of ``size`` moved by ``stride``.

    Parameters
    ----------
    x : array_like
        2-D (H, W) or 3-D (H, W, C) integer or float array. Channels are pooled
        independently.
    size : int or (int, int)
        Pool window, default 2.
    stride : int or (int, int), optional
        Step between windows; default the pool size (as Keras and PyTorch).
    padding : {"valid", "same"} or int or (int, int)
        ``"valid"`` (no padding), ``"same"`` (Keras/TF: output ``ceil(n/s)``,
        the odd padding cell at the bottom/right), or PyTorch's explicit
        symmetric padding, at most half the window.
    mode : {"max", "avg", "min", "sum"}
        The reduction; ``"average"`` and ``"mean"`` mean ``"avg"``. Padded
        cells never win max/min and add nothing to a sum.
    dilation : int or (int, int)
        Spacing between window cells (PyTorch ``dilation``).
    ceil_mode : bool
        Round the output length up (PyTorch ``ceil_mode``); a window that would
        start in the right padding is dropped.
    count_pad : bool, optional
        avg with explicit padding: whether padded cells count in the divisor.
        None means PyTorch's default (they do). With ``"same"`` they never
        count (Keras), and the ceil_mode overhang never counts.
    output_size : int or (int, int) or "global", optional
        Adaptive pooling to this output shape (PyTorch AdaptiveMax/AvgPool2d),
        or ``"global"`` for one value per channel, returned as shape (1, 1[, C]).
        Not combined with size, stride, padding, dilation or ceil_mode.
    return_indices : bool
        max/min only: also return, for each output cell, the flat index
        ``row * W + col`` in the unpadded input of the chosen cell (the first
        in row-major order on ties; a NaN wins over numbers).

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        max and min keep the input dtype. avg and sum keep a float input's
        dtype and give float64 for integer input. A window holding NaN gives NaN.
        Indices are int64.

    Raises
    ------
    ValueError
        For a window that does not fit, an argument out of range, an unknown
        mode, or an input that is not a non-empty 2-D/3-D numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(1, 17).reshape(4, 4)
    >>> pool2d(x, 2)
    array([[ 6,  8],
           [14, 16]])
    >>> pool2d(x, 2, mode="avg")
    array([[ 3.5,  5.5],
           [11.5, 13.5]])
    """
    x = _check_array(x)
    mode = _mode(mode)
    if return_indices and mode not in ("max", "min"):
        raise ValueError(f"return_indices applies to max (and min) pooling, not {mode}")
    if count_pad is True and isinstance(padding, str) and padding.lower() == "same":
        raise ValueError("count_pad=True cannot be used with padding 'same': Keras never counts its padding")
    adaptive = _output_size(output_size)
    if adaptive is not None:
        _check_adaptive_alone(size, stride, padding, dilation, ceil_mode)
        return _pool_adaptive(x, adaptive, mode, return_indices)
    count = True if count_pad is None else bool(count_pad)
    ph, pw = _plans(x.shape, size, stride, padding, dilation, ceil_mode, count)

    if mode in ("max", "min"):
        if return_indices:
            h, w = x.shape[:2]
            flat = np.arange(h * w, dtype=np.int64).reshape(h, w)
            if x.ndim == 3:
                flat = np.broadcast_to(flat[:, :, None], x.shape)
            v, i = _argmax_axis(x, flat, 1, pw, mode)
            return _argmax_axis(v, i, 0, ph, mode)
    return _pool_banded(x, ph, pw, mode)


def _pool_adaptive(x: np.ndarray, out_hw: Tuple[int, int], mode: str, return_indices: bool):
    oh, ow = out_hw
    if return_indices:
        return _adaptive_indices(x, oh, ow, mode)
    if mode in ("max", "min"):
        rows, _ = _adaptive_axis(x, 0, oh, mode, x.dtype)
        out, _ = _adaptive_axis(rows, 1, ow, mode, x.dtype)
        return out
    h, w = x.shape[:2]
    acc = _sum_dtype(x.dtype, math.ceil(h / oh + 1) * math.ceil(w / ow + 1))
    rows, ch = _adaptive_axis(x, 0, oh, mode, acc)
    total, cw = _adaptive_axis(rows, 1, ow, mode, acc)
    result_dtype = _result_float(x.dtype)
    if mode == "avg":
        counts = np.multiply.outer(ch, cw).astype(_count_dtype(acc, result_dtype))
        total = total / (counts[:, :, None] if x.ndim == 3 else counts)  # in the wide type, then cast
    with np.errstate(over="ignore"):
        return total.astype(result_dtype, copy=False)


def _count_dtype(acc: np.dtype, result: np.dtype) -> np.dtype:
    """The divisor's type: the result's when sums accumulate in it, else float64 (a float16 sum of 4 x 60000 would overflow)."""
    return np.dtype(result) if np.dtype(acc) == np.dtype(result) else np.dtype(np.float64)


# --------------------------------------------------------------------------- convolution


def conv2d(x, kernel, padding: str = "valid") -> np.ndarray:
    """Return the cross-correlation of ``x`` with ``kernel``, as a CNN layer computes it.

    The kernel is not flipped (Keras ``Conv2D``, PyTorch ``conv2d``, OpenCV
    ``filter2D``). Channels of a 3-D input are filtered independently.

    Parameters
    ----------
    x : array_like
        2-D (H, W) or 3-D (H, W, C) integer or float array.
    kernel : array_like
        2-D array of weights, 3x3 the common case.
    padding : {"valid", "same"}
        ``"valid"``: output ``(H - kh + 1, W - kw + 1)`` (28x28 becomes 26x26
        with a 3x3 kernel). ``"same"``: zero padding, ``(kh - 1) // 2`` before
        and the rest after, so the output has the input's shape.

    Returns
    -------
    numpy.ndarray
        float32 for float32 (or narrower float) input, float64 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.zeros((5, 5)); one[2, 2] = 1
    >>> conv2d(one, np.arange(1, 10).reshape(3, 3), padding="same")[1:4, 1:4]
    array([[9., 8., 7.],
           [6., 5., 4.],
           [3., 2., 1.]])
    """
    x = _check_array(x)
    k = np.asarray(kernel)
    if k.ndim != 2 or 0 in k.shape:
        raise ValueError(f"kernel must be a non-empty 2-D array, got shape {k.shape}")
    if k.dtype.kind not in "iuf":
        raise ValueError(f"kernel must be numeric, got dtype {k.dtype}")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"conv padding must be 'valid' or 'same', got {padding!r}")
    padding = padding.lower()
    dtype = np.dtype(np.float32) if x.dtype.kind == "f" and x.dtype.itemsize <= 4 else np.dtype(np.float64)
    kh, kw = k.shape
    k = k.astype(np.float64)
    h, w = x.shape[:2]
    if padding == "same":
        pads = ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)
    else:
        pads = ((0, 0), (0, 0))
    oh, ow = h + sum(pads[0]) - kh + 1, w + sum(pads[1]) - kw + 1
    if oh < 1 or ow < 1:
        raise ValueError(
            f"filter {kh}x{kw} does not fit the {h}x{w} input with conv padding 'valid'; use conv padding 'same'"
        )
    # 0 * NaN is NaN: zero weights may be skipped only when the input has no NaN or infinity
    skip_zeros = x.dtype.kind in "iu" or bool(np.isfinite(x).all())
    factors = _separable(k)
    out = np.empty((oh, ow) + x.shape[2:], dtype=dtype)
    row_bytes = max(1, (x.nbytes // h) * dtype.itemsize // x.dtype.itemsize)
    per_band = max(1, _BAND_BYTES // row_bytes)

    def band(i0: int, i1: int) -> None:
        r0, r1 = i0 - pads[0][0], i1 - 1 + kh - pads[0][0]
        part = x[max(r0, 0) : min(r1, h)]
        if r0 < 0 or r1 > h or pads[1] != (0, 0):
            widths = [(max(-r0, 0), max(r1 - h, 0)), pads[1]] + [(0, 0)] * (x.ndim - 2)
            part = np.pad(part, widths, mode="constant")
        target = out[i0:i1]
        if factors is not None:
            u, v = factors
            cols = np.empty((i1 - i0, part.shape[1]) + x.shape[2:], dtype=dtype)
            _taps(cols, [(part[i : i + i1 - i0], u[i]) for i in range(kh)], skip_zeros)
            _taps(target, [(cols[:, j : j + ow], v[j]) for j in range(kw)], skip_zeros)
        else:
            taps = [(part[i : i + i1 - i0, j : j + ow], k[i, j]) for i in range(kh) for j in range(kw)]
            _taps(target, taps, skip_zeros)

    _run_bands(band, oh, per_band, x.size)
    return out


def _separable(k: np.ndarray):
    """(u, v) with outer(u, v) == k exactly, or None: a rank-one kernel runs as two 1-D passes."""
    r, c = np.unravel_index(int(np.argmax(np.abs(k))), k.shape)
    if k[r, c] == 0 or min(k.shape) == 1:
        return None
    v = k[r, :]
    u = k[:, c] / k[r, c]
    return (u, v) if np.array_equal(np.outer(u, v), k) else None


def _taps(out: np.ndarray, taps, skip_zeros: bool) -> None:
    """out = sum of weight * slice over the taps, with one temporary buffer."""
    if skip_zeros:
        taps = [(a, wt) for a, wt in taps if wt != 0] or taps[:1]
    tmp = None
    first = True
    for a, wt in taps:
        wt = out.dtype.type(wt)
        if first:
            np.multiply(a, wt, out=out, casting="unsafe")
            first = False
        elif wt == 1:
            np.add(out, a, out=out, casting="unsafe")
        elif wt == -1:
            np.subtract(out, a, out=out, casting="unsafe")
        else:
            if tmp is None:
                tmp = np.empty_like(out)
            np.multiply(a, wt, out=tmp, casting="unsafe")
            np.add(out, tmp, out=out)


def _run_bands(band, n_out: int, per_band: int, size: int) -> None:
    """Call band(i0, i1) over the output rows, on several threads when the input is large."""
    bands = [(i, min(i + per_band, n_out)) for i in range(0, n_out, per_band)]
    threads = _THREADS or os.cpu_count() or 1
    if threads > 1 and len(bands) > 1 and size >= _THREAD_MIN_ELEMENTS:
        from concurrent.futures import ThreadPoolExecutor

        groups = [bands[t::threads] for t in range(threads)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for f in [pool.submit(lambda g: [band(*b) for b in g], g) for g in groups if g]:
                f.result()
    else:
        for b in bands:
            band(*b)
