"""Results in a type the caller names (``dtype=``): the exact value rounded half up and saturated into it.

The rule, for a numpy type ``T`` (or ``"same"``, the input's type):

- an integer ``T``: the result is rounded half up (``floor(v + 1/2)``, so
  2.5 -> 3 and -2.5 -> -2) and then saturated to ``T``'s range (300 -> 255
  for uint8, -1 -> 0). An average or sum of integers is rounded from its
  exact value (integer sums, then ``floor((sum + n // 2) / n)``), never
  through a float. A float result is rounded as it is; NaN cannot be held
  and is refused. Bool counts as an integer type of range 0..1.
- a float ``T``: the result cast to it (round to nearest; beyond its range
  it is an infinity).

So an avg 2x2 of uint8 to uint8 is ``(a + b + c + d + 2) >> 2``, which is
what Pillow's ``Image.reduce(2)`` and OpenCV's ``INTER_AREA`` compute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Callable, Union

import numpy as np
import numpy.typing as npt

from .banded import cells_in, full_windows, sum_dtype
from .reductions import Reduction
from .windows import AxisPlan

Array = npt.NDArray[Any]

#: What ``dtype=`` takes: None (the mode's own rule), "same" (the input's type), or a numpy type or its name.
ResultType = Union[None, str, type, np.dtype[Any]]


def target_type(dtype: object, input_dtype: np.dtype[Any], was_bool: bool) -> np.dtype[Any] | None:
    """The type asked for, in native byte order; None for the mode's own rule."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype.lower() == "same":
        return np.dtype(bool) if was_bool else np.dtype(input_dtype)
    try:
        t = np.dtype(dtype)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        t = None
    if t is None or t.kind not in "biuf":
        raise ValueError(f"dtype must be None, 'same' or a numpy bool, integer or float type, got {dtype!r}")
    return t.newbyteorder("=")


def integer_sums(
    target: np.dtype[Any] | None, input_dtype: np.dtype[Any], rec: Reduction, cells: int
) -> np.dtype[Any] | None:
    """The integer type to sum in when an integer result is made from exact integer sums (avg, sum of integers).

    None when the result is made otherwise. ``cells`` bounds a window's cells; the type also holds the
    half divisor added before the division.
    """
    if target is None or target.kind not in "biu" or input_dtype.kind not in "biu" or rec.accumulate != "sum":
        return None
    if rec.finish not in (None, "divide"):
        return None
    acc = sum_dtype(input_dtype, cells + 1)
    return acc if acc.kind in "iu" else None


def rounded_quotient(
    total: Array, counts: int | Array, target: np.dtype[Any], within: np.dtype[Any], inexact: list[bool] | None = None
) -> Array:
    """``total / counts`` rounded half up, exactly (``floor((total + counts // 2) / counts)``), saturated.

    ``total`` (the sums, which this may overwrite) averages cells of type ``within``: the quotient lies in its
    range, so no clipping is needed when ``target`` holds that range. ``inexact``, when given, gets True
    appended if a quotient is not a whole number (a value was rounded).
    """
    if inexact is not None and not inexact:
        if isinstance(counts, int):
            remainder = total & (counts - 1) if counts & (counts - 1) == 0 else total % counts
        else:
            remainder = total % counts
        if remainder.any():
            inexact.append(True)
    return quotient_rounder(counts, target, within)(total)


