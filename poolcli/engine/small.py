"""Small inputs: a recipe per (shape, type, arguments), planned once and cached, that pools in a few ufunc calls.

On an 8x8 input the work is a few microseconds; planning the windows and
checking the arguments would cost ten times that on every call. So the
checks and plans run once per set of arguments (``functools.lru_cache``),
and a call replays the strided ufunc passes: the same passes, in the same
order, as the banded engine (so the values are bit for bit the same), but
for one band, with no threads, and padding made by copying a padded template. Anything
else (bool, float16, LP, adaptive, indices, a large input) returns None and
takes the general path, which also raises every error.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

from .banded import _window_reduce, accumulator, neutral, result_dtype, ufunc_of
from .reductions import Reduction, reduction
from .results import convert, integer_sums, plan_counts, quotient_rounder, saturator, target_type
from .windows import check_ndim, plans

Array = npt.NDArray[Any]
Recipe = Callable[[Array], Any]

#: Inputs up to this many bytes take a cached recipe: one band of the banded engine, and well inside a cache.
SMALL_BYTES = 1 << 16


def small_recipe(x: Array, *args: object) -> Recipe | None:
    """The cached recipe for ``x`` with these arguments (see :func:`_recipe`), or None."""
    if x.nbytes > SMALL_BYTES:
        return None
    try:
        return _recipe(x.shape, x.dtype, *args)
    except TypeError:  # an argument that cannot be hashed (a list): the general path takes it
        return None


@functools.lru_cache(maxsize=256)
def _recipe(
    shape: tuple[int, ...],
    dtype: np.dtype[Any],
    size: object,
    stride: object,
    padding: object,
    mode: object,
    ndim: object,
    dilation: object,
    ceil_mode: object,
    count_pad: object,
    result: object,
) -> Recipe | None:
    """How to pool an input of ``shape`` and ``dtype``: a function of the input, or None for the general path."""
    try:
        nd = check_ndim(ndim)
        rec = reduction(mode)  # type: ignore[arg-type]
        # float16 sums run in float32 and divide in float64 (banded.count_dtype): the general path keeps that
        if (
            dtype.kind not in "iuf"
            or dtype.itemsize < (4 if dtype.kind == "f" else 1)
            or not dtype.isnative
            or len(shape) not in (nd, nd + 1)
            or 0 in shape
        ):
            return None
        if rec.prepare or rec.finish not in (None, "divide"):
            return None
        same = isinstance(padding, str) and padding.lower() == "same"
        if count_pad is not None and (rec.finish != "divide" or (same and count_pad)):
            return None  # the general path refuses these
        every = plans(shape, size, stride, padding, dilation, bool(ceil_mode), count_pad is not False, nd)
        target = target_type(result, dtype, False)
    except ValueError:
        return None
    padded = tuple(plan.before + plan.n + plan.after for plan in every) + shape[nd:]
    if math.prod(padded) > 4 * math.prod(shape) + 64:
        return None  # windows far apart in wide padding: the general path pools only the pieces that reach cells
    cells = math.prod(plan.k for plan in every)
    sums = integer_sums(target, dtype, rec, cells)
    acc = sums if sums is not None else accumulator(dtype, rec, cells)
    out_dtype = result_dtype(dtype, rec)
    ufunc = ufunc_of(rec)
    passes = [_axis_pass(axis, plan.out, plan.k, plan.s, plan.d, ufunc, acc) for axis, plan in enumerate(every)]
    float_sums = rec.accumulate == "sum" and dtype.kind == "f"
    divisor: int | Array = cells
    if rec.finish == "divide":
        divisor = plan_counts(every, len(shape) - nd)
        if not isinstance(divisor, int) and sums is None:
            divisor = divisor.astype(acc if dtype.kind == "f" else np.float64)
    inner = tuple(slice(plan.before, plan.before + plan.n) for plan in every)
    fill = neutral(dtype, rec)
    finish = _finisher(rec, dtype, acc, out_dtype, target, sums, divisor)

    # the input in the accumulator's type before the passes: numpy's ufuncs on mixed types buffer and cast, which
    # costs a microsecond a call on small arrays, more than the one conversion
    template = np.full(padded, fill, acc) if padded != shape else None

    def reduce(x: Array) -> Array:
        if template is not None:
            # a copy of the padded template and one assignment (np.pad costs ten times that on small arrays)
            xp = template.copy()
            xp[inner] = x
            x = xp
        elif x.dtype != acc:
            x = x.astype(acc)
        for one in passes:
            x = one(x)
        return finish(x)

    if not float_sums:
        return reduce
    # inf - inf is NaN and a tiny avg may be subnormal, as in the general path; an overflow is not. The
    # decorator's form of errstate: half the cost of the with statement, and safe across threads
    quiet = np.errstate(all="ignore", over="raise")(reduce)

    def run(x: Array) -> Array | None:
        try:
            return quiet(x)  # type: ignore[no-any-return]
        except FloatingPointError:
            return None  # a sum of finite values overflowed: the general path computes it again, scaled

    return run


def _finisher(
    rec: Reduction,
    dtype: np.dtype[Any],
    acc: np.dtype[Any],
    out_dtype: np.dtype[Any],
    target: np.dtype[Any] | None,
    sums: np.dtype[Any] | None,
    divisor: int | Array,
) -> Recipe:
    """The last steps of a recipe (divide, round, cast), everything that depends only on the arguments worked out
    once: a call on 8x8 costs a microsecond per numpy call, so each one left out counts."""
    if sums is not None:
        assert target is not None
        if rec.finish:
            return quotient_rounder(divisor, target, dtype)
        return saturator(target, sums)
    cast = (lambda v: convert(v, target)) if target is not None else None
    if rec.finish == "divide" and dtype.kind == "f" and acc == out_dtype:
        # float sums in the result's type: divided in place, the same operation as into a new array
        def divide_in_place(total: Array) -> Array:
            np.divide(total, divisor, out=total)
            return total if cast is None else cast(total)

        return divide_in_place

    def finish(total: Array) -> Array:
        if rec.finish == "divide":
            total = np.divide(total, divisor, dtype=out_dtype if dtype.kind != "f" else acc)
        if total.dtype != out_dtype:
            total = total.astype(out_dtype)
        return total if cast is None else cast(total)

    return finish


def _axis_pass(axis: int, o: int, k: int, s: int, d: int, ufunc: np.ufunc, acc: np.dtype[Any]) -> Recipe:
    """One axis's strided pass, its slices made once."""
    if s == 1 and d == 1 and k >= 5:
        return lambda x: _window_reduce(x, axis, o, k, 1, 1, ufunc, acc)
    span = (o - 1) * s + 1
    lead = (slice(None),) * axis
    cuts = [lead + (slice(j * d, j * d + span, s),) for j in range(k)]
    if k == 1:
        return lambda x: np.array(x[cuts[0]], dtype=acc, copy=True)
    first, second, rest = cuts[0], cuts[1], cuts[2:]

    def one(x: Array) -> Array:
        total: Array = ufunc(x[first], x[second], dtype=acc)
        for cut in rest:
            ufunc(total, x[cut], out=total)
        return total

    return one
