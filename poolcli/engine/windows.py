"""Where the windows sit: argument checks, axis plans, output shapes and the cells of every window.

Exact integer arithmetic in plain Python (no numpy, so the command line can
work out shapes before numpy loads). Semantics follow Keras/TensorFlow
(``padding="same"``) and PyTorch (explicit padding, ``ceil_mode``, dilation,
adaptive pooling).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Union

__all__ = ["DEFAULT_SIZE", "IntPair", "OutputSize", "Padding", "output_shape", "window_cells"]

#: The pool window when none is given (Keras and PyTorch examples; the tutorial's 2x2).
DEFAULT_SIZE = 2

IntPair = Union[int, tuple[int, int]]
Padding = Union[str, int, tuple[int, int]]
OutputSize = Union[str, int, tuple[int, int]]
#: For each axis, every window's cells as (index, counted) pairs.
WindowCells = tuple[list[list[tuple[int, bool]]], list[list[tuple[int, bool]]]]

#: Sizes, strides, dilations and output sizes above this are refused: the largest int64, the type in which
#: numpy and PyTorch take them. Below it every one is handled exactly (Python ints), never by allocating per cell.
_MAX_ARG = (1 << 63) - 1
#: window_cells lists at most this many cells per axis (explain draws every one).
_MAX_LISTED = 1 << 20


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


def _ints(value: object, name: str, forms: str) -> tuple[int, int]:
    """An int or an (h, w) pair of ints, as a pair; ``forms`` says what was expected."""
    if type(value) is int:
        return (value, value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value), int(value))
    items = tuple(value) if isinstance(value, Iterable) else ()
    if len(items) != 2 or not all(is_int(v) for v in items):
        raise ValueError(f"{name} must be {forms}, got {value!r}")
    return (int(items[0]), int(items[1]))


def shown(pair: tuple[int, int]) -> int | str:
    """A pair as it was most likely given: ``3`` or ``3x2``."""
    return pair[0] if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def fmt_pair(pair: tuple[int, int]) -> str:
    return f"{pair[0]}x{pair[1]}"


def pair(value: object, name: str) -> tuple[int, int]:
    """Normalise an int or an (h, w) pair of ints to a pair, checking 1 <= v <= 2**63 - 1."""
    both = _ints(value, name, "an int or an (h, w) pair of ints")
    if min(both) < 1:
        raise ValueError(f"{name} must be >= 1, got {shown(both)}")
    if max(both) > _MAX_ARG:
        raise ValueError(f"{name} must be at most 2**63 - 1, got {shown(both)}")
    return both


def padding_of(padding: object) -> str | tuple[int, int]:
    """Normalise padding to "valid", "same" or an (h, w) pair of ints >= 0."""
    if isinstance(padding, str):
        low = padding.lower()
        if low in ("valid", "same"):
            return low
        raise ValueError(f"padding must be 'valid', 'same' or an int, got {padding!r}")
    both = _ints(padding, "padding", "'valid', 'same', an int or an (h, w) pair")
    if min(both) < 0:
        raise ValueError(f"padding must be >= 0, got {padding!r}")
    return both


def output_size_of(output_size: object) -> tuple[int, int] | None:
    """Normalise an adaptive output size to an (h, w) pair; None when not given."""
    if output_size is None:
        return None
    if isinstance(output_size, str):
        if output_size.lower() == "global":
            return (1, 1)
        raise ValueError(f"output_size must be 'global', an int or an (h, w) pair, got {output_size!r}")
    return pair(output_size, "output size")


def check_adaptive_alone(
    size: object, stride: object, padding: object, dilation: object, ceil_mode: bool
) -> None:
    """Refuse window arguments beside output_size: any size or stride, and padding, dilation or ceil_mode that act."""
    given = []
    if size is not None:
        given.append("size")
    if stride is not None:
        given.append("stride")
    if padding_of(padding) not in ("valid", (0, 0)):
        given.append("padding")
    if pair(dilation, "dilation") != (1, 1):
        given.append("dilation")
    if ceil_mode:
        given.append("ceil_mode")
    if given:
        raise ValueError(f"output_size sets the windows itself; it cannot be combined with {', '.join(given)}")


# --------------------------------------------------------------------------- plans


class _NoFit(Exception):
    pass


def _plan_axis(
    n: int, k: int, s: int, d: int, padding: str | int, ceil_mode: bool, count_pad: bool
) -> AxisPlan:
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


def plans(
    shape: Sequence[int],
    size: object,
    stride: object,
    padding: object,
    dilation: object,
    ceil_mode: bool,
    count_pad: bool = True,
) -> tuple[AxisPlan, AxisPlan]:
    """The windows along the rows and along the columns.

    ValueError for arguments out of range, or windows that do not fit or hold only padding.
    """
    k = pair(DEFAULT_SIZE if size is None else size, "pool size")
    s = k if stride is None else pair(stride, "stride")
    d = pair(dilation, "dilation")
    pad = padding_of(padding)
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must be (H, W) or (H, W, C), got {tuple(shape)}")
    if min(shape) < 1:
        raise ValueError(f"input is empty (shape {tuple(shape)})")
    if not isinstance(pad, str) and (pad[0] > k[0] // 2 or pad[1] > k[1] // 2):
        # PyTorch's limit: half the window size, dilation not counted
        raise ValueError(
            f"padding {fmt_pair(pad)} is more than half the pool window {fmt_pair(k)}; "
            f"use padding <= {shown((k[0] // 2, k[1] // 2))}"
        )
    try:
        rows, cols = (
            _plan_axis(int(shape[a]), k[a], s[a], d[a], pad if isinstance(pad, str) else pad[a], ceil_mode, count_pad)
            for a in (0, 1)
        )
    except _NoFit:
        e = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
        what = f"pool size {fmt_pair(k)}"
        if d != (1, 1):
            what += f" with dilation {fmt_pair(d)} (window {e[0]}x{e[1]})"
        shown_pad = f"'{pad}'" if isinstance(pad, str) else fmt_pair(pad)
        raise ValueError(
            f"{what} does not fit the {shape[0]}x{shape[1]} input with padding {shown_pad}; "
            f"use padding 'same' or a smaller size"
        ) from None
    for axis, plan in enumerate((rows, cols)):
        empty = _first_empty_window(plan)
        if empty is not None:
            raise ValueError(
                f"with dilation {fmt_pair(d)} and padding {pad if isinstance(pad, str) else fmt_pair(pad)}, "
                f"window {empty} along {('rows', 'columns')[axis]} holds only padding cells "
                f"of the {shape[0]}x{shape[1]} input; use a smaller dilation or padding"
            )
    return rows, cols


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


# --------------------------------------------------------------------------- public


def output_shape(
    shape: Sequence[int],
    size: IntPair | None = None,
    stride: IntPair | None = None,
    padding: Padding = "valid",
    *,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    output_size: OutputSize | None = None,
) -> tuple[int, ...]:
    """Return the shape that :func:`pool2d` gives for an input of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``.
    size, stride, padding, dilation, ceil_mode, output_size
        As in :func:`pool2d` (``size`` None means :data:`DEFAULT_SIZE`).

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
    dims = tuple(int(v) for v in shape)
    adaptive = output_size_of(output_size)
    if adaptive is not None:
        check_adaptive_alone(size, stride, padding, dilation, ceil_mode)
        if len(dims) not in (2, 3) or min(dims) < 1:
            raise ValueError(f"shape must be a non-empty (H, W) or (H, W, C), got {dims}")
        return adaptive + dims[2:]
    ph, pw = plans(dims, size, stride, padding, dilation, ceil_mode)
    return (ph.out, pw.out) + dims[2:]


