"""pool2d: every pooling mode over every window arrangement, as Keras and PyTorch define them."""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from .adaptive import pool_adaptive
from .banded import check_array, guarded, pool_windows, result_dtype
from .indices import beats, pool_indices
from .reductions import REDUCTIONS, Reduction, reduction
from .windows import IntPair, OutputSize, Padding, check_adaptive_alone, output_size_of, padding_of, pair, plans

__all__ = ["pool2d"]

Array = npt.NDArray[Any]


@overload
def pool2d(
    x: npt.ArrayLike,
    size: IntPair | None = ...,
    stride: IntPair | None = ...,
    padding: Padding = ...,
    mode: str = ...,
    *,
    dilation: IntPair = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSize | None = ...,
    norm_type: float | None = ...,
    return_indices: Literal[False] = ...,
) -> Array: ...


@overload
def pool2d(
    x: npt.ArrayLike,
    size: IntPair | None = ...,
    stride: IntPair | None = ...,
    padding: Padding = ...,
    mode: str = ...,
    *,
    dilation: IntPair = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSize | None = ...,
    norm_type: float | None = ...,
    return_indices: Literal[True],
) -> tuple[Array, Array]: ...


@overload
def pool2d(
    x: npt.ArrayLike,
    size: IntPair | None = ...,
    stride: IntPair | None = ...,
    padding: Padding = ...,
    mode: str = ...,
    *,
    dilation: IntPair = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSize | None = ...,
    norm_type: float | None = ...,
    return_indices: bool,
) -> Array | tuple[Array, Array]: ...


