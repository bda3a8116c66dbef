"""Max unpooling (PyTorch MaxUnpool1d/2d/3d): each value goes back to the cell its index names, zeros elsewhere."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .banded import check_array
from .windows import IntPair, Ints, IntTriple, check_ndim, extent, ints

__all__ = ["unpool", "unpool1d", "unpool2d", "unpool3d"]

Array = npt.NDArray[Any]


def unpool(values: npt.ArrayLike, indices: npt.ArrayLike, output_shape: Ints, *, ndim: int) -> Array:
    """Return an array of ``output_shape`` (then the channels) holding each value at its index, zeros elsewhere.

    The inverse of max pooling as PyTorch's ``max_unpool1d/2d/3d`` computes
    it: ``pool(x, ..., return_indices=True)`` gives ``values, indices``, and
    ``unpool(values, indices, x.shape[:ndim], ndim=ndim)`` puts every
    maximum back where it came from (the gradient of max pooling routed to
    the winners, with the values as the gradient).
    :func:`unpool1d`, :func:`unpool2d` and :func:`unpool3d` are this with
    ``ndim`` 1, 2 and 3.

    Parameters
    ----------
    values : array_like
        ``ndim`` spatial axes, then optionally channels (channels last, as
        :func:`pool`): bool, integer or float.
    indices : array_like of int
        The shape of ``values``: for each value, the flat index of its cell
        in the output's spatial axes, PyTorch's convention (``n``,
        ``h * W + w``, ``d * H * W + h * W + w``), per channel.
    output_shape : int or tuple of int
        The output's spatial shape (the channels follow from ``values``),
        usually the shape of the input that was pooled.
    ndim : {1, 2, 3}
        How many spatial axes lead the shape of ``values``.

    Returns
    -------
    numpy.ndarray
        ``output_shape`` plus the channels, of the values' dtype (native byte
        order). Where two values name the same cell (overlapping windows
        that chose the same maximum), the last in row-major order stays, as
        PyTorch's CPU loop leaves it.

    Raises
    ------
    ValueError
        For an index outside ``[0, cells)`` (PyTorch refuses it too), indices
        not integers or not of the values' shape, or values that are not a
        non-empty numeric array of ``ndim`` or ``ndim + 1`` axes.

    Examples
    --------
    >>> unpool([5, 8], [1, 3], 5, ndim=1)
    array([0, 5, 0, 8, 0])
    """
    ndim = check_ndim(ndim)
    v, was_bool = check_array(values, ndim, "values")
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise ValueError(f"indices must be an integer array, got dtype {idx.dtype}")
    if idx.shape != v.shape:
        raise ValueError(f"indices must have the shape of the values, {v.shape}, got {idx.shape}")
    spatial = ints(output_shape, "output shape", ndim)
    cells = math.prod(spatial)
    bad = (idx < 0) | (idx >= cells)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"index {idx[where]} at {where} is outside {extent(spatial, ndim, 'output')}: indices run 0 .. {cells - 1}"
        )
    channels = math.prod(v.shape[ndim:])
    # a flat index into the output, channels last
    target = (idx.astype(np.int64).reshape(-1, channels) * channels + np.arange(channels)).ravel()
    source = v.reshape(-1)
    # numpy leaves the order of repeated assignments open; PyTorch's loop leaves the last value: keep only that one
    last = np.full(cells * channels, -1, dtype=np.int64)
    order = np.arange(target.size, dtype=np.int64)
    np.maximum.at(last, target, order)
    kept = last[target] == order
    out = np.zeros(cells * channels, dtype=v.dtype)
    out[target[kept]] = source[kept]
    result = out.reshape(spatial + v.shape[ndim:])
    return result.view(bool) if was_bool else result


def unpool1d(values: npt.ArrayLike, indices: npt.ArrayLike, output_shape: Ints) -> Array:
    """:func:`unpool` of a signal, ``(N[, C])`` (PyTorch MaxUnpool1d, channels last).

    >>> import numpy as np
    >>> from poolcli.engine import pool1d
    >>> x = np.array([3, 1, 4, 1, 5, 9, 2])
    >>> values, indices = pool1d(x, 2, return_indices=True)
    >>> unpool1d(values, indices, len(x))
    array([3, 0, 4, 0, 0, 9, 0])
    """
    return unpool(values, indices, output_shape, ndim=1)


def unpool2d(values: npt.ArrayLike, indices: npt.ArrayLike, output_shape: IntPair) -> Array:
    """:func:`unpool` of an image, ``(H, W[, C])`` (PyTorch MaxUnpool2d, channels last).

    >>> import numpy as np
    >>> from poolcli.engine import pool2d
    >>> x = np.arange(1, 17).reshape(4, 4)
    >>> unpool2d(*pool2d(x, 2, return_indices=True), x.shape)
    array([[ 0,  0,  0,  0],
           [ 0,  6,  0,  8],
           [ 0,  0,  0,  0],
           [ 0, 14,  0, 16]])
    """
    return unpool(values, indices, output_shape, ndim=2)


def unpool3d(values: npt.ArrayLike, indices: npt.ArrayLike, output_shape: IntTriple) -> Array:
    """:func:`unpool` of a volume, ``(D, H, W[, C])`` (PyTorch MaxUnpool3d, channels last).

    >>> import numpy as np
    >>> from poolcli.engine import pool3d
    >>> x = np.arange(8).reshape(2, 2, 2)
    >>> unpool3d(*pool3d(x, 2, return_indices=True), x.shape)[1]
    array([[0, 0],
           [0, 7]])
    """
    return unpool(values, indices, output_shape, ndim=3)
