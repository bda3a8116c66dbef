"""The separable banded passes that pool every window, and the engine's threads.

The work is done as separable passes, one spatial axis at a time: along the
first axis (the rows of an image, the depth of a volume), then along each
following one, each pass a handful of in-place ``np.maximum`` / ``np.add``
calls over strided slices. The passes run band by band of the first axis's
output, so that a band and its intermediates stay in cache. A 1-D pool is one
pass, a 2-D pool two, a 3-D pool three. Nothing loops over cells or windows
in Python; the loops run over the few offsets inside one window. Large inputs
are split across threads where that pays (:mod:`.threads`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any, Callable, NamedTuple

import numpy as np
import numpy.typing as npt

from .passes import _edged_reduce, _window_reduce, pad_axis, take  # noqa: F401 (indices imports take from here)
from .reductions import Reduction
from .threads import run_bands, threads_pay
from .windows import LAYOUTS, AxisPlan, pieces

Array = npt.NDArray[Any]

#: Input bytes per band of rows: small enough that a band and its intermediate stay in cache.
_BAND_BYTES = 1 << 19


# --------------------------------------------------------------------------- bands


def band_rows(row_bytes: int) -> int:
    """How many rows of ``row_bytes`` bytes one band takes."""
    return max(1, _BAND_BYTES // row_bytes)


# --------------------------------------------------------------------------- types and guards


def check_array(x: npt.ArrayLike, ndim: int = 2, name: str = "input") -> tuple[Array, bool]:
    """The input as a native-order numeric array, bool viewed as uint8; and whether it was bool.

    ``ndim`` spatial axes, optionally followed by channels.
    """
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a bool, integer or float array, got dtype {a.dtype}")
    if a.ndim not in (ndim, ndim + 1):
        raise ValueError(f"{name} must be {LAYOUTS[ndim]}, got {a.ndim}-D with shape {a.shape}")
    if 0 in a.shape:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if not a.dtype.isnative:
        # ufuncs write only native order; the values are the same once swapped
        a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype.kind == "b":
        return a.view(np.uint8), True
    return a, False


def guarded(compute: Callable[[Array], Any], x: Array, cells: float, *, powers: bool = False) -> Any:
    """compute(x), with no numpy warning; cells where a sum of finite values overflowed are computed again.

    ``cells`` bounds a sum: no sum exceeds ``cells`` times the largest ``|x|``.
    When a sum overflowed, ``x`` is scaled by ``2**-e`` with ``2**e`` above
    that bound (exact, but for subnormals), computed again, and scaled back;
    the cells that came out inf or NaN take the new value unless it is NaN.
    So a result is inf only when its true value is beyond the type's range or
    its window holds an infinity, and NaN only when the window holds NaN or
    both infinities. Nothing costs more unless an overflow happened.

    With ``powers`` (LP pooling, whose result scales with its input) it is a
    power that overflows: ``x`` is then scaled so that its largest finite
    ``|x|`` is below 1, in a float type (float64 for integers, at least
    float32), before it is computed again.
    """
    overflowed = []
    with np.errstate(all="ignore", over="call", call=lambda *_: overflowed.append(True)):
        out = compute(x)
    if not overflowed:
        return out
    if powers:
        work = x.astype(np.promote_types(x.dtype, np.float32) if x.dtype.kind == "f" else np.float64)
        finite = np.abs(work[np.isfinite(work)])
        e = math.frexp(float(finite.max()))[1] if finite.size else 0
        with np.errstate(all="ignore"):
            back = np.ldexp(compute(np.ldexp(work, -e)), e)
    elif x.dtype.kind != "f" or not math.isfinite(cells):
        return out
    else:
        scale = 2.0 ** (math.frexp(cells)[1] + 1)
        with np.errstate(all="ignore"):
            back = compute(x * x.dtype.type(1 / scale))
            back *= scale
    fix = ~np.isfinite(out) & ~np.isnan(back)
    out[fix] = back[fix]
    return out


def sum_dtype(dtype: np.dtype[Any], cells: int) -> np.dtype[Any]:
    """An accumulator that holds a sum of ``cells`` values exactly (integers) or well (floats)."""
    if dtype.kind == "f":
        return np.dtype(np.float32) if dtype.itemsize < 4 else dtype
    info = np.iinfo(dtype)
    for cand in (np.int16, np.int32, np.int64) if info.min < 0 else (np.uint16, np.uint32, np.uint64):
        ci = np.iinfo(cand)
        if np.dtype(cand).itemsize >= dtype.itemsize and info.max * cells <= ci.max and info.min * cells >= ci.min:
            return np.dtype(cand)
    return np.dtype(np.float64)


def result_float(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """avg and sum keep a float input's type; integer input gives float64."""
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def result_dtype(dtype: np.dtype[Any], rec: Reduction) -> np.dtype[Any]:
    """The type ``rec`` gives for input of ``dtype``: its own when the value is one of the cells, else a float."""
    return dtype if rec.accumulate == "input" else result_float(dtype)