def quotient_rounder(counts: int | Array, target: np.dtype[Any], within: np.dtype[Any]) -> Callable[[Array], Array]:
    """:func:`rounded_quotient` with ``counts``, ``target`` and ``within`` fixed: what depends on them worked out once."""
    done = saturator(target, within)
    if not isinstance(counts, int):
        wide = counts.astype(np.int64)
        half = wide // 2
        return lambda total: done((total + half) // wide)
    if counts <= 1:
        return done
    shift = counts.bit_length() - 1 if counts & (counts - 1) == 0 else None

    def rounded(total: Array) -> Array:
        total += total.dtype.type(counts // 2)
        if shift is not None:
            total >>= total.dtype.type(shift)
        else:
            total //= total.dtype.type(counts)
        return done(total)

    return rounded


def saturate(v: Array, target: np.dtype[Any], within: np.dtype[Any] | None = None) -> Array:
    """Integers (of ``within``'s range, when given, else of their type's) into ``target``'s range (bool: 0..1),
    then cast to it."""
    return saturator(target, within if within is not None and within.kind in "iu" else v.dtype)(v)


def saturator(target: np.dtype[Any], within: np.dtype[Any]) -> Callable[[Array], Array]:
    """:func:`saturate` for integers of ``within``'s range (an integer type; bool, viewed as uint8, 0..255), its
    bounds worked out once."""
    lo, hi = _range(target)
    have = _range(np.dtype(np.uint8) if within.kind == "b" else within)
    low, high = max(lo, have[0]), min(hi, have[1])
    clip = have[0] < lo or have[1] > hi

    def done(v: Array) -> Array:
        if v.dtype == np.bool_:
            v = v.view(np.uint8)
        if clip:
            v = np.clip(v, low, high)
        return v.astype(target, copy=False)

    return done


def convert(result: Array, target: np.dtype[Any]) -> Array:
    """Any result into ``target``: floats to integers rounded half up, then saturated (NaN refused)."""
    if result.dtype == target:
        return result
    if target.kind == "f":
        with np.errstate(over="ignore"):
            return result.astype(target)
    if result.dtype.kind in "biu":
        return saturate(result, target)
    if np.isnan(result).any():  # not counted: a stream stops at its first band that holds one
        raise ValueError(f"the result holds NaN, which dtype {target} cannot hold")
    lo, hi = _range(target)
    # float32 holds every 8- and 16-bit integer and its halves exactly; wider types round in float64
    work = result if result.dtype.itemsize >= 4 and target.itemsize <= 2 else result.astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf: an infinity saturates below, whatever r + 1 is
        r = np.floor(work)
        r += work - r >= 0.5  # exact: a float minus its floor is exact
    top = float(hi)
    if int(top) > hi:  # 2**63 - 1 is not a float64: clip below it and mend the cells past it
        top = float(np.nextafter(top, 0))
    out = np.clip(r, float(lo), top).astype(target)
    past = r > top
    if past.any():
        out[past] = hi
    return out


def _range(target: np.dtype[Any]) -> tuple[int, int]:
    if target.kind == "b":
        return 0, 1
    info = np.iinfo(target)
    return int(info.min), int(info.max)


def window_counts(counts: Sequence[Array], channels: int) -> Array:
    """The cells of every N-D window, from each axis's window lengths, shaped to broadcast over the channels."""
    cells: Array = counts[0]
    for c in counts[1:]:
        cells = np.multiply.outer(cells, c)
    return cells.reshape(cells.shape + (1,) * channels)


def plan_counts(every: Sequence[AxisPlan], channels: int) -> int | Array:
    """The counted cells (avg's divisor) of every window: one int when every window counts all its cells."""
    if all(full_windows(plan) == (0, plan.out) for plan in every):
        return math.prod(plan.k for plan in every)
    return window_counts([cells_in(plan, 0, plan.out).astype(np.int64) for plan in every], channels)


def avg_2x2_uint8(x: Array, inexact: list[bool] | None = None) -> Array:
    """avg 2x2/2 of a C-contiguous uint8 image of even width into uint8, rounded half up: ``(a+b+c+d+2) >> 2``.

    The 8-bit image's commonest reduction (Pillow's ``reduce(2)``), at integer
    speed: each row read as 16-bit words holds two neighbours, so a mask and a
    shift add the pairs of a row without a widening copy; then the two rows of
    a band add, and the half divisor and shift finish it; band by band in cache. ``inexact``: as for
    :func:`rounded_quotient` (looked for band by band until one is found).
    """
    oh, ow = x.shape[0] // 2, x.shape[1] // 2
    out = np.empty((oh, ow), np.uint8)
    words = x[: 2 * oh].view(np.uint16)  # (2*oh, ow): the low byte is the left cell on little-endian machines
    rows = max(1, (1 << 16) // max(ow, 1))
    low, high = np.empty((2 * rows, ow), np.uint16), np.empty((2 * rows, ow), np.uint16)
    byte, two = np.uint16(0xFF), np.uint16(2)
    for i in range(0, oh, rows):
        n = min(rows, oh - i)
        band, lo, hi = words[2 * i : 2 * (i + n)], low[: 2 * n], high[: 2 * n]
        np.bitwise_and(band, byte, out=lo)
        np.right_shift(band, np.uint16(8), out=hi)
        lo += hi  # each word: the sum of its two cells
        pair = np.add(lo[0::2], lo[1::2], out=hi[:n])  # two rows: the sum of the 2x2 window, at most 1020
        if inexact is not None and not inexact and np.bitwise_and(pair, np.uint16(3), out=lo[:n]).any():
            inexact.append(True)
        pair += two
        pair >>= two
        np.copyto(out[i : i + n], pair, casting="unsafe")
    return out
