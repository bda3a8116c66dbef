"""The order in which adaptive and global avg and sum add a window's cells, fixed by the window alone.

A float sum depends on the order of its additions. So that a window's value never depends on the rest of
the input (and a streamed run, which sees the rows a band at a time, gives the whole run's bits), the
rows of a window are added in this order, which depends only on the window's own rows:

1. the window's rows are cut into pieces of :data:`BLOCK` rows, counted from its first row (the last
   piece may be shorter);
2. within a piece, rows are added pairwise: rows 0+1, 2+3, ... (an odd last row carried up as it is),
   then those sums pairwise, and so on to one row;
3. the pieces are added one after another, first to last;

and the row of totals is then reduced along the other axes by numpy, in an order that depends only on
that row. Where one window spans every column (global pooling, or adaptive pooling to one column), each
row is reduced first (numpy's pairwise sum along it, which depends on the row alone) and its sums are then
added as above: the input is read once, as ``x.sum()`` reads it. Every step is elementwise over the cells of
a row, so pooling any set of windows, all at once or one by one, gives the same bits. The error is that of
pairwise summation within a piece and of sequential summation across pieces: for ``n`` rows at most about
``log2(min(n, BLOCK)) + n / BLOCK`` roundings on the way down the rows, against ``n - 1`` for a sum row
after row (``tests/test_stream_adaptive.py`` holds the sums to that bound against ``math.fsum``).

A float sum that overflows on finite cells is computed again from the cells scaled by a power of two and
scaled back (see :func:`poolcli.engine.pool`); the power differs with the window's size, which only
matters to subnormal cells in a window whose sum overflowed.

Integer sums held exactly (in a wide enough integer type) are the same in any order; they take the
fastest. :class:`GlobalSums` is global avg and sum given the rows a band at a time: the engine's own
global path feeds it the whole input as one band.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .banded import check_array, count_dtype, result_dtype, sum_dtype
from .reductions import Reduction
from .results import convert, integer_sums, rounded_quotient, saturate, target_type, window_counts

Array = npt.NDArray[Any]

#: Rows per piece: pairwise within, one after another across.
BLOCK = 128
#: Bytes of gathered rows pooled at a time (several windows' pieces at once, to keep them in cache).
_CHUNK_BYTES = 1 << 20
#: Windows of at least this many rows are summed one by one (slices of the rows); shorter ones several at a time.
_LONG = 8
#: A float sum that overflowed on its way is computed again with its cells scaled by 2**-_SCALE (exact but
#: for subnormals), then scaled back: it is inf only when its true value is.
_SCALE = 64

__all__ = ["BLOCK", "GlobalSums", "pairwise_rows", "row_sums", "window_rows"]


def pairwise_rows(a: Array, acc: np.dtype[Any]) -> Array:
    """The sum along axis 1 of ``a`` (pieces, rows, ...), pairwise: 0+1, 2+3, ..., an odd last row carried."""
    m = a.shape[1]
    if m == 1:
        return a[:, 0].astype(acc)
    # the first level into a new array, the others in place: the sum of rows j and j + step lands on row j
    half = m // 2
    work = np.empty((a.shape[0], half + m % 2) + a.shape[2:], acc)
    np.add(a[:, 0 : m - 1 : 2], a[:, 1:m:2], out=work[:, :half], dtype=acc)
    if m % 2:
        work[:, half] = a[:, m - 1]
    n, step = work.shape[1], 1
    while step < n:
        np.add(work[:, 0 : n - step : 2 * step], work[:, step : n : 2 * step], out=work[:, 0 : n - step : 2 * step])
        step *= 2
    return work[:, 0]


def window_rows(x: Array, starts: Array, ends: Array, acc: np.dtype[Any]) -> Array:
    """The sums over the rows ``[starts[i], ends[i])`` of ``x``, in the order of the module's docstring; (o, ...)."""
    o = len(starts)
    lengths = ends - starts
    out = np.empty((o,) + x.shape[1:], acc)
    row_bytes = max(1, math.prod(x.shape[1:]) * x.dtype.itemsize)
    if int(lengths.min()) >= _LONG:  # long windows: each a slice of the rows (a view), pieces one after another
        for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
            run: Array | None = None
            for j in range(a, b, BLOCK):
                piece = pairwise_rows(x[np.newaxis, j : min(j + BLOCK, b)], acc)[0]
                run = piece if run is None else np.add(run, piece, out=run)
            out[i] = run
        return out
    first, size = int(starts[0]), int(lengths[0])
    regular = bool((lengths == size).all() and (np.diff(starts) == size).all())  # windows side by side
    stacked = x[first : first + o * size].reshape((o, size) + x.shape[1:]) if regular else None  # a view
    for m in np.unique(lengths).tolist():  # short windows: several at a time, gathered
        chosen = np.flatnonzero(lengths == m)
        step = max(1, _CHUNK_BYTES // (row_bytes * m))
        for c in range(0, len(chosen), step):
            part = chosen[c : c + step]
            total: Array | None = None
            for j in range(0, m, BLOCK):
                b = min(BLOCK, m - j)
                if stacked is not None:
                    rows = stacked[part[0] : part[-1] + 1, j : j + b]  # the windows of a group are consecutive
                else:
                    rows = np.take(x, starts[part, None] + j + np.arange(b), axis=0)
                piece = pairwise_rows(rows, acc)
                total = piece if total is None else np.add(total, piece, out=total)
            out[part] = total
    return out


def row_sums(a: Array, ndim: int, acc: np.dtype[Any]) -> Array:
    """Each row's sum over the other spatial axes (rows, channels...): numpy's pairwise sum, in ``acc``
    (converted first, so that no buffer of a cast cuts a row where the array's size says)."""
    work = a if a.dtype == acc else a.astype(acc)
    return np.add.reduce(work, axis=tuple(range(1, ndim))) if ndim > 1 else work


class GlobalSums:
    """Global avg or sum (one window over every spatial cell) of an input given as bands of rows, in order.

    ``add`` each band (along the first spatial axis; the same trailing shape each time), then ``result``:
    the value :func:`poolcli.engine.pool` gives for ``output_size="global"`` on all the rows at once
    (spatial axes of length 1, then the channels), bit for bit, its ``dtype=`` rule included. Holds fewer
    than :data:`BLOCK` rows' sums. ``acc``, when given, is the type to sum in (the engine's own, for the
    input's size); else integers are summed in int64 or uint64 (exact for up to 2**32 cells of 32-bit
    integers: the same sums) and floats as the engine sums them.

    Floats: each row is summed first (numpy's pairwise sum along the row, which depends on the row alone),
    then the row sums in the order of the module's docstring. Where a sum overflows on the way, the same is
    done with the cells scaled by 2**-64 (a row's scaled sum is its sum scaled, exactly, unless that sum is not
    finite: then it is summed again from the scaled cells), and the result is scaled back.
    """

    def __init__(self, rec: Reduction, ndim: int, dtype: object = None, acc: np.dtype[Any] | None = None) -> None:
        if rec.accumulate != "sum" or rec.prepare is not None:
            raise ValueError(f"{rec.name} pooling is not a sum")
        self.rec, self.ndim, self.dtype, self.acc_asked = rec, ndim, dtype, acc
        self.acc: np.dtype[Any] = np.dtype(np.float64)
        self.rows = 0
        self.kind: np.dtype[Any] | None = None  # the input's type (bool as uint8), from the first band
        self.shape: tuple[int, ...] = ()  # a row's shape
        self.was_bool = False
        self.floats = False
        self.total: Array | None = None  # the sum of the pieces so far
        self.scaled: Array | None = None  # the same with every cell scaled by 2**-_SCALE, once an overflow was seen
        self.scaling = False
        self.held: tuple[Array, Array] | None = None  # sums (and scaled sums) of the rows of the piece not complete

    def add(self, band: Any) -> None:
        """Take the next rows."""
        a, was_bool = check_array(band, self.ndim)
        if self.kind is None:
            self.kind, self.shape, self.was_bool = a.dtype, a.shape[1:], was_bool
            self.floats = a.dtype.kind == "f"
            self.acc = self.acc_asked if self.acc_asked is not None else sum_dtype(a.dtype, 1 << 32)
        elif a.dtype != self.kind or a.shape[1:] != self.shape:
            raise ValueError(f"rows of {a.dtype} {a.shape[1:]} follow rows of {self.kind} {self.shape}")
        self.rows += len(a)
        if self.acc.kind in "iu":  # exact: any order gives the same sums
            part = np.asarray(np.add.reduce(a, axis=tuple(range(self.ndim)), dtype=self.acc))
            self.total = part if self.total is None else np.add(self.total, part, out=self.total)
            return
        with np.errstate(over="ignore", invalid="ignore"):
            sums = row_sums(a, self.ndim, self.acc)
            scaled = np.ldexp(sums, -_SCALE) if self.floats else sums
            bad = ~np.isfinite(sums).reshape(len(a), -1).all(axis=1) if self.floats else None
            if bad is not None and bad.any():  # an overflow in the row (or an infinity or NaN in it)
                scaled[bad] = row_sums(np.ldexp(a[bad].astype(self.acc), -_SCALE), self.ndim, self.acc)
        if self.held is not None:
            sums, scaled = np.concatenate([self.held[0], sums]), np.concatenate([self.held[1], scaled])
            self.held = None
        whole = len(sums) // BLOCK * BLOCK
        if whole:
            shape = (-1, BLOCK) + sums.shape[1:]
            self._fold(sums[:whole].reshape(shape), scaled[:whole].reshape(shape))
        if whole < len(sums):
            self.held = (sums[whole:], scaled[whole:])

    def sums(self) -> tuple[Array, Array | None]:
        """The sum over every spatial cell, in the type summed in, spatial axes kept (of length 1); and, where
        that is not finite, the same sum of the cells scaled by 2**-_SCALE (else None)."""
        if self.kind is None:
            raise ValueError("no rows were given")
        if self.held is not None:
            self._fold(self.held[0][np.newaxis], self.held[1][np.newaxis])
            self.held = None
        assert self.total is not None
        keep = (1,) * self.ndim + self.shape[self.ndim - 1 :]
        back = None
        if self.floats and not np.isfinite(self.total).all():  # an overflow, or an infinity or NaN
            with np.errstate(over="ignore"):
                back = np.asarray(self.scaled if self.scaling else np.ldexp(self.total, -_SCALE)).reshape(keep)
        return np.asarray(self.total).reshape(keep), back

    def values(self) -> Array:
        """The record's own result (avg or sum, in its type): where a sum overflowed on finite cells, the sum
        of the scaled cells scaled back (inf only when the true value is beyond the type's range)."""
        total, scaled = self.sums()
        assert self.kind is not None
        out_type = result_dtype(self.kind, self.rec)
        counts = self._counts().astype(count_dtype(self.acc, out_type))
        divide = self.rec.finish == "divide"
        with np.errstate(over="ignore", invalid="ignore"):
            exact = np.asarray(total / counts if divide else total)
            out: Array = exact.astype(out_type)
            if scaled is not None:
                # scaled back in the type summed in, then narrowed once: 2**-64 of a float16 sum is below
                # float16's range, so narrowing first would make an overflowed sum 0 instead of inf
                back = np.ldexp(np.asarray(scaled / counts if divide else scaled), _SCALE)
                fix = ~np.isfinite(exact) & ~np.isnan(back)
                out[fix] = back[fix].astype(out_type)
        return out

    def result(self) -> Array:
        """The global avg or sum, as ``pool`` gives it (its ``dtype=`` rule included)."""
        total, _ = self.sums()
        kind = self.kind
        assert kind is not None
        target = target_type(self.dtype, kind, self.was_bool)
        spatial = (self.rows,) + self.shape[: self.ndim - 1]
        sums = integer_sums(target, kind, self.rec, math.prod(n + 1 for n in spatial))
        if sums is not None and self.acc.kind in "iu":
            assert target is not None
            total = total.astype(sums)
            if self.rec.finish == "divide":
                return rounded_quotient(total, self._counts(), target, kind)
            return saturate(total, target)
        values = self.values()
        return convert(values, target) if target is not None else values

    def _counts(self) -> Array:
        spatial = [np.array([n]) for n in (self.rows,) + self.shape[: self.ndim - 1]]
        return window_counts(spatial, len(self.shape) - (self.ndim - 1))

    def _fold(self, pieces: Array, scaled: Array) -> None:
        """Add pieces of row sums (pieces, rows, ...): each pairwise, then one after another."""
        with np.errstate(over="ignore", invalid="ignore"):
            sums = pairwise_rows(pieces, self.acc)
            scaled_sums: Array | None = None
            for i, piece in enumerate(sums):
                new = piece if self.total is None else self.total + piece
                # an overflow (or an infinity or NaN among the cells): from here on the scaled sums too
                if not self.scaling and self.floats and not np.isfinite(new).all():
                    self.scaling = True
                    self.scaled = None if self.total is None else np.ldexp(self.total, -_SCALE)
                if self.scaling:
                    if scaled_sums is None:
                        scaled_sums = pairwise_rows(scaled, self.acc)
                    self.scaled = scaled_sums[i] if self.scaled is None else self.scaled + scaled_sums[i]
                self.total = new
