"""pool1d, pool2d, pool3d: :func:`pool` with the number of spatial axes fixed, typed for each."""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy.typing as npt

from .pooling import ResultType, pool
from .windows import IntPair, Ints, IntTriple, OutputSize, OutputSizes, Padding, Paddings

__all__ = ["pool1d", "pool2d", "pool3d"]

Array = npt.NDArray[Any]


@overload
def pool1d(
    x: npt.ArrayLike,
    size: Ints | None = ...,
    stride: Ints | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    dilation: Ints = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: Literal[False] = ...,
    dtype: ResultType = ...,
) -> Array: ...


@overload
def pool1d(
    x: npt.ArrayLike,
    size: Ints | None = ...,
    stride: Ints | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    dilation: Ints = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: Literal[True],
    dtype: ResultType = ...,
) -> tuple[Array, Array]: ...


@overload
def pool1d(
    x: npt.ArrayLike,
    size: Ints | None = ...,
    stride: Ints | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    dilation: Ints = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: bool,
    dtype: ResultType = ...,
) -> Array | tuple[Array, Array]: ...


def pool1d(
    x: npt.ArrayLike,
    size: Ints | None = None,
    stride: Ints | None = None,
    padding: Paddings = "valid",
    mode: str = "max",
    *,
    dilation: Ints = 1,
    ceil_mode: bool = False,
    count_pad: bool | None = None,
    output_size: OutputSizes | None = None,
    norm_type: float | None = None,
    return_indices: bool = False,
    dtype: ResultType = None,
) -> Array | tuple[Array, Array]:
    """Return ``x`` (N,) or (N, C) pooled: :func:`pool` with ``ndim=1``, whose parameters these are.

    PyTorch MaxPool1d, AvgPool1d, LPPool1d, AdaptiveMaxPool1d and
    AdaptiveAvgPool1d (channels first there: move C last);
    Keras MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D and
    GlobalAveragePooling1D (``(steps, features)``, channels last as here).

    Examples
    --------
    >>> pool1d([1, 5, 2, 8, 3], 2)
    array([5, 8])
    >>> pool1d([1, 5, 2, 8, 3], 2, padding="same", return_indices=True)
    (array([5, 8, 3]), array([1, 3, 4]))
    """
    return pool(
        x,
        size,
        stride,
        padding,
        mode,
        ndim=1,
        dilation=dilation,
        ceil_mode=ceil_mode,
        count_pad=count_pad,
        output_size=output_size,
        norm_type=norm_type,
        return_indices=return_indices,
        dtype=dtype,
    )


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
    dtype: ResultType = ...,
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
    dtype: ResultType = ...,
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
    dtype: ResultType = ...,
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
    dtype: ResultType = None,
) -> Array | tuple[Array, Array]:
    """Return ``x`` (H, W) or (H, W, C) pooled: :func:`pool` with ``ndim=2``, whose parameters these are.

    PyTorch MaxPool2d, AvgPool2d, LPPool2d, AdaptiveMaxPool2d and
    AdaptiveAvgPool2d;
    Keras MaxPooling2D, AveragePooling2D, GlobalMaxPooling2D and
    GlobalAveragePooling2D.

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
    return pool(
        x,
        size,
        stride,
        padding,
        mode,
        ndim=2,
        dilation=dilation,
        ceil_mode=ceil_mode,
        count_pad=count_pad,
        output_size=output_size,
        norm_type=norm_type,
        return_indices=return_indices,
        dtype=dtype,
    )


@overload
def pool3d(
    x: npt.ArrayLike,
    size: IntTriple | None = ...,
    stride: IntTriple | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    dilation: IntTriple = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: Literal[False] = ...,
    dtype: ResultType = ...,
) -> Array: ...


@overload
def pool3d(
    x: npt.ArrayLike,
    size: IntTriple | None = ...,
    stride: IntTriple | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    dilation: IntTriple = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: Literal[True],
    dtype: ResultType = ...,
) -> tuple[Array, Array]: ...


@overload
def pool3d(
    x: npt.ArrayLike,
    size: IntTriple | None = ...,
    stride: IntTriple | None = ...,
    padding: Paddings = ...,
    mode: str = ...,
    *,
    dilation: IntTriple = ...,
    ceil_mode: bool = ...,
    count_pad: bool | None = ...,
    output_size: OutputSizes | None = ...,
    norm_type: float | None = ...,
    return_indices: bool,
    dtype: ResultType = ...,
) -> Array | tuple[Array, Array]: ...


def pool3d(
    x: npt.ArrayLike,
    size: IntTriple | None = None,
    stride: IntTriple | None = None,
    padding: Paddings = "valid",
    mode: str = "max",
    *,
    dilation: IntTriple = 1,
    ceil_mode: bool = False,
    count_pad: bool | None = None,
    output_size: OutputSizes | None = None,
    norm_type: float | None = None,
    return_indices: bool = False,
    dtype: ResultType = None,
) -> Array | tuple[Array, Array]:
    """Return ``x`` (D, H, W) or (D, H, W, C) pooled: :func:`pool` with ``ndim=3``, whose parameters these are.

    PyTorch MaxPool3d, AvgPool3d, LPPool3d, AdaptiveMaxPool3d and
    AdaptiveAvgPool3d (channels first there: move C last);
    Keras MaxPooling3D, AveragePooling3D, GlobalMaxPooling3D and
    GlobalAveragePooling3D.

    Examples
    --------
    >>> import numpy as np
    >>> volume = np.arange(64).reshape(4, 4, 4)
    >>> pool3d(volume, 2)
    array([[[21, 23],
            [29, 31]],
    <BLANKLINE>
           [[53, 55],
            [61, 63]]])
    >>> pool3d(volume, output_size="global", mode="avg")
    array([[[31.5]]])
    """
    return pool(
        x,
        size,
        stride,
        padding,
        mode,
        ndim=3,
        dilation=dilation,
        ceil_mode=ceil_mode,
        count_pad=count_pad,
        output_size=output_size,
        norm_type=norm_type,
        return_indices=return_indices,
        dtype=dtype,
    )