def pool2d(
    x: npt.ArrayLike,
    size: IntPair | None = None,
    stride: IntPair | None = None,
    padding: Padding = "valid",
    mode: str = "max",
    *,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
    count_pad: bool | None = None,
    output_size: OutputSize | None = None,
    norm_type: float | None = None,
    return_indices: bool = False,
) -> Array | tuple[Array, Array]:
    """Return ``x`` pooled over windows of ``size`` moved by ``stride``.

    Parameters
    ----------
    x : array_like
        2-D (H, W) or 3-D (H, W, C) bool, integer or float array, in either
        byte order. Channels are pooled independently.
    size : int or (int, int), optional
        Pool window; None means :data:`DEFAULT_SIZE` (2).
    stride : int or (int, int), optional
        Step between windows; default the pool size (as Keras and PyTorch).
    padding : {"valid", "same"} or int or (int, int)
        ``"valid"`` (no padding), ``"same"`` (Keras/TF: output ``ceil(n/s)``,
        the odd padding cell at the bottom/right), or PyTorch's explicit
        symmetric padding, at most half the window size (``size // 2``,
        dilation not counted, as PyTorch).
    mode : {"max", "avg", "min", "sum", "lp"}
        The reduction (see :data:`REDUCTIONS`); ``"average"`` and ``"mean"``
        mean ``"avg"``. Padded cells never win max/min and add nothing to a
        sum. ``"lp"`` is PyTorch's LPPool2d: ``(sum of x**p) ** (1/p)``
        over the window, with ``p`` the ``norm_type``.
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
        The windows are then its own: refused with any size or stride, and
        with padding, dilation or ceil_mode that would act.
    norm_type : float, optional
        lp only, and needed there: the ``p`` (> 0; ``inf`` gives the largest
        ``|x|``, as PyTorch). As in PyTorch, lp takes no padding, dilation or
        output_size; a ``ceil_mode`` window that reaches past the input has
        its sum scaled by (window cells / cells inside), because PyTorch
        computes lp as ``avg_pool2d(x**p) * (kh*kw)``; a negative sum has no
        real root unless ``1/p`` is an integer: NaN.
    return_indices : bool
        max/min only: also return, for each output cell, the flat index
        ``row * W + col`` in the unpadded input of the chosen cell: the first
        in row-major order on ties; in a window holding NaN, the last NaN
        (as PyTorch).

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        In native byte order. max and min keep the input dtype (bool stays
        bool: max is "any", min is "all"). avg, sum and lp keep a float
        input's dtype and give float64 for integer and bool input (bool
        counts as 0 and 1). A window holding NaN gives NaN. Sums run in the
        input's float type (float32 for float16), but one that overflows on
        finite input is computed again scaled by a power of two, so the avg
        of 1e308s is 1e308 (PyTorch gives inf); a sum beyond the type's range
        is inf. lp's powers are taken in that type too, and computed again
        scaled when one overflows (PyTorch gives inf); a power below the
        type's smallest value is 0, as in PyTorch. Indices are int64.
        Nothing warns.

    Raises
    ------
    ValueError
        For a window that does not fit, an argument out of range (sizes up to
        2**63 - 1 are taken), an unknown mode, an argument the mode does not
        take, an input that is not a non-empty 2-D/3-D bool, integer or float
        array, or an adaptive output too large for memory.

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
    >>> pool2d([[3, 4]], (1, 2), mode="lp", norm_type=2)
    array([[5.]])
    """
    a, was_bool = check_array(x)
    rec = reduction(mode)
    if return_indices:
        beats(rec)  # refuses a mode that picks no cell
    p = _norm_type(rec, norm_type)
    _check_window_args(rec, padding, dilation, output_size)
    if count_pad is True and isinstance(padding, str) and padding.lower() == "same":
        raise ValueError("count_pad=True cannot be used with padding 'same': Keras never counts its padding")
    out_dtype = result_dtype(a.dtype, rec)
    result: Any
    adaptive = output_size_of(output_size)
    if adaptive is not None:
        check_adaptive_alone(size, stride, padding, dilation, ceil_mode)
        h, w = a.shape[:2]
        cells = math.ceil(h / adaptive[0] + 1) * math.ceil(w / adaptive[1] + 1)  # at most this many cells in a window
        result = guarded(lambda b: pool_adaptive(b, adaptive, rec, return_indices), a, cells)
    else:
        count = True if count_pad is None else bool(count_pad)
        ph, pw = plans(a.shape, size, stride, padding, dilation, ceil_mode, count)
        if return_indices:
            result = guarded(lambda b: pool_indices(b, ph, pw, rec), a, 1)
        elif p == math.inf:
            # PyTorch's lp_pool2d with norm_type inf is max_pool2d of |x|
            largest = REDUCTIONS["max"]
            result = guarded(lambda b: pool_windows(np.abs(b, dtype=out_dtype), ph, pw, largest, out_dtype), a, 1)
        else:
            cells = min(ph.k, ph.n) * min(pw.k, pw.n)
            powers = rec.prepare == "power"
            result = guarded(lambda b: pool_windows(b, ph, pw, rec, out_dtype, p), a, cells, powers=powers)
    if was_bool and rec.accumulate == "input":
        return (result[0].view(bool), result[1]) if return_indices else result.view(bool)
    return result  # type: ignore[no-any-return]


def _norm_type(rec: Reduction, norm_type: object) -> float | None:
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


def _check_window_args(rec: Reduction, padding: object, dilation: object, output_size: object) -> None:
    """Refuse padding, dilation or output_size that would act, for a mode that does not take them."""
    for name, value in (("padding", padding), ("dilation", dilation), ("output_size", output_size)):
        if name not in rec.window_args and _acts(name, value):
            takes = ", ".join(("size", "stride") + rec.window_args)
            raise ValueError(f"{rec.name} pooling takes only {takes}; got {name}={value!r}")


def _acts(name: str, value: object) -> bool:
    """Whether a window argument changes the windows (padding 0 and dilation 1 do not)."""
    if name == "padding":
        return padding_of(value) not in ("valid", (0, 0))
    if name == "dilation":
        return pair(value, "dilation") != (1, 1)
    return value is not None
