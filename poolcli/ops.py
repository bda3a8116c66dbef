"""Pooling, convolution and shape arithmetic in pure numpy.

Semantics follow Keras/TensorFlow (``padding="same"``) and PyTorch (explicit
integer padding, ``ceil_mode``, ``count_include_pad``, dilation, adaptive
pooling, ``return_indices``). Arrays are (H, W) or (H, W, C); channels are
pooled independently.

The work is done as separable passes: first along the rows (axis 0), then
along the columns (axis 1), each pass a handful of in-place ``np.maximum`` /
``np.add`` calls over strided slices. Nothing loops over pixels or windows in
Python; the loops run over the few offsets inside one window. Window
placement is exact integer arithmetic, and the passes only visit the offsets
that reach the input, so memory stays within a few times the input's
whatever the window size, stride, dilation or padding.

This module imports nothing from the rest of the project, never prints, and
lets no numpy warning out.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from typing import List, NamedTuple, Optional, Tuple, Union

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


#: Sizes, strides, dilations and output sizes above this are refused: the largest int64, the type in which
#: numpy and PyTorch take them. Below it every one is handled exactly (Python ints), never by allocating per cell.
_MAX_ARG = (1 << 63) - 1


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


def _shown(pair: Tuple[int, int]):
    return pair[0] if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _pair(value, name: str) -> Tuple[int, int]:
    """Normalise an int or an (h, w) pair of ints to a pair, checking 1 <= v <= 2**63 - 1."""
    pair = _ints(value, name, "an int or an (h, w) pair of ints")
    if min(pair) < 1:
        raise ValueError(f"{name} must be >= 1, got {_shown(pair)}")
    if max(pair) > _MAX_ARG:
        raise ValueError(f"{name} must be at most 2**63 - 1, got {_shown(pair)}")
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


def _check_array(x) -> Tuple[np.ndarray, bool]:
    """The input as a native-order numeric array, bool viewed as uint8; and whether it was bool."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise ValueError(f"input must be a bool, integer or float array, got dtype {x.dtype}")
    if x.ndim not in (2, 3):
        raise ValueError(f"input must be 2-D (H, W) or 3-D (H, W, C), got {x.ndim}-D with shape {x.shape}")
    if 0 in x.shape:
        raise ValueError(f"input is empty (shape {x.shape})")
    if not x.dtype.isnative:
        # ufuncs write only native order; the values are the same once swapped
        x = x.astype(x.dtype.newbyteorder("="))
    if x.dtype.kind == "b":
        return x.view(np.uint8), True
    return x, False


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
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if out < 1:
        # PyTorch's rule: with ceil_mode a window longer than the input still pools the part it overlaps,
        # as long as it starts inside (span > -s); without, the window must fit
        raise _NoFit()
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
    if pad not in ("valid", "same") and (pad[0] > k[0] // 2 or pad[1] > k[1] // 2):
        # PyTorch's limit: half the window size, dilation not counted
        raise ValueError(
            f"padding {_fmt_pair(pad)} is more than half the pool window {_fmt_pair(k)}; "
            f"use padding <= {_shown((k[0] // 2, k[1] // 2))}"
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
        empty = _first_empty_window(plan)
        if empty is not None:
            raise ValueError(
                f"with dilation {_fmt_pair(d)} and padding {pad if isinstance(pad, str) else _fmt_pair(pad)}, "
                f"window {empty} along {('rows', 'columns')[axis]} holds only padding cells "
                f"of the {shape[0]}x{shape[1]} input; use a smaller dilation or padding"
            )
    return plans


def _first_empty_window(plan: _AxisPlan) -> Optional[int]:
    """The first window (0-based) whose cells all fall in the padding, or None; O(log) in the sizes.

    Every window starts before ``n`` and ends at or after 0 (the placement rules
    see to that), so only a window starting left of the input can miss it, by
    stepping over it: that needs ``d > n``. Then a window holds at most one real
    cell, and window i (start ``a = i*s - before < 0``) holds one exactly when
    ``a mod d < n``. Those windows are counted with floor sums, and the first
    empty one found by bisection.
    """
    n, s, d, before = plan.n, plan.s, plan.d, plan.before
    if d <= n or before == 0:
        return None
    left = min(plan.out, -(-before // s))  # windows that start left of the input

    def holding(m: int) -> int:  # how many of the first m windows hold a real cell
        return _floor_sum(m, d, s, -before) - _floor_sum(m, d, s, -before - n)

    if holding(left) == left:
        return None
    lo, hi = 0, left - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if holding(mid + 1) < mid + 1:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _floor_sum(n: int, m: int, a: int, b: int) -> int:
    """sum(floor((a*i + b) / m) for i in range(n)) in O(log m) steps (the floor_sum of AtCoder's library)."""
    total = 0
    while n > 0:
        total += (a // m) * n * (n - 1) // 2 + (b // m) * n
        a, b = a % m, b % m
        y = a * n + b
        if y < m:
            break
        n, b, m, a = y // m, y % m, a, m
    return total


def _cells_in(plan: _AxisPlan, lo: int, hi: int) -> np.ndarray:
    """For each window, how many of its cells lie in [lo, hi), as float64; O(windows), whatever the window size."""
    k, s, d, before = plan.k, plan.s, plan.d, plan.before
    fits = plan.out * s + before + abs(lo) + abs(hi) + d < 1 << 62
    starts = np.arange(plan.out, dtype=np.int64 if fits else object) * s - before
    first = np.clip(-((starts - lo) // d), 0, k)  # ceil((lo - start) / d): the first cell at or after lo
    stop = np.clip(-((starts - hi) // d), 0, k)
    return (stop - first).astype(np.float64)


class _Piece(NamedTuple):
    """Windows ``first .. first + plan.out - 1`` of an axis, placed on the input cells ``offset .. offset + plan.n - 1``."""

    first: int
    offset: int
    plan: _AxisPlan


#: A piece whose padded extent passes this many times the input length is pooled window by window.
_MAX_SPREAD = 3


def _pieces(plan: _AxisPlan) -> List[_Piece]:
    """The axis as pieces whose padded extent is about the input's, however large the window, stride or padding.

    Padded cells never change max/min/sum, so only the window offsets that
    reach a real cell in some window are kept, and only the input cells some
    window reaches. That bounds the memory by the input, not by the arguments
    (a 10**18 window with ``ceil_mode`` is a global pool). Windows that lie
    too far apart for one strided pass (a huge padding and stride) are
    pooled one by one.
    """
    whole = _trim(plan, 0, plan.out)
    if whole.plan.before + whole.plan.n + whole.plan.after <= _MAX_SPREAD * plan.n + 2:
        return [whole]
    return [_trim(plan, i, 1) for i in range(plan.out)]


def _trim(plan: _AxisPlan, first: int, count: int) -> _Piece:
    """Windows first .. first+count-1, cut to the offsets and input cells they can reach (see _pieces)."""
    n, k, s, d = plan.n, plan.k, plan.s, plan.d
    a0 = first * s - plan.before  # start of the first window, and of the last
    a1 = (first + count - 1) * s - plan.before
    j_lo = max(0, -(a1 // d))  # the first offset at which the last window is real: ceil(-a1 / d)
    j_hi = min(k - 1, (n - 1 - a0) // d)  # the last offset at which the first window is real
    k2 = j_hi - j_lo + 1
    start, stop = a0 + j_lo * d, a1 + j_hi * d + 1  # the cells read, padding included
    offset, end = max(start, 0), min(stop, n)
    trimmed = _AxisPlan(
        end - offset, k2, s if count > 1 else 1, d if k2 > 1 else 1, count, offset - start, stop - end, 0, 0
    )
    return _Piece(first, offset, trimmed)


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
    the same plan :func:`pool2d` follows, for explaining and for tests; an
    axis whose windows hold more than 2**20 cells in all is refused.

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
        for axis, (n, o) in enumerate(zip(shape[:2], adaptive)):
            _check_listable(axis, int(n) + 2 * o)  # windows of about n/o cells, each overlapping its neighbours by one
            starts, ends = _adaptive_bounds(int(n), o)
            result.append([[(i, True) for i in range(a, b)] for a, b in zip(starts.tolist(), ends.tolist())])
        return tuple(result)
    count = True if count_pad is None else bool(count_pad)
    result = []
    for axis, plan in enumerate(_plans(tuple(shape), size, stride, padding, dilation, ceil_mode, count)):
        _check_listable(axis, plan.out * plan.k)
        windows = []
        for i in range(plan.out):
            start = i * plan.s - plan.before
            cells = [start + j * plan.d for j in range(plan.k)]
            windows.append([(c, plan.count_lo <= c < plan.count_hi) for c in cells])
        result.append(windows)
    return tuple(result)


#: window_cells lists at most this many cells per axis (explain draws every one).
_MAX_LISTED = 1 << 20


def _check_listable(axis: int, cells: int) -> None:
    if cells > _MAX_LISTED:
        raise ValueError(
            f"the windows along {('rows', 'columns')[axis]} hold {cells} cells in all, "
            f"more than the {_MAX_LISTED} that can be listed; use smaller windows or a smaller output size"
        )


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


def _pool_windows(x: np.ndarray, ph: _AxisPlan, pw: _AxisPlan, mode: str) -> np.ndarray:
    """max/min/sum/avg of every window, piece by piece (one piece per axis unless the arguments are extreme)."""
    out = np.empty((ph.out, pw.out) + x.shape[2:], dtype=x.dtype if mode in ("max", "min") else _result_float(x.dtype))
    if mode == "avg":
        counts_h, counts_w = _cells_in(ph, ph.count_lo, ph.count_hi), _cells_in(pw, pw.count_lo, pw.count_hi)
    for rp in _pieces(ph):
        for cp in _pieces(pw):
            rows = slice(rp.first, rp.first + rp.plan.out)
            cols = slice(cp.first, cp.first + cp.plan.out)
            block = x[rp.offset : rp.offset + rp.plan.n, cp.offset : cp.offset + cp.plan.n]
            counts = (counts_h[rows], counts_w[cols]) if mode == "avg" else None
            _pool_banded(block, rp.plan, cp.plan, mode, out[rows, cols], counts)
    return out


def _pool_banded(x: np.ndarray, ph: _AxisPlan, pw: _AxisPlan, mode: str, out: np.ndarray, counts) -> None:
    """max/min/sum/avg into ``out`` over bands of output rows: rows pass then columns pass, each band in cache."""
    ufunc = {"max": np.maximum, "min": np.minimum}.get(mode, np.add)
    out_dtype = out.dtype
    acc = x.dtype if mode in ("max", "min") else _sum_dtype(x.dtype, ph.k * pw.k)
    fill = _neutral(x.dtype, mode)
    h = x.shape[0]
    e_h = ph.d * (ph.k - 1) + 1
    # size bands by the widest array a band holds (the input, the sums, or a float64 output)
    widest = max(x.dtype.itemsize, np.dtype(acc).itemsize, np.dtype(out_dtype).itemsize)
    row_bytes = max(1, (x.size // h) * widest)
    per_band = max(1, _BAND_BYTES // (row_bytes * max(ph.s, 1)))
    if mode == "avg":
        cdt = _count_dtype(acc, out_dtype)
        count_h = counts[0].astype(cdt)
        count_w = counts[1].astype(cdt)
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


def _pool_indices(x: np.ndarray, ph: _AxisPlan, pw: _AxisPlan, mode: str):
    """max/min of every window and the flat input index of the cell it came from."""
    h, w = x.shape[:2]
    flat = np.arange(h * w, dtype=np.int64).reshape(h, w)
    if x.ndim == 3:
        flat = np.broadcast_to(flat[:, :, None], x.shape)
    pieces = [(rp, cp) for rp in _pieces(ph) for cp in _pieces(pw)]
    shape = (ph.out, pw.out) + x.shape[2:]
    values, indices = np.empty(shape, x.dtype), np.empty(shape, np.int64)
    for rp, cp in pieces:
        part = (slice(rp.offset, rp.offset + rp.plan.n), slice(cp.offset, cp.offset + cp.plan.n))
        v, i = _argmax_axis(x[part], flat[part], 1, cp.plan, mode)
        v, i = _argmax_axis(v, i, 0, rp.plan, mode)
        if len(pieces) == 1:
            return v, i
        target = (slice(rp.first, rp.first + rp.plan.out), slice(cp.first, cp.first + cp.plan.out))
        values[target], indices[target] = v, i
    return values, indices


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
    """Reduce (value, index) pairs along an axis; the first best wins, but the last NaN (as PyTorch)."""
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
            better |= np.isnan(v)
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
    # along the columns first, then the rows: the first best cell in row-major order wins ties, the last NaN wins
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
                better |= np.isnan(v)
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
        2-D (H, W) or 3-D (H, W, C) bool, integer or float array, in either
        byte order. Channels are pooled independently.
    size : int or (int, int)
        Pool window, default 2.
    stride : int or (int, int), optional
        Step between windows; default the pool size (as Keras and PyTorch).
    padding : {"valid", "same"} or int or (int, int)
        ``"valid"`` (no padding), ``"same"`` (Keras/TF: output ``ceil(n/s)``,
        the odd padding cell at the bottom/right), or PyTorch's explicit
        symmetric padding, at most half the window size (``size // 2``,
        dilation not counted, as PyTorch).
    mode : {"max", "avg", "min", "sum"}
        The reduction; ``"average"`` and ``"mean"`` mean ``"avg"``. Padded
        cells never win max/min and add nothing to a sum.
    dilation : int or (int, int)
        Spacing between window cells (PyTorch ``dilation``).
    ceil_mode : bool
        Round the output length up (PyTorch ``ceil_mode``); a window that would
        start in the right padding is dropped. A window longer than the input
        pools the part it overlaps, as long as it starts inside.
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
        ``row * W + col`` in the unpadded input of the chosen cell: the first
        in row-major order on ties; in a window holding NaN, the last NaN
        (as PyTorch).

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        In native byte order. max and min keep the input dtype (bool stays
        bool: max is "any", min is "all"). avg and sum keep a float input's
        dtype and give float64 for integer and bool input (bool counts as 0
        and 1). A window holding NaN gives NaN. Sums run in the input's float
        type, but one that overflows on finite input is computed again scaled
        by a power of two, so the avg of 1e308s is 1e308 (PyTorch gives inf);
        a sum beyond the type's range is inf. Indices are int64. Nothing
        warns.

    Raises
    ------
    ValueError
        For a window that does not fit, an argument out of range (sizes up to
        2**63 - 1 are taken), an unknown mode, an input that is not a non-empty
        2-D/3-D bool, integer or float array, or an adaptive output too large
        for memory.

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
    x, was_bool = _check_array(x)
    mode = _mode(mode)
    if return_indices and mode not in ("max", "min"):
        raise ValueError(f"return_indices applies to max (and min) pooling, not {mode}")
    if count_pad is True and isinstance(padding, str) and padding.lower() == "same":
        raise ValueError("count_pad=True cannot be used with padding 'same': Keras never counts its padding")
    adaptive = _output_size(output_size)
    if adaptive is not None:
        _check_adaptive_alone(size, stride, padding, dilation, ceil_mode)
        oh, ow = adaptive
        h, w = x.shape[:2]
        cells = math.ceil(h / oh + 1) * math.ceil(w / ow + 1)  # at most this many cells in a window
        result = _guarded(lambda a: _pool_adaptive(a, adaptive, mode, return_indices), x, cells)
    else:
        count = True if count_pad is None else bool(count_pad)
        ph, pw = _plans(x.shape, size, stride, padding, dilation, ceil_mode, count)
        if return_indices:
            result = _guarded(lambda a: _pool_indices(a, ph, pw, mode), x, 1)
        else:
            cells = min(ph.k, ph.n) * min(pw.k, pw.n)
            result = _guarded(lambda a: _pool_windows(a, ph, pw, mode), x, cells)
    if was_bool and mode in ("max", "min"):
        return (result[0].view(bool), result[1]) if return_indices else result.view(bool)
    return result


def _pool_adaptive(x: np.ndarray, out_hw: Tuple[int, int], mode: str, return_indices: bool):
    oh, ow = out_hw
    if oh * ow * (x.shape[2] if x.ndim == 3 else 1) > np.iinfo(np.intp).max // 8:
        raise ValueError(f"output size {oh}x{ow} has more cells than an array can hold")
    try:
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
    except MemoryError:
        raise ValueError(f"output size {oh}x{ow} needs more memory than is free") from None


def _guarded(compute, x: np.ndarray, cells: float):
    """compute(x), with no numpy warning; cells where a sum of finite values overflowed are computed again.

    ``cells`` bounds a sum: no sum exceeds ``cells`` times the largest ``|x|``.
    When a sum overflowed, ``x`` is scaled by ``2**-e`` with ``2**e`` above
    that bound (exact, but for subnormals), computed again, and scaled back;
    the cells that came out inf or NaN take the new value unless it is NaN.
    So a result is inf only when its true value is beyond the type's range or
    its window holds an infinity, and NaN only when the window holds NaN or
    both infinities. Nothing costs more unless an overflow happened.
    """
    overflowed = []
    with np.errstate(all="ignore", over="call", call=lambda *_: overflowed.append(True)):
        out = compute(x)
    if not overflowed or x.dtype.kind != "f" or not math.isfinite(cells):
        return out
    scale = 2.0 ** (math.frexp(cells)[1] + 1)
    with np.errstate(all="ignore"):
        back = compute(x * x.dtype.type(1 / scale))
        back *= scale
    fix = ~np.isfinite(out) & ~np.isnan(back)
    out[fix] = back[fix]
    return out


def _count_dtype(acc: np.dtype, result: np.dtype) -> np.dtype:
    """The divisor's type: the result's when sums accumulate in it, else float64 (a float16 sum of 4 x 60000 would overflow)."""
    return np.dtype(result) if np.dtype(acc) == np.dtype(result) else np.dtype(np.float64)


# --------------------------------------------------------------------------- convolution


def conv2d(x, kernel, padding: str = "valid") -> np.ndarray:
    """Return the cross-correlation of ``x`` with ``kernel``, as a CNN layer computes it.

    The kernel is not flipped (Keras ``Conv2D``, PyTorch ``conv2d``, OpenCV
    ``filter2D``). Channels of a 3-D input are filtered independently.

    Exact weights: a kernel whose weights are all fractions p/q with q up to
    65536 (integers, 1/9, 1/16, 0.25 ...; a float weight counts as p/q when it
    is the float nearest p/q) is applied as integer weights over one common
    divisor: the products are summed exactly, then divided once. So integer
    weights on integer input (any image, and integer-valued float input) give
    exact integers, and a fractional filter gives the correctly rounded
    quotient, as long as the sums stay below 2**53 (2**24 for float32
    input). Other kernels are applied weight by weight in floating point.

    Parameters
    ----------
    x : array_like
        2-D (H, W) or 3-D (H, W, C) bool, integer or float array, in either
        byte order (bool counts as 0 and 1).
    kernel : array_like
        2-D array of weights (bool, integer or float), 3x3 the common case.
    padding : {"valid", "same"}
        ``"valid"``: output ``(H - kh + 1, W - kw + 1)`` (28x28 becomes 26x26
        with a 3x3 kernel). ``"same"``: zero padding, ``(kh - 1) // 2`` before
        and the rest after, so the output has the input's shape.

    Returns
    -------
    numpy.ndarray
        float32 for float32 (or narrower float) input, float64 otherwise. A
        zero is always +0.0 (never -0.0, which 0 * -1 would give). NaN or inf
        in the input gives NaN or inf where it reaches, as PyTorch; a sum that
        overflows on finite input is computed again scaled (see
        :func:`pool2d`). Nothing warns.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.zeros((5, 5)); one[2, 2] = 1
    >>> conv2d(one, np.arange(1, 10).reshape(3, 3), padding="same")[1:4, 1:4]
    array([[9., 8., 7.],
           [6., 5., 4.],
           [3., 2., 1.]])
    """
    x, _ = _check_array(x)
    k = np.asarray(kernel)
    if k.ndim != 2 or 0 in k.shape:
        raise ValueError(f"kernel must be a non-empty 2-D array, got shape {k.shape}")
    if k.dtype.kind not in "biuf":
        raise ValueError(f"kernel must be numeric, got dtype {k.dtype}")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"conv padding must be 'valid' or 'same', got {padding!r}")
    padding = padding.lower()
    dtype = np.dtype(np.float32) if x.dtype.kind == "f" and x.dtype.itemsize <= 4 else np.dtype(np.float64)
    kh, kw = k.shape
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
    exact = _exact_weights(k)
    if exact is None:
        weights, divisor, factors = k.astype(np.float64).tolist(), 1, None
    else:
        weights, divisor = exact
        factors = _integer_factors(weights)
    row_bytes = max(1, (x.nbytes // h) * dtype.itemsize // x.dtype.itemsize)
    per_band = max(1, _BAND_BYTES // row_bytes)

    def compute(x: np.ndarray) -> np.ndarray:
        # 0 * NaN is NaN: zero weights may be skipped only when the input has no NaN or infinity
        skip_zeros = x.dtype.kind in "iu" or bool(np.isfinite(x).all())
        out = np.empty((oh, ow) + x.shape[2:], dtype=dtype)

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
                negative_zero = _taps(target, [(cols[:, j : j + ow], v[j]) for j in range(kw)], skip_zeros)
            else:
                taps = [(part[i : i + i1 - i0, j : j + ow], weights[i][j]) for i in range(kh) for j in range(kw)]
                negative_zero = _taps(target, taps, skip_zeros)
            if divisor & (divisor - 1):
                np.divide(target, divisor, out=target)
            elif divisor != 1:
                np.multiply(target, 1 / divisor, out=target)  # a power of two: the same, correctly rounded
            # a float quotient may also underflow to -0.0; -0.0 + 0.0 is +0.0, so a zero never prints as -0
            if negative_zero or (divisor != 1 and x.dtype.kind == "f"):
                np.add(target, 0.0, out=target)

        _run_bands(band, oh, per_band, x.size)
        return out

    return _guarded(compute, x, math.fsum(abs(wt) for row in weights for wt in row))


#: Float weights are read as fractions with denominators up to this (1/9, 1/16, 1/273 ...).
_MAX_DENOMINATOR = 1 << 16
#: Integer weights and divisors below this are exact in float32 as in float64.
_EXACT_INT = 1 << 24


def _exact_weights(k: np.ndarray):
    """(W, D): integer weights (nested lists) and a divisor with W / D == k weight for weight, or None."""
    weights = k.ravel().tolist()
    if k.dtype.kind == "f":
        if not all(map(math.isfinite, weights)):
            return None
        fractions = [Fraction(v).limit_denominator(_MAX_DENOMINATOR) for v in weights]
        # the float nearest p/q, in the kernel's own type, must be the weight itself
        if any(k.dtype.type(f.numerator / f.denominator) != v for f, v in zip(fractions, weights)):
            return None
        divisor = math.lcm(*(f.denominator for f in fractions))
        ints = [int(f * divisor) for f in fractions]
    else:
        ints, divisor = [int(v) for v in weights], 1
    if divisor >= _EXACT_INT or max(map(abs, ints)) >= _EXACT_INT:
        return None
    width = k.shape[1]
    return [ints[i : i + width] for i in range(0, len(ints), width)], divisor


def _integer_factors(w):
    """(u, v), integer lists with outer(u, v) == w (nested lists of ints), or None: a rank-one kernel runs as two 1-D passes."""
    rows = [row for row in w if any(row)]
    if len(w) == 1 or len(w[0]) == 1 or not rows:
        return None
    g = math.gcd(*rows[0])
    v = [a // g for a in rows[0]]  # a primitive row: then every row is an integer multiple of it
    c = next(j for j, a in enumerate(v) if a)
    u = [row[c] // v[c] for row in w]
    return (u, v) if all(ui * vj == wij for ui, row in zip(u, w) for vj, wij in zip(v, row)) else None


def _taps(out: np.ndarray, taps, skip_zeros: bool) -> bool:
    """out = sum of weight * slice over the taps, with one temporary buffer; whether out may hold -0.0.

    A sum never turns into -0.0 (+0.0 plus -0.0 is +0.0, and so is a sum that
    cancels), so only its first term can bring one: a weight of 1 or -1 starts
    as ``a + 0.0`` or ``0.0 - a``, which are +0.0 for either zero, and failing
    that a positive weight on integers cannot give -0.0 either.
    """
    if skip_zeros:
        taps = [(a, wt) for a, wt in taps if wt != 0] or taps[:1]
    taps = sorted(taps, key=lambda tap: (abs(tap[1]) != 1, not tap[1] > 0))
    tmp = None
    for n, (a, wt) in enumerate(taps):
        wt = out.dtype.type(wt)
        if n == 0 and wt == 1:
            np.add(a, 0.0, out=out, casting="unsafe")
        elif n == 0 and wt == -1:
            np.subtract(0.0, a, out=out, casting="unsafe")
        elif n == 0:
            np.multiply(a, wt, out=out, casting="unsafe")
        elif wt == 1:
            np.add(out, a, out=out, casting="unsafe")
        elif wt == -1:
            np.subtract(out, a, out=out, casting="unsafe")
        else:
            if tmp is None:
                tmp = np.empty_like(out)
            np.multiply(a, wt, out=tmp, casting="unsafe")
            np.add(out, tmp, out=out)
    a, wt = taps[0]
    return abs(wt) != 1 and (a.dtype.kind == "f" or not wt > 0)


def _run_bands(band, n_out: int, per_band: int, size: int) -> None:
    """Call band(i0, i1) over the output rows, on several threads when the input is large."""
    bands = [(i, min(i + per_band, n_out)) for i in range(0, n_out, per_band)]
    threads = _THREADS or os.cpu_count() or 1
    if threads > 1 and len(bands) > 1 and size >= _THREAD_MIN_ELEMENTS:
        from concurrent.futures import ThreadPoolExecutor

        # a new thread starts with numpy's default error handling: give it the caller's
        state: dict = dict(np.geterr(), call=np.geterrcall())

        def run(group) -> None:
            with np.errstate(**state):
                for b in group:
                    band(*b)

        groups = [bands[t::threads] for t in range(threads)]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for f in [pool.submit(run, g) for g in groups if g]:
                f.result()
    else:
        for b in bands:
            band(*b)
