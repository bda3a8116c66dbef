"""Fractional max pooling (Graham 2014; PyTorch FractionalMaxPool2d/3d), cell for cell as PyTorch given its samples.

Along an axis of ``n`` cells pooled to ``o`` outputs by windows of ``k``,
PyTorch places window ``i`` at

    alpha = (n - k) / (o - 1)
    start[i] = int((i + u) * alpha) - int(u * alpha)    for i < o - 1
    start[o - 1] = n - k

with ``u`` a sample in [0, 1), one per channel and axis, and the arithmetic
in the input's float type (``generate_intervals`` in PyTorch's
FractionalMaxPool2d.cpp). Doing the same arithmetic in the same type is what
makes the windows, and so every value and index, PyTorch's.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Literal, Union, overload

import numpy as np
import numpy.typing as npt

from .banded import check_array
from .indices import flat_indices
from .windows import AXIS_NAMES, IntPair, Ints, IntTriple, check_ndim, extent, fmt_dims, ints

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d"]

Array = npt.NDArray[Any]
#: A ratio for every spatial axis, or one per axis.
Ratios = Union[float, tuple[float, ...]]

#: Which column of PyTorch's ``_random_samples`` places the windows along each of our axes (in their order):
#: FractionalMaxPool2d keeps (W, H), FractionalMaxPool3d (T, H, W).
_SAMPLE_COLUMN = {2: (1, 0), 3: (0, 1, 2)}


def fractional_max_pool(
    x: npt.ArrayLike,
    size: Ints,
    output_size: Ints | None = None,
    output_ratio: Ratios | None = None,
    *,
    ndim: int,
    samples: npt.ArrayLike | None = None,
    seed: int | None = None,
    return_indices: bool = False,
) -> Array | tuple[Array, Array]:
    """Fractional max pooling over the first ``ndim`` (2 or 3) axes; see :func:`fractional_max_pool2d`."""
    ndim = check_ndim(ndim)
    if ndim not in _SAMPLE_COLUMN:
        raise ValueError("fractional max pooling is 2-D or 3-D (PyTorch FractionalMaxPool2d/3d)")
    a, was_bool = check_array(x, ndim)
    k = ints(size, "pool size", ndim)
    spatial = a.shape[:ndim]
    out = _output_size(spatial, output_size, output_ratio, ndim)
    for axis, (n, o, kk) in enumerate(zip(spatial, out, k)):
        if o + kk - 1 > n:
            raise ValueError(
                f"output size {fmt_dims(out)} with pool size {fmt_dims(k)} does not fit {extent(spatial, ndim)}: "
                f"along {AXIS_NAMES[ndim][axis]}, output + size - 1 = {o + kk - 1} is more than {n}"
            )
    channels = a.shape[ndim:]
    work = a if channels else a[..., None]
    compute = a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)
    u = _samples(samples, seed, work.shape[-1], ndim, compute, bool(channels))
    starts = [_starts(u[:, _SAMPLE_COLUMN[ndim][axis]], spatial[axis], out[axis], k[axis]) for axis in range(ndim)]
    for axis, (n, kk) in enumerate(zip(spatial, k)):
        if starts[axis].max() > n - kk:
            # float16 steps of more than one cell from i = 2048 on: PyTorch's own check fails there too
            raise ValueError(
                f"in {compute}, the window positions of fractional max pooling reach past the input along "
                f"{AXIS_NAMES[ndim][axis]} ({n} cells; PyTorch fails there too); convert the input to float32"
            )
    values = np.empty(out + work.shape[-1:], dtype=a.dtype)
    where = np.empty(values.shape, dtype=np.int64)
    flat = flat_indices(spatial, ndim)
    # each channel has windows of its own: gathered channel by channel, whole rows (or planes) at a time
    for c in range(work.shape[-1]):
        own = [s[:, c] for s in starts]
        if return_indices:
            values[..., c], where[..., c] = _max_with_indices(work[..., c], flat, own, k)
        else:
            v = work[..., c]
            for axis in range(ndim):
                v = _max_along(v, axis, own[axis], k[axis])
            values[..., c] = v
    if not channels:
        values, where = values[..., 0], where[..., 0]
    values = values.view(bool) if was_bool else values
    return (values, where) if return_indices else values


def _output_size(spatial: tuple[int, ...], output_size: object, output_ratio: object, ndim: int) -> tuple[int, ...]:
    """The output's spatial shape: given, or ``int(n * ratio)`` per axis as PyTorch's module computes it."""
    if (output_size is None) == (output_ratio is None):
        raise ValueError("fractional max pooling takes either output_size or output_ratio (one of them)")
    if output_size is not None:
        return ints(output_size, "output size", ndim)
    if isinstance(output_ratio, numbers.Real) and not isinstance(output_ratio, bool):
        ratios: tuple[object, ...] = (output_ratio,) * ndim
    elif isinstance(output_ratio, Sequence) and len(output_ratio) == ndim:
        ratios = tuple(output_ratio)
    else:
        raise ValueError(f"output_ratio must be a number or {ndim} numbers, got {output_ratio!r}")
    floats = [float(r) if isinstance(r, numbers.Real) and not isinstance(r, bool) else math.nan for r in ratios]
    if not all(0 < r < 1 for r in floats):
        raise ValueError(f"output_ratio must be between 0 and 1 (exclusive), got {output_ratio!r}")
    out = tuple(int(n * r) for n, r in zip(spatial, floats))
    if min(out) < 1:
        raise ValueError(
            f"output_ratio {output_ratio!r} leaves no output cell along {AXIS_NAMES[ndim][out.index(0)]} "
            f"of {extent(spatial, ndim)}; use a larger ratio or output_size"
        )
    return out


def _samples(
    samples: npt.ArrayLike | None, seed: int | None, channels: int, ndim: int, dtype: np.dtype[Any], has_channels: bool
) -> Array:
    """The samples as a (channels, ndim) array of ``dtype``, drawn from ``seed`` when not given; checked in [0, 1)."""
    if samples is None:
        drawn: Array = np.random.default_rng(seed).random((channels, ndim)).astype(dtype)
        # float16 and float32 may round a draw just below 1 up to 1
        below_one: Array = np.minimum(drawn, np.nextafter(dtype.type(1), dtype.type(0)))
        return below_one
    if seed is not None:
        raise ValueError("seed draws the samples; give samples or seed, not both")
    given = np.asarray(samples)
    wanted = f"({channels}, {ndim})" if has_channels else f"({ndim},)"
    if given.dtype.kind not in "iuf" or given.shape not in ((ndim,), (channels, ndim)):
        raise ValueError(
            f"samples must be numbers of shape {wanted} (PyTorch's _random_samples for one item), "
            f"got {given.dtype} of shape {given.shape}"
        )
    with np.errstate(over="ignore"):
        typed = np.broadcast_to(given.astype(dtype), (channels, ndim))
    if not ((typed >= 0) & (typed < 1)).all():
        note = f" (as {dtype}, the input's float type)" if ((given >= 0) & (given < 1)).all() else ""
        raise ValueError(f"samples must lie in [0, 1){note}, got {given.tolist()}")
    return typed


def _starts(u: Array, n: int, o: int, k: int) -> Array:
    """Where each of the ``o`` windows starts, per channel: shape (o, channels), PyTorch's generate_intervals."""
    starts = np.empty((o, u.size), dtype=np.int64)
    if o > 1:
        t = u.dtype.type
        alpha = t(n - k) / t(o - 1)
        i = np.arange(o - 1).astype(u.dtype)[:, None]  # int64 to the type, as C++ converts i
        with np.errstate(over="ignore"):
            starts[:-1] = ((i + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)
    starts[-1] = n - k
    return starts


def _gather(x: Array, axis: int, starts: Array, j: int) -> Array:
    """Cell ``starts + j`` of every window along ``axis``."""
    gathered: Array = np.take(x, starts + j, axis=axis)
    return gathered


def _max_along(x: Array, axis: int, starts: Array, k: int) -> Array:
    out = _gather(x, axis, starts, 0)
    for j in range(1, k):
        np.maximum(out, _gather(x, axis, starts, j), out=out)  # NaN wins, as in PyTorch's loop
    return out


def _max_with_indices(x: Array, flat: Array, starts: list[Array], k: tuple[int, ...]) -> tuple[Array, Array]:
    """The max of every window and the flat index of its cell: the first in row-major order, but the last NaN.

    PyTorch scans a window in row-major order and takes a cell when ``val > best or isnan(val)``; reducing
    the last axis first, then the others, chooses the same cell.
    """
    vals, idx = x, flat
    for axis in reversed(range(len(starts))):
        best, where = _gather(vals, axis, starts[axis], 0), _gather(idx, axis, starts[axis], 0)
        for j in range(1, k[axis]):
            v = _gather(vals, axis, starts[axis], j)
            better = v > best
            if v.dtype.kind == "f":
                better |= np.isnan(v)
            np.copyto(best, v, where=better)
            np.copyto(where, _gather(idx, axis, starts[axis], j), where=better)
        vals, idx = best, where
    return vals, idx


@overload
def fractional_max_pool2d(
    x: npt.ArrayLike,
    size: IntPair,
    output_size: IntPair | None = ...,
    output_ratio: Ratios | None = ...,
    *,
    samples: npt.ArrayLike | None = ...,
    seed: int | None = ...,
    return_indices: Literal[False] = ...,
) -> Array: ...


@overload
def fractional_max_pool2d(
    x: npt.ArrayLike,
    size: IntPair,
    output_size: IntPair | None = ...,
    output_ratio: Ratios | None = ...,
    *,
    samples: npt.ArrayLike | None = ...,
    seed: int | None = ...,
    return_indices: Literal[True],
) -> tuple[Array, Array]: ...


@overload
def fractional_max_pool2d(
    x: npt.ArrayLike,
    size: IntPair,
    output_size: IntPair | None = ...,
    output_ratio: Ratios | None = ...,
    *,
    samples: npt.ArrayLike | None = ...,
    seed: int | None = ...,
    return_indices: bool,
) -> Array | tuple[Array, Array]: ...


def fractional_max_pool2d(
    x: npt.ArrayLike,
    size: IntPair,
    output_size: IntPair | None = None,
    output_ratio: Ratios | None = None,
    *,
    samples: npt.ArrayLike | None = None,
    seed: int | None = None,
    return_indices: bool = False,
) -> Array | tuple[Array, Array]:
    """Return ``x`` max-pooled by pseudo-random windows of ``size`` to ``output_size`` (PyTorch FractionalMaxPool2d).

    Graham's fractional max pooling shrinks by a factor that need not be an
    integer (``1/sqrt(2)`` is usual): the windows step by 1 or 2 cells
    (more for smaller ratios) in an order set by a random sample per
    channel and axis, and overlap when the steps are shorter than ``size``.

    Parameters
    ----------
    x : array_like
        ``(H, W)`` or ``(H, W, C)``, channels last: bool, integer or float.
    size : int or (int, int)
        The pool window (PyTorch ``kernel_size``).
    output_size : int or (int, int), optional
        The output's ``(H, W)``; each needs ``output + size - 1 <= input``.
    output_ratio : float or (float, float), optional
        Instead of ``output_size``: each output length is
        ``int(input length * ratio)``, ``0 < ratio < 1``, as PyTorch's module
        computes it. Exactly one of the two is given.
    samples : array_like, optional
        The random samples, in [0, 1): shape ``(C, 2)`` (or ``(2,)``, for
        every channel), in PyTorch's order, column 0 placing the windows
        along the width (W) and column 1 along the height (H). So
        ``samples=s[n]`` with ``s`` the ``_random_samples`` given to (or drawn
        by) PyTorch gives its result for item ``n``, cell for cell. They are
        taken in the input's float type (float64 for integers), as PyTorch
        takes them in the input's.
    seed : int, optional
        Without ``samples``: the seed of the numpy Generator that draws them
        (uniform in [0, 1)), so a result can be made again; None draws fresh
        ones.
    return_indices : bool
        Also return each value's flat index ``h * W + w`` in its channel,
        the first cell in row-major order on ties and the last NaN in a
        window holding NaN (as PyTorch); :func:`unpool2d` puts them back.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        The input's dtype (native byte order); indices int64.

    Raises
    ------
    ValueError
        For an output that does not fit, neither or both of output_size and
        output_ratio, samples of the wrong shape or outside [0, 1), both
        samples and seed, or an input that is not a non-empty 2-D or 3-D
        numeric array.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(25).reshape(5, 5)
    >>> fractional_max_pool2d(x, 2, 3, samples=[0.5, 0.5])  # windows at rows (and columns) 0-1, 2-3, 3-4
    array([[ 6,  8,  9],
           [16, 18, 19],
           [21, 23, 24]])
    """
    return fractional_max_pool(
        x, size, output_size, output_ratio, ndim=2, samples=samples, seed=seed, return_indices=return_indices
    )


@overload
def fractional_max_pool3d(
    x: npt.ArrayLike,
    size: IntTriple,
    output_size: IntTriple | None = ...,
    output_ratio: Ratios | None = ...,
    *,
    samples: npt.ArrayLike | None = ...,
    seed: int | None = ...,
    return_indices: Literal[False] = ...,
) -> Array: ...


@overload
def fractional_max_pool3d(
    x: npt.ArrayLike,
    size: IntTriple,
    output_size: IntTriple | None = ...,
    output_ratio: Ratios | None = ...,
    *,
    samples: npt.ArrayLike | None = ...,
    seed: int | None = ...,
    return_indices: Literal[True],
) -> tuple[Array, Array]: ...


@overload
def fractional_max_pool3d(
    x: npt.ArrayLike,
    size: IntTriple,
    output_size: IntTriple | None = ...,
    output_ratio: Ratios | None = ...,
    *,
    samples: npt.ArrayLike | None = ...,
    seed: int | None = ...,
    return_indices: bool,
) -> Array | tuple[Array, Array]: ...


def fractional_max_pool3d(
    x: npt.ArrayLike,
    size: IntTriple,
    output_size: IntTriple | None = None,
    output_ratio: Ratios | None = None,
    *,
    samples: npt.ArrayLike | None = None,
    seed: int | None = None,
    return_indices: bool = False,
) -> Array | tuple[Array, Array]:
    """Return the fractional max pooling of a volume (PyTorch FractionalMaxPool3d).

    As :func:`fractional_max_pool2d`, over ``(D, H, W)`` or ``(D, H, W, C)``.
    ``samples`` has shape ``(C, 3)`` (or ``(3,)``), in PyTorch's order for
    3-D: column 0 along the depth (D), 1 along the height (H), 2 along the
    width (W). Indices are ``d * H * W + h * W + w``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64).reshape(4, 4, 4)
    >>> fractional_max_pool3d(x, 2, output_ratio=0.5, samples=[0.3, 0.3, 0.3], return_indices=True)[1]
    array([[[21, 23],
            [29, 31]],
    <BLANKLINE>
           [[53, 55],
            [61, 63]]])
    """
    return fractional_max_pool(
        x, size, output_size, output_ratio, ndim=3, samples=samples, seed=seed, return_indices=return_indices
    )