def accumulator(dtype: np.dtype[Any], rec: Reduction, cells: int) -> np.dtype[Any]:
    """The type ``rec`` folds a window of ``cells`` cells in (powers are floats: they are taken as such)."""
    if rec.accumulate == "input":
        return dtype
    return sum_dtype(result_float(dtype) if rec.prepare else dtype, cells)


def count_dtype(acc: np.dtype[Any], result: np.dtype[Any]) -> np.dtype[Any]:
    """The divisor's type: the result's when sums accumulate in it, else float64.

    (A float16 sum of 4 x 60000 would overflow.)
    """
    return np.dtype(result) if np.dtype(acc) == np.dtype(result) else np.dtype(np.float64)


def neutral(dtype: np.dtype[Any], rec: Reduction) -> int | float:
    """The value a padded cell holds so that it never wins (max/min) or adds nothing (sums)."""
    if rec.pad == "zero":
        return -0.0 if dtype.kind == "f" else 0  # x + -0.0 is x for every x, -0.0 included (x + 0.0 is not)
    if dtype.kind == "f":
        return -math.inf if rec.pad == "lowest" else math.inf
    info = np.iinfo(dtype)
    return int(info.min) if rec.pad == "lowest" else int(info.max)


def ufunc_of(rec: Reduction) -> np.ufunc:
    ufunc: np.ufunc = getattr(np, rec.ufunc)
    return ufunc


