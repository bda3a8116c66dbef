"""pool, pool1d, pool2d, pool3d: every pooling mode over every window arrangement, as Keras and PyTorch define them.

One implementation for every dimension: the windows are planned axis by axis
and pooled by one separable pass per axis, so a 1-D, 2-D or 3-D pool differs
only in ``ndim``, the number of spatial axes that lead the input's shape.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from .accel import extremes, rounded_avg
from .adaptive import adaptive_counts, check_adaptive_size, pool_adaptive, regular_plans
from .banded import accumulator, check_array, guarded, pool_windows, result_dtype
from .indices import beats, pool_indices
from .reductions import REDUCTIONS, Reduction, reduction
from .results import (
    ResultType,
    avg_2x2_uint8,
    convert,
    integer_sums,
    plan_counts,
    rounded_quotient,
    saturate,
    target_type,
)
from .small import small_recipe
from .windows import (
    check_window_args,
    norm_type_of,
    AxisPlan,
    Ints,
    OutputSizes,
    Paddings,
    check_adaptive_alone,
    check_ndim,
    output_size_of,
    plans,
)

__all__ = ["ResultType", "pool", "pool_rounded"]

Array = npt.NDArray[Any]


@overload
def pool(
    x: npt.ArrayLike,
    size: Ints | None = ...,
    stride: Ints | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    ndim: int,
    dilation: Ints = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: Literal[False] = ...,
    dtype: ResultType = ...,
) -> Array: ...


@overload
def pool(
    x: npt.ArrayLike,
    size: Ints | None = ...,
    stride: Ints | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    ndim: int,
    dilation: Ints = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: Literal[True],
    dtype: ResultType = ...,
) -> tuple[Array, Array]: ...


@overload
def pool(
    x: npt.ArrayLike,
    size: Ints | None = ...,
    stride: Ints | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    ndim: int,
    dilation: Ints = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: bool,
    dtype: ResultType = ...,
) -> Array | tuple[Array, Array]: ...


def pool(
    x: npt.ArrayLike,
    size: Ints | None = None,
    stride: Ints | None = None,
    padding: Paddings = "valid",
    mode: str = "max",
    *,
    ndim: int,
    dilation: Ints = 1,
    ceil_mode: bool = False,
    count_pad: bool | None = None,
    output_size: OutputSizes | None = None,
    norm_type: float | None = None,
    return_indices: bool = False,
    dtype: ResultType = None,
) -> Array | tuple[Array, Array]:
    """Return ``x`` pooled over windows of ``size`` moved by ``stride``, along its first ``ndim`` axes.

    :func:`pool1d`, :func:`pool2d` and :func:`pool3d` are this with ``ndim``
    1, 2 and 3. Every option acts on each spatial axis by the same rule; an
    int applies to every axis, a tuple gives one value per axis.

    Parameters
    ----------
    x : array_like
        ``ndim`` spatial axes, then optionally channels, channels last:
        ``(N[, C])`` for 1-D (a signal, as Keras's ``(steps, features)``),
        ``(H, W[, C])`` for 2-D, ``(D, H, W[, C])`` for 3-D (a volume). Bool,
        integer or float, in either byte order. Channels are pooled
        independently.
    size : int or tuple of int, optional
        Pool window; None means :data:`DEFAULT_SIZE` (2 along every axis).
    stride : int or tuple of int, optional
        Step between windows; default the pool size (as Keras and PyTorch).
    padding : {"valid", "same"} or int or tuple of int
        ``"valid"`` (no padding), ``"same"`` (Keras/TF: output ``ceil(n/s)``,
        the odd padding cell at the end of the axis), or PyTorch's explicit
        symmetric padding, at most half the window size (``size // 2``,
        dilation not counted, as PyTorch).
    mode : {"max", "avg", "min", "sum", "lp"}
        The reduction (see :data:`REDUCTIONS`); ``"average"`` and ``"mean"``
        mean ``"avg"``. Padded cells never win max/min and add nothing to a
        sum. ``"lp"`` is PyTorch's LPPool1d/2d/3d: ``(sum of x**p) ** (1/p)``
        over the window, with ``p`` the ``norm_type``.
    ndim : {1, 2, 3}
        How many spatial axes lead the shape.
    dilation : int or tuple of int
        Spacing between window cells (PyTorch ``dilation``).
    ceil_mode : bool
        Round the output length up (PyTorch ``ceil_mode``); a window that would
        start in the right padding is dropped. A window longer than the input
        pools the part it overlaps, as long as it starts inside.
    count_pad : bool, optional
        avg with explicit padding: whether padded cells count in the divisor.
        None means PyTorch's default (they do). With ``"same"`` they never
        count (Keras), and the ceil_mode overhang never counts.
    output_size : int or tuple of int or "global", optional
        Adaptive pooling to this output shape (PyTorch AdaptiveMax/AvgPool1d/
        2d/3d), or ``"global"`` for one value per channel (Keras Global*Pooling
        with ``keepdims``), returned with every spatial axis of length 1. The
        windows are then its own: refused with any size or stride, and with
        padding, dilation or ceil_mode that would act.
    norm_type : float, optional
        lp only, and needed there: the ``p`` (> 0; ``inf`` gives the largest
        ``|x|``, as PyTorch). As in PyTorch, lp takes no padding, dilation or
        output_size; a ``ceil_mode`` window that reaches past the input has
        its sum scaled by (window cells / cells inside), because PyTorch
        computes lp as ``avg_pool(x**p) * (window cells)``; a negative sum has
        no real root unless ``1/p`` is an integer: NaN.
    return_indices : bool
        max/min only: also return, for each output cell, the flat index of
        the chosen cell into the unpadded spatial axes of its channel, as
        PyTorch: ``n`` (1-D), ``h * W + w`` (2-D), ``d * H * W + h * W + w``
        (3-D). The first in row-major order on ties; in a window holding NaN,
        the last NaN (as PyTorch). :func:`unpool` puts the values back.
        Equal values are equal but for the sign of zero: in a window whose
        max (or min) is both 0.0 and -0.0, the value returned is one of the
        two zeros, which one is not specified (numpy's ``maximum`` and
        ``minimum`` do not say which of two equal operands they give), so it
        may differ in sign from the cell the index points at (PyTorch returns
        that cell's).
    dtype : None, "same" or a numpy type
        The type of the values returned. None keeps the rule under Returns;
        ``"same"`` means the input's type. An integer type (or bool) gets the
        exact result rounded half up (``floor(v + 1/2)``) and saturated into
        its range: an avg or sum of integers is rounded from its exact
        integer sum, so avg 2x2 of uint8 to uint8 is ``(a+b+c+d+2) >> 2``,
        as Pillow's ``Image.reduce(2)``; a float result is rounded as it is
        (NaN is refused). A float type gets the result cast to it.

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
        take, an input that is not a non-empty bool, integer or float array
        of ``ndim`` or ``ndim + 1`` axes, or an adaptive output too large for
        memory.

    Examples
    --------
    >>> import numpy as np
    >>> pool(np.arange(1, 17).reshape(4, 4), 2, ndim=2)
    array([[ 6,  8],
           [14, 16]])
    >>> pool([3, 1, 4, 1, 5, 9], 3, 1, mode="avg", ndim=1)
    array([2.66666667, 2.        , 3.33333333, 5.        ])
    >>> pool(np.arange(8).reshape(2, 2, 2), 2, ndim=3, return_indices=True)
    (array([[[7]]]), array([[[7]]]))
    """
    if type(x) is np.ndarray and output_size is None and norm_type is None and not return_indices:
        recipe = small_recipe(x, size, stride, padding, mode, ndim, dilation, ceil_mode, count_pad, dtype)
        done = None if recipe is None else recipe(x)
        if done is not None:
            return done  # type: ignore[no-any-return]
    return _pool(
        x,
        size,
        stride,
        padding,
        mode,
        ndim,
        dilation,
        ceil_mode,
        count_pad,
        output_size,
        norm_type,
        return_indices,
        dtype,
    )


def pool_rounded(x: npt.ArrayLike, **kwargs: Any) -> tuple[Array, bool]:
    """``pool(x, dtype="same", **kwargs)`` for an average of integers, and whether a value was rounded (the exact
    average of some window is not a whole number): what writing the float average as pixels of the input's
    type does (rounded half up, and said when a value changed), computed in integers."""
    if reduction(kwargs.get("mode", "max")).finish != "divide" or np.asarray(x).dtype.kind not in "iu":
        raise ValueError("pool_rounded takes an average of integers")
    inexact: list[bool] = []
    values = _pool(x, **{**kwargs, "dtype": "same"}, inexact=inexact)
    assert isinstance(values, np.ndarray)
    return values, bool(inexact)


def _pool(
    x: npt.ArrayLike,
    size: Ints | None = None,
    stride: Ints | None = None,
    padding: Paddings = "valid",
    mode: str = "max",
    ndim: int = 2,
    dilation: Ints = 1,
    ceil_mode: bool = False,
    count_pad: bool | None = None,
    output_size: OutputSizes | None = None,
    norm_type: float | None = None,
    return_indices: bool = False,
    dtype: ResultType = None,
    inexact: list[bool] | None = None,
) -> Array | tuple[Array, Array]:
    """:func:`pool` without the small inputs' recipes; ``inexact`` as for :func:`.results.rounded_quotient`."""
    ndim = check_ndim(ndim)
    a, was_bool = check_array(x, ndim)
    rec = reduction(mode)
    if return_indices:
        beats(rec)  # refuses a mode that picks no cell
    p = norm_type_of(rec, norm_type)
    check_window_args(rec, padding, dilation, output_size, ndim)
    if count_pad is True and isinstance(padding, str) and padding.lower() == "same":
        raise ValueError("count_pad=True cannot be used with padding 'same': Keras never counts its padding")
    target = target_type(dtype, a.dtype, was_bool)
    adaptive = output_size_of(output_size, ndim)
    every: tuple[AxisPlan, ...] | None
    if adaptive is not None:
        check_adaptive_alone(size, stride, padding, dilation, ceil_mode, ndim)
        check_adaptive_size(a.shape, adaptive)
        cells = math.prod(math.ceil(n / o + 1) for n, o in zip(a.shape, adaptive))  # at most this many in a window
        # float sums keep the order of .rowsums, which the banded passes do not; exact ones are the same in any
        exact = rec.accumulate == "input" or accumulator(a.dtype, rec, cells).kind in "iu"
        every = regular_plans(a.shape[:ndim], adaptive) if exact else None
    else:
        count = True if count_pad is None else bool(count_pad)
        every = plans(a.shape, size, stride, padding, dilation, ceil_mode, count, ndim)
        cells = math.prod(min(plan.k, plan.n) for plan in every)
    sums = integer_sums(target, a.dtype, rec, cells)
    if sums is not None and every is not None and inexact is None:  # OpenCV cannot say whether it rounded
        assert target is not None
        fast = rounded_avg(a, every, rec, target)  # OpenCV where it gives these bits (engine/accel.py)
        if fast is not None:
            return fast
    if sums is not None and _is_avg_2x2_uint8(a, every, rec, target):
        return avg_2x2_uint8(a, inexact)
    if sums is not None:
        assert target is not None
        return _rounded(a, every, adaptive, rec, sums, target, inexact)
    if inexact is not None:  # only exact integer sums can say whether they were rounded
        raise ValueError("pool_rounded takes an average of integers")
    result = _pooled(a, every, adaptive, rec, p, cells, return_indices)
    values = result[0] if return_indices else result
    if was_bool and rec.accumulate == "input":
        values = values.view(bool)
    if target is not None:
        values = convert(values, target)
    return (values, result[1]) if return_indices else values


def _is_avg_2x2_uint8(a: Array, every: tuple[AxisPlan, ...] | None, rec: Reduction, target: Any) -> bool:
    """Whether :func:`avg_2x2_uint8` computes this: uint8 to uint8, 2x2/2 unpadded windows, even width."""
    return (
        every is not None
        and len(every) == 2  # an image's two axes: a signal of (N, C) is 2-D too
        and rec.finish == "divide"
        and a.dtype == target == np.dtype(np.uint8)
        and a.ndim == 2
        and a.flags.c_contiguous
        and a.shape[1] % 2 == 0
        and sys.byteorder == "little"
        and all((p.k, p.s, p.d, p.before, p.after) == (2, 2, 1, 0, 0) for p in every)
    )


def _pooled(
    a: Array,
    every: tuple[AxisPlan, ...] | None,
    adaptive: tuple[int, ...] | None,
    rec: Reduction,
    p: float | None,
    cells: int,
    return_indices: bool,
) -> Any:
    """The result by the mode's own rule: the banded passes over ``every``, else the adaptive windows."""
    out_dtype = result_dtype(a.dtype, rec)
    if every is None:
        assert adaptive is not None
        return guarded(lambda b: pool_adaptive(b, adaptive, rec, return_indices), a, cells)
    if return_indices:
        return guarded(lambda b: pool_indices(b, every, rec), a, 1)
    fast = extremes(a, every, rec)  # OpenCV where it gives these bits (engine/accel.py)
    if fast is not None:
        return fast
    if p == math.inf:
        # PyTorch's lp_pool with norm_type inf is max_pool of |x|
        largest = REDUCTIONS["max"]
        return guarded(lambda b: pool_windows(np.abs(b, dtype=out_dtype), every, largest, out_dtype), a, 1)
    powers = rec.prepare == "power"
    return guarded(lambda b: pool_windows(b, every, rec, out_dtype, p), a, cells, powers=powers)


def _rounded(
    a: Array,
    every: tuple[AxisPlan, ...] | None,
    adaptive: tuple[int, ...] | None,
    rec: Reduction,
    sums: np.dtype[Any],
    target: np.dtype[Any],
    inexact: list[bool] | None,
) -> Array:
    """An integer result of avg or sum of integers: exact integer sums, then rounded half up and saturated."""
    channels = a.ndim - (len(every) if every is not None else len(adaptive or ()))
    if every is None:
        assert adaptive is not None
        total = pool_adaptive(a, adaptive, rec, False, sums)
        counts: int | Array = adaptive_counts(a.shape[: len(adaptive)], adaptive, channels)
    else:
        total = pool_windows(a, every, REDUCTIONS["sum"], sums)
        counts = plan_counts(every, channels)
    assert isinstance(total, np.ndarray)
    if rec.finish == "divide":
        return rounded_quotient(total, counts, target, a.dtype, inexact)
    return saturate(total, target)