def window_cells(
    shape: Sequence[int],
    size: IntPair | None = None,
    stride: IntPair | None = None,
    padding: Padding = "valid",
    *,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    count_pad: bool | None = None,
    output_size: OutputSize | None = None,
) -> WindowCells:
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
    adaptive = output_size_of(output_size)
    if adaptive is not None:
        check_adaptive_alone(size, stride, padding, dilation, ceil_mode)
        listed = []
        for axis, (n, o) in enumerate(zip(shape[:2], adaptive)):
            _check_listable(axis, int(n) + 2 * o)  # windows of about n/o cells, each overlapping its neighbours by one
            starts, ends = adaptive_bounds(int(n), o)
            listed.append([[(i, True) for i in range(a, b)] for a, b in zip(starts, ends)])
        return listed[0], listed[1]
    count = True if count_pad is None else bool(count_pad)
    listed = []
    for axis, plan in enumerate(plans(tuple(shape), size, stride, padding, dilation, ceil_mode, count)):
        _check_listable(axis, plan.out * plan.k)
        windows = []
        for i in range(plan.out):
            start = i * plan.s - plan.before
            cells = [start + j * plan.d for j in range(plan.k)]
            windows.append([(c, plan.count_lo <= c < plan.count_hi) for c in cells])
        listed.append(windows)
    return listed[0], listed[1]


def _check_listable(axis: int, cells: int) -> None:
    if cells > _MAX_LISTED:
        raise ValueError(
            f"the windows along {('rows', 'columns')[axis]} hold {cells} cells in all, "
            f"more than the {_MAX_LISTED} that can be listed; use smaller windows or a smaller output size"
        )