def full_windows(plan: AxisPlan) -> tuple[int, int]:
    """The run of windows ``[inner, outer)`` whose every cell counts (lies in ``[count_lo, count_hi)``)."""
    k, s, d, before = plan.k, plan.s, plan.d, plan.before
    inner = min(plan.out, max(0, -(-(plan.count_lo + before) // s)))
    outer = min(plan.out, max(inner, (plan.count_hi - 1 - (k - 1) * d + before) // s + 1))
    return inner, outer


def cells_in(plan: AxisPlan, first: int, stop: int) -> Array:
    """For windows ``first .. stop - 1``, how many of their cells count, as float64; O(windows), whatever their size.

    The windows wholly inside the counted range hold all ``k`` cells: only those at the two ends are counted.
    """
    k, s, d, before, lo, hi = plan.k, plan.s, plan.d, plan.before, plan.count_lo, plan.count_hi
    inner, outer = full_windows(plan)
    counted: Array = np.full(stop - first, float(k))
    for a, b in ((first, min(inner, stop)), (max(outer, first), stop)):
        if b > a:
            fits = b * s + before + abs(lo) + abs(hi) + d < 1 << 62
            starts = np.arange(a, b, dtype=np.int64 if fits else object) * s - before
            begin = np.clip(-((starts - lo) // d), 0, k)  # ceil((lo - start) / d): the first cell at or after lo
            end = np.clip(-((starts - hi) // d), 0, k)
            counted[a - first : b - first] = end - begin
    return counted


class Counts(NamedTuple):
    """Each window's counted cells: along the first axis band by band (for a signal they are as many as its
    output), along the others whole."""

    first: AxisPlan  # the first axis's plan, and where its piece starts among its windows
    offset: int
    rest: list[Array]


def pool_windows(
    x: Array, every: Sequence[AxisPlan], rec: Reduction, out_dtype: np.dtype[Any], p: float | None = None
) -> Array:
    """``rec`` over every window, piece by piece (one piece per axis unless the arguments are extreme).

    ``every`` holds one plan per spatial axis. ``p`` is the LP norm type, for
    a record that prepares powers and finishes with a root.
    """
    ndim = len(every)
    out = np.empty(tuple(plan.out for plan in every) + x.shape[ndim:], dtype=out_dtype)
    rest: list[Array] | None = None
    # LP needs the counts only where a ceil_mode window reaches past the input (the sum of its powers is scaled)
    if rec.finish == "divide" or (rec.finish == "root" and any(full_windows(plan) != (0, plan.out) for plan in every)):
        rest = [cells_in(plan, 0, plan.out) for plan in every[1:]]
    window = math.prod(plan.k for plan in every)
    for parts in itertools.product(*(pieces(plan) for plan in every)):
        target = tuple(slice(pc.first, pc.first + pc.plan.out) for pc in parts)
        block = x[tuple(slice(pc.offset, pc.offset + pc.plan.n) for pc in parts)]
        counts = None if rest is None else Counts(every[0], parts[0].first, [c[t] for c, t in zip(rest, target[1:])])
        _pool_banded(block, [pc.plan for pc in parts], rec, out[target], counts, p, window)
    return out


def _pool_banded(
    x: Array,
    every: Sequence[AxisPlan],
    rec: Reduction,
    out: Array,
    counts: Counts | None,
    p: float | None,
    window: int,
) -> None:
    """``rec`` into ``out`` over bands of the first axis's output: one pass per axis, each band in cache.

    ``counts`` holds each window's counted cells along each axis, for a
    record that divides by them (avg) or, for LP, where a ``ceil_mode``
    window reaches past the input: PyTorch's lp_pool is avg_pool of the
    powers times the ``window`` cells, so such a sum is scaled by
    ``window / counted``.
    """
    ufunc = ufunc_of(rec)
    first, last = every[0], len(every) - 1
    acc = accumulator(x.dtype, rec, math.prod(plan.k for plan in every))
    fill = neutral(x.dtype, rec)
    h = x.shape[0]
    e_h = first.d * (first.k - 1) + 1
    # size bands by the widest array a band holds (the input, the sums, or a float64 output)
    widest = max(x.dtype.itemsize, acc.itemsize, out.dtype.itemsize)
    per_band = band_rows(max(1, (x.size // h) * widest) * max(first.s, 1))
    if counts is not None:
        cdt = count_dtype(acc, out.dtype)
        inner, outer = full_windows(counts.first)
        # the other axes' counts as one array that broadcasts against a band's output
        count_rest: Array | None = None
        for axis, c in enumerate(counts.rest, 1):
            c = c.astype(cdt).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
            count_rest = c if count_rest is None else count_rest * c

    def band(i0: int, i1: int) -> None:
        r0 = i0 * first.s - first.before
        r1 = (i1 - 1) * first.s + e_h - first.before
        part = x[max(r0, 0) : min(r1, h)]
        if rec.prepare == "power":
            assert p is not None
            # p = 2 as PyTorch computes it: square, and sqrt for the root (also the fastest)
            part = np.square(part, dtype=acc) if p == 2 else np.power(part, p, dtype=acc)
        if r0 < 0 or r1 > h:
            part = pad_axis(part, 0, max(-r0, 0), max(r1 - h, 0), fill)
        target = out[i0:i1]
        total = part
        for axis, plan in enumerate(every):
            into = target if axis == last and acc == out.dtype else None
            if axis:
                total = _edged_reduce(total, axis, plan, ufunc, acc, fill, into)
            else:  # the band's rows are padded already (only the first and last band have any)
                total = _window_reduce(total, 0, i1 - i0, plan.k, plan.s, plan.d, ufunc, acc, into)
        counted: Any = None
        if counts is not None:
            a, b = counts.offset + i0, counts.offset + i1
            if inner <= a and b <= outer:  # all k cells of every window of the band count along the first axis
                along: Any = cdt.type(float(counts.first.k))
            else:
                along = cells_in(counts.first, a, b).astype(cdt).reshape((-1,) + (1,) * (x.ndim - 1))
            counted = along if count_rest is None else along * count_rest
        if rec.finish == "divide":
            assert counted is not None
            # integer sums are divided as float64 into the output; float16's float32 sums before they are narrowed
            np.divide(total, counted, out=target, casting="unsafe")
        elif rec.finish == "root":
            assert p is not None
            if counted is not None:
                total = np.multiply(total, window / counted, out=total if total.dtype == counted.dtype else None)
            if p == 2:
                np.sqrt(total, out=target, casting="unsafe")
            else:
                np.power(total, 1 / p, out=target, casting="unsafe")
        elif total is not target:
            with np.errstate(over="ignore"):  # a float16 sum past 65504 is inf, as numpy's own sum would be
                np.copyto(target, total, casting="unsafe")

    run_bands(band, first.out, per_band, x.size, threads_pay(x.dtype.itemsize, first.s))
