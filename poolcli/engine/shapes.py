"""Output shapes and the cells of every window: the public, plain-Python views of the windows' plans.

No numpy, so that the command line can work out shapes before numpy loads.
"""

from __future__ import annotations

from collections.abc import Sequence

from .windows import (
    AXIS_NAMES,
    Ints,
    OutputSizes,
    Paddings,
    adaptive_bounds,
    check_adaptive_alone,
    check_ndim,
    check_shape,
    output_size_of,
    plans,
)

__all__ = ["output_shape", "window_cells"]

#: For each axis, every window's cells as (index, counted) pairs.
WindowCells = tuple[list[list[tuple[int, bool]]], ...]
#: window_cells lists at most this many cells per axis (explain draws every one).
_MAX_LISTED = 1 << 20


def output_shape(
    shape: Sequence[int],
    size: Ints | None = None,
    stride: Ints | None = None,
    padding: Paddings = "valid",
    *,
    dilation: Ints = 1,
    ceil_mode: bool = False,
    output_size: OutputSizes | None = None,
    ndim: int = 2,
) -> tuple[int, ...]:
    """Return the shape that :func:`pool` gives for an input of ``shape`` (:func:`pool2d` unless ``ndim`` says).

    Parameters
    ----------
    shape : tuple of int
        ``ndim`` spatial sizes, then optionally the channels: ``(N[, C])``,
        ``(H, W[, C])`` or ``(D, H, W[, C])``.
    size, stride, padding, dilation, ceil_mode, output_size
        As in :func:`pool` (``size`` None means :data:`DEFAULT_SIZE`).
    ndim : {1, 2, 3}
        How many spatial axes lead the shape (2 by default).

    Returns
    -------
    tuple of int
        The pooled spatial sizes, then the channels if any.

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
    >>> output_shape((5, 5, 3), 2, padding="same", ndim=3)
    (3, 3, 2)
    >>> output_shape((100, 2), 4, 2, ndim=1)
    (49, 2)
    """
    ndim = check_ndim(ndim)
    adaptive = output_size_of(output_size, ndim)
    if adaptive is not None:
        check_adaptive_alone(size, stride, padding, dilation, ceil_mode, ndim)
        dims = check_shape(shape, ndim)
        return adaptive + dims[ndim:]
    every = plans(tuple(shape), size, stride, padding, dilation, ceil_mode, ndim=ndim)
    return tuple(plan.out for plan in every) + tuple(int(v) for v in shape[ndim:])


def window_cells(
    shape: Sequence[int],
    size: Ints | None = None,
    stride: Ints | None = None,
    padding: Paddings = "valid",
    *,
    dilation: Ints = 1,
    ceil_mode: bool = False,
    count_pad: bool | None = None,
    output_size: OutputSizes | None = None,
    ndim: int = 2,
) -> WindowCells:
    """Return, for each spatial axis, the cells of every window: lists of (index, counted) pairs.

    ``index`` may lie outside ``[0, n)`` (a padded cell); ``counted`` says
    whether avg counts the cell in its divisor. The slow, explicit view of
    the same plan :func:`pool` follows, for explaining and for tests; one
    list per axis (rows and columns for 2-D), and an axis whose windows hold
    more than 2**20 cells in all is refused.

    Examples
    --------
    >>> rows, cols = window_cells((3, 3), 3, 2, 1)
    >>> rows[0]
    [(-1, True), (0, True), (1, True)]
    >>> window_cells((5,), 2, ndim=1)
    ([[(0, True), (1, True)], [(2, True), (3, True)]],)
    """
    ndim = check_ndim(ndim)
    adaptive = output_size_of(output_size, ndim)
    listed = []
    if adaptive is not None:
        check_adaptive_alone(size, stride, padding, dilation, ceil_mode, ndim)
        dims = check_shape(shape, ndim)
        for axis, (n, o) in enumerate(zip(dims, adaptive)):
            _check_listable(axis, n + 2 * o, ndim)  # windows of about n/o cells, each overlapping its neighbours by one
            starts, ends = adaptive_bounds(n, o)
            listed.append([[(i, True) for i in range(a, b)] for a, b in zip(starts, ends)])
        return tuple(listed)
    count = True if count_pad is None else bool(count_pad)
    for axis, plan in enumerate(plans(tuple(shape), size, stride, padding, dilation, ceil_mode, count, ndim)):
        _check_listable(axis, plan.out * plan.k, ndim)
        windows = []
        for i in range(plan.out):
            start = i * plan.s - plan.before
            cells = [start + j * plan.d for j in range(plan.k)]
            windows.append([(c, plan.count_lo <= c < plan.count_hi) for c in cells])
        listed.append(windows)
    return tuple(listed)


def _check_listable(axis: int, cells: int, ndim: int) -> None:
    if cells > _MAX_LISTED:
        raise ValueError(
            f"the windows along {AXIS_NAMES[ndim][axis]} hold {cells} cells in all, "
            f"more than the {_MAX_LISTED} that can be listed; use smaller windows or a smaller output size"
        )
