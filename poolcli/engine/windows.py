"""Where the windows sit: argument checks and the plan of the windows along each axis.

Exact integer arithmetic in plain Python (no numpy, so the command line can
work out shapes before numpy loads). Semantics follow Keras/TensorFlow
(``padding="same"``) and PyTorch (explicit padding, ``ceil_mode``, dilation,
adaptive pooling). Every axis is planned on its own by the same rule, so 1-D,
2-D and 3-D pooling differ only in how many spatial axes lead the shape
(``ndim``); a trailing axis beyond them holds the channels.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Union

from .reductions import REDUCTIONS, Reduction

__all__ = [
    "DEFAULT_SIZE",
    "IntPair",
    "IntTriple",
    "Ints",
    "OutputSize",
    "OutputSizes",
    "Padding",
    "Paddings",
]

#: The pool window when none is given (Keras and PyTorch examples; the tutorial's 2x2).
DEFAULT_SIZE = 2

IntPair = Union[int, tuple[int, int]]
IntTriple = Union[int, tuple[int, int, int]]
#: An int for every spatial axis, or one int per axis.
Ints = Union[int, tuple[int, ...]]
Padding = Union[str, int, tuple[int, int]]
Paddings = Union[str, Ints]
OutputSize = Union[str, int, tuple[int, int]]
OutputSizes = Union[str, Ints]

#: What the spatial axes are called in messages, by the number of them.
AXIS_NAMES = {1: ("the signal",), 2: ("rows", "columns"), 3: ("depth", "rows", "columns")}
#: The shapes an input of each dimension may take: the spatial axes, then optionally channels.
SHAPES = {1: "(N,) or (N, C)", 2: "(H, W) or (H, W, C)", 3: "(D, H, W) or (D, H, W, C)"}
#: The same, with the number of axes of each, for arrays.
LAYOUTS = {1: "1-D (N,) or 2-D (N, C)", 2: "2-D (H, W) or 3-D (H, W, C)", 3: "3-D (D, H, W) or 4-D (D, H, W, C)"}
_TUPLES = {1: "a (n,) tuple", 2: "an (h, w) pair", 3: "a (d, h, w) triple"}

#: Sizes, strides, dilations and output sizes above this are refused: the largest int64, the type in which
#: numpy and PyTorch take them. Below it every one is handled exactly (Python ints), never by allocating per cell.
_MAX_ARG = (1 << 63) - 1


class AxisPlan(NamedTuple):
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


def is_int(v: object) -> bool:
    """Whether ``v`` is an integer (Python or numpy), not a bool."""
    # the type check first: an ABC's isinstance is slow, and small inputs feel it
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))


def check_ndim(ndim: object) -> int:
    """The number of spatial axes, 1, 2 or 3."""
    if isinstance(ndim, numbers.Integral) and not isinstance(ndim, bool) and int(ndim) in AXIS_NAMES:
        return int(ndim)
    raise ValueError(f"ndim must be 1, 2 or 3, got {ndim!r}")


def _ints(value: object, name: str, forms: str, ndim: int) -> tuple[int, ...]:
    """An int or a tuple of ``ndim`` ints, as a tuple; ``forms`` says what was expected."""
    if type(value) is int:
        return (value,) * ndim
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * ndim
    items = tuple(value) if isinstance(value, Iterable) else ()
    if len(items) != ndim or not all(is_int(v) for v in items):
        raise ValueError(f"{name} must be {forms}, got {value!r}")
    return tuple(int(v) for v in items)


def shown(dims: tuple[int, ...]) -> int | str:
    """Sizes as they were most likely given: ``3`` or ``3x2``."""
    return dims[0] if len(set(dims)) == 1 else fmt_dims(dims)


def fmt_dims(dims: tuple[int, ...]) -> str:
    """``3x2`` (``3`` for one axis)."""
    return "x".join(map(str, dims))


def extent(shape: Sequence[int], ndim: int, what: str = "input") -> str:
    """The spatial extent of an array for messages: ``the 4x5 input``, ``the length-7 input``."""
    return f"the length-{shape[0]} {what}" if ndim == 1 else f"the {fmt_dims(tuple(shape[:ndim]))} {what}"


def ints(value: object, name: str, ndim: int = 2) -> tuple[int, ...]:
    """Normalise an int or a tuple of ``ndim`` ints to a tuple, checking 1 <= v <= 2**63 - 1."""
    every = _ints(value, name, f"an int or {_TUPLES[ndim]} of ints", ndim)
    if min(every) < 1:
        raise ValueError(f"{name} must be >= 1, got {shown(every)}")
    if max(every) > _MAX_ARG:
        raise ValueError(f"{name} must be at most 2**63 - 1, got {shown(every)}")
    return every


def padding_of(padding: object, ndim: int = 2) -> str | tuple[int, ...]:
    """Normalise padding to "valid", "same" or a tuple of ``ndim`` ints >= 0."""
    if isinstance(padding, str):
        low = padding.lower()
        if low in ("valid", "same"):
            return low
        raise ValueError(f"padding must be 'valid', 'same' or an int, got {padding!r}")
    every = _ints(padding, "padding", f"'valid', 'same', an int or {_TUPLES[ndim]}", ndim)
    if min(every) < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    return every


def pads(padding: object, ndim: int) -> bool:
    """Whether the padding adds cells ("same" may; "valid" and zeros do not)."""
    return padding_of(padding, ndim) not in ("valid", (0,) * ndim)


def output_size_of(output_size: object, ndim: int = 2) -> tuple[int, ...] | None:
    """Normalise an adaptive output size to a tuple of ``ndim`` ints; None when not given."""
    if output_size is None:
        return None
    if isinstance(output_size, str):
        if output_size.lower() == "global":
            return (1,) * ndim
        raise ValueError(f"output_size must be 'global', an int or {_TUPLES[ndim]}, got {output_size!r}")
    return ints(output_size, "output size", ndim)


def check_adaptive_alone(
    size: object, stride: object, padding: object, dilation: object, ceil_mode: bool, ndim: int = 2
) -> None:
    """Refuse window arguments beside output_size: any size or stride, and padding, dilation or ceil_mode that act."""
    given = []
    if size is not None:
        given.append("size")
    if stride is not None:
        given.append("stride")
    if pads(padding, ndim):
        given.append("padding")
    if ints(dilation, "dilation", ndim) != (1,) * ndim:
        given.append("dilation")
    if ceil_mode:
        given.append("ceil_mode")
    if given:
        raise ValueError(f"output_size sets the windows itself; it cannot be combined with {', '.join(given)}")


def norm_type_of(rec: Reduction, norm_type: object) -> float | None:
    """The LP ``p`` as a float, checked; None for a mode that takes none."""
    if rec.parameter != "norm_type":
        if norm_type is not None:
            takers = [r.name for r in REDUCTIONS.values() if r.parameter == "norm_type"]
            raise ValueError(f"norm_type applies to {' and '.join(takers)} pooling, not {rec.name}")
        return None
    if norm_type is None:
        raise ValueError(f"{rec.name} pooling needs norm_type, the p of (sum of x**p) ** (1/p)")
    if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool) or not float(norm_type) > 0:
        raise ValueError(f"norm_type must be a number > 0 (inf for the largest |x|), got {norm_type!r}")
    return float(norm_type)


def check_window_args(rec: Reduction, padding: object, dilation: object, output_size: object, ndim: int) -> None:
    """Refuse padding, dilation or output_size that would act, for a mode that does not take them."""
    for name, value in (("padding", padding), ("dilation", dilation), ("output_size", output_size)):
        if name not in rec.window_args and _acts(name, value, ndim):
            takes = ", ".join(("size", "stride") + rec.window_args)
            raise ValueError(f"{rec.name} pooling takes only {takes}; got {name}={value!r}")


def _acts(name: str, value: object, ndim: int) -> bool:
    """Whether a window argument changes the windows (padding 0 and dilation 1 do not)."""
    if name == "padding":
        return pads(value, ndim)
    if name == "dilation":
        return ints(value, "dilation", ndim) != (1,) * ndim
    return value is not None


# --------------------------------------------------------------------------- plans


class _NoFit(Exception):
    pass


def _plan_axis(n: int, k: int, s: int, d: int, padding: str | int, ceil_mode: bool, count_pad: bool) -> AxisPlan:
    """Place the windows along one axis: valid / same (Keras) / explicit padding and ceil_mode (PyTorch)."""
    e = d * (k - 1) + 1
    if padding == "same":
        out = -(-n // s)
        total = max((out - 1) * s + e - n, 0)
        before = total // 2
        after = total - before
        return AxisPlan(n, k, s, d, out, before, after, 0, n)
    p = 0 if padding == "valid" else int(padding)
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
    return AxisPlan(n, k, s, d, out, p, after, lo, hi)


def check_shape(shape: Sequence[int], ndim: int) -> tuple[int, ...]:
    """The shape as ints: ``ndim`` spatial axes and optionally channels, none of them empty."""
    dims = tuple(int(v) for v in shape)
    if len(dims) not in (ndim, ndim + 1):
        raise ValueError(f"shape must be {SHAPES[ndim]}, got {dims}")
    if min(dims) < 1:
        raise ValueError(f"input is empty (shape {dims})")
    return dims


def plans(
    shape: Sequence[int],
    size: object,
    stride: object,
    padding: object,
    dilation: object,
    ceil_mode: bool,
    count_pad: bool = True,
    ndim: int = 2,
) -> tuple[AxisPlan, ...]:
    """The windows along each spatial axis (rows and columns for 2-D).

    ValueError for arguments out of range, or windows that do not fit or hold only padding.
    """
    k = ints(DEFAULT_SIZE if size is None else size, "pool size", ndim)
    s = k if stride is None else ints(stride, "stride", ndim)
    d = ints(dilation, "dilation", ndim)
    pad = padding_of(padding, ndim)
    shape = check_shape(shape, ndim)
    if not isinstance(pad, str) and any(p > kk // 2 for p, kk in zip(pad, k)):
        # PyTorch's limit: half the window size, dilation not counted
        raise ValueError(
            f"padding {fmt_dims(pad)} is more than half the pool window {fmt_dims(k)}; "
            f"use padding <= {shown(tuple(kk // 2 for kk in k))}"
        )
    try:
        every = tuple(
            _plan_axis(shape[a], k[a], s[a], d[a], pad if isinstance(pad, str) else pad[a], ceil_mode, count_pad)
            for a in range(ndim)
        )
    except _NoFit:
        what = f"pool size {fmt_dims(k)}"
        if d != (1,) * ndim:
            extents = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
            what += f" with dilation {fmt_dims(d)} (window {fmt_dims(extents)})"
        shown_pad = f"'{pad}'" if isinstance(pad, str) else fmt_dims(pad)
        raise ValueError(
            f"{what} does not fit {extent(shape, ndim)} with padding {shown_pad}; use padding 'same' or a smaller size"
        ) from None
    for axis, plan in enumerate(every):
        empty = _first_empty_window(plan)
        if empty is not None:
            raise ValueError(
                f"with dilation {fmt_dims(d)} and padding {pad if isinstance(pad, str) else fmt_dims(pad)}, "
                f"window {empty} along {AXIS_NAMES[ndim][axis]} holds only padding cells "
                f"of {extent(shape, ndim)}; use a smaller dilation or padding"
            )
    return every


def _first_empty_window(plan: AxisPlan) -> int | None:
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


class Piece(NamedTuple):
    """Windows ``first .. first + plan.out - 1`` of an axis, on the input cells ``offset .. offset + plan.n - 1``."""

    first: int
    offset: int
    plan: AxisPlan


#: A piece whose padded extent passes this many times the input length is pooled window by window.
_MAX_SPREAD = 3


def pieces(plan: AxisPlan) -> list[Piece]:
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


def _trim(plan: AxisPlan, first: int, count: int) -> Piece:
    """Windows first .. first+count-1, cut to the offsets and input cells they can reach (see pieces)."""
    n, k, s, d = plan.n, plan.k, plan.s, plan.d
    a0 = first * s - plan.before  # start of the first window, and of the last
    a1 = (first + count - 1) * s - plan.before
    j_lo = max(0, -(a1 // d))  # the first offset at which the last window is real: ceil(-a1 / d)
    j_hi = min(k - 1, (n - 1 - a0) // d)  # the last offset at which the first window is real
    k2 = j_hi - j_lo + 1
    start, stop = a0 + j_lo * d, a1 + j_hi * d + 1  # the cells read, padding included
    offset, end = max(start, 0), min(stop, n)
    trimmed = AxisPlan(
        end - offset, k2, s if count > 1 else 1, d if k2 > 1 else 1, count, offset - start, stop - end, 0, 0
    )
    return Piece(first, offset, trimmed)


def adaptive_bounds(n: int, o: int) -> tuple[list[int], list[int]]:
    """Adaptive window i of ``o`` over ``n`` cells covers [floor(i*n/o), ceil((i+1)*n/o)) (PyTorch)."""
    return [i * n // o for i in range(o)], [-(-(i + 1) * n // o) for i in range(o)]
