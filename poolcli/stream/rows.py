"""An operation whose windows run down the rows (a pool, a filter), done on bands of rows as they arrive.

Output row ``i`` reads input rows ``[i*s - before, i*s - before + e)``. A band of the rows ``[t, u)``, with ``t``
a multiple of ``s`` and the operation's own padding, gives output ``t/s + j`` as its row ``j``, and that row
equals the whole array's wherever its window lies within the band, or reaches past it only at the input's own
first or last row (the padding there is the same padding). So each band's rows are those whose windows are
complete, computed by the engine's public functions on the band, and no arithmetic is repeated here: the
values are the whole array's, cell for cell. The band keeps the rows that later windows still need, at least
``e`` of them, so that a window of the band that is thrown away never holds only padding (which the engine
refuses).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

Arrays = tuple[np.ndarray, ...]


class Stage(Protocol):
    """Rows in, the output rows they complete out (:class:`RowStage`, :class:`AdaptiveRows`, :class:`GlobalRows`)."""

    def push(self, rows: np.ndarray) -> Arrays | None: ...

    def finish(self) -> Arrays | None: ...


class RowStage:
    """Feed bands of input rows with :meth:`push`; each call returns the output rows now complete.

    ``op(band, t)`` is the operation on the rows ``[t, t + len(band))`` with its own padding (a tuple of
    arrays: the values, and the indices when asked). ``rows_out(h)`` is the number of output rows of ``h``
    input rows. ``align(t, u)``, when given, is the last row a band from ``t`` may end at, for a padding
    that depends on the band's length (Keras ``same``, once the total is known).
    """

    def __init__(
        self,
        op: Callable[[np.ndarray, int], Arrays],
        *,
        stride: int,
        extent: int,
        before: int,
        rows_out: Callable[[int], int],
        align: Callable[[int, int], int] | None = None,
    ) -> None:
        self.op, self.s, self.e, self.before = op, stride, extent, before
        self.rows_out, self.align = rows_out, align
        self.t = 0  # the input row the buffer starts at: a multiple of s
        self.held: list[np.ndarray] = []
        self.n = 0  # input rows seen
        self.next = 0  # the next output row to give

    def push(self, rows: np.ndarray) -> Arrays | None:
        """Take ``rows`` (the next input rows); return the output rows they complete, or None."""
        if len(rows):
            self.held.append(rows)
            self.n += len(rows)
        u = self.n if self.align is None else self.align(self.t, self.n)
        if u - self.t < self.e:
            return None
        last = (u + self.before - self.e) // self.s  # the last output whose window ends by row u
        if last < self.next:
            return None
        out = self._band(u, self.next, last + 1)
        self.next = last + 1
        self._drop()
        return out

    def finish(self) -> Arrays | None:
        """Return the output rows left once the input has ended (the last windows reach its padding)."""
        if self.next == 0:  # nothing given yet: the whole input is held, and the engine judges it whole
            return self._band(self.n, 0, None)
        total = self.rows_out(self.n)
        if self.next >= total:
            return None
        out = self._band(self.n, self.next, None)
        if len(out[0]) != total - self.next:  # cannot happen: the bands' arithmetic is the whole array's
            raise AssertionError(f"a band gave {len(out[0])} rows, expected {total - self.next}")
        self.next = total
        return out

    def _band(self, u: int, first: int, stop: int | None) -> Arrays:
        band = self._rows(u - self.t)
        m = self.t // self.s
        result = self.op(band, self.t)
        return tuple(r[first - m : None if stop is None else stop - m] for r in result)

    def _rows(self, count: int) -> np.ndarray:
        if len(self.held) > 1:
            self.held = [np.concatenate(self.held)]
        return self.held[0][:count] if self.held else np.empty((0,))

    def _drop(self) -> None:
        """Let go of the rows no later window reads, keeping at least ``e`` and a start at a multiple of s."""
        start = max(self.next * self.s - self.before, 0)
        keep_e = max(self.n - self.e, 0)
        t = max(self.t, min(start, keep_e) // self.s * self.s)
        if t > self.t:
            held = self._rows(self.n - self.t)
            self.held = [held[t - self.t :]]
            self.t = t


def joined(parts: Sequence[Arrays | None]) -> Arrays | None:
    """The output rows of several pushes as one tuple of arrays, or None when there are none."""
    full = [p for p in parts if p is not None and len(p[0])]
    if not full:
        return None
    return tuple(np.concatenate(column) for column in zip(*full))


def chain(first: Stage, second: Stage) -> Callable[[np.ndarray | None], Arrays | None]:
    """A function that pushes rows through two stages (the filter's output is the pool's input); None ends it."""

    def step(rows: Any) -> Arrays | None:
        mid = first.push(rows) if rows is not None else first.finish()
        out = [second.push(mid[0])] if mid is not None else []
        if rows is None:
            out.append(second.finish())
        return joined(out)

    return step


class AdaptiveRows:
    """Adaptive pooling down ``height`` rows to ``rows_out`` rows, with the :class:`RowStage` interface.

    Output ``i`` reads rows ``[floor(i*h/o), ceil((i+1)*h/o))`` (PyTorch's windows); ``op(rows, t)`` pools
    the rows of one output (from input row ``t``) to one row, as the whole array's row ``i`` is pooled.
    """

    def __init__(self, op: Callable[[np.ndarray, int], Arrays], *, height: int, rows_out: int) -> None:
        self.op, self.h, self.o = op, height, rows_out
        self.t = 0
        self.held: list[np.ndarray] = []
        self.n = 0
        self.next = 0

    def push(self, rows: np.ndarray) -> Arrays | None:
        if len(rows):
            self.held.append(rows)
            self.n += len(rows)
        parts = []
        while self.next < self.o and self._end(self.next) <= self.n:
            if len(self.held) > 1:
                self.held = [np.concatenate(self.held)]
            start = self.next * self.h // self.o
            parts.append(self.op(self.held[0][start - self.t : self._end(self.next) - self.t], start))
            self.next += 1
        if self.next < self.o:  # let go of the rows before the next output's
            start = self.next * self.h // self.o
            if start > self.t and self.held:
                self.held = [np.concatenate(self.held)[start - self.t :]]
                self.t = start
        return joined(parts)

    def finish(self) -> Arrays | None:
        return self.push(np.empty((0,)))

    def _end(self, i: int) -> int:
        return -(-(i + 1) * self.h // self.o)


class GlobalRows:
    """Global pooling (one window over every row), with the :class:`RowStage` interface: nothing is held but
    what the window has gathered, and the one output row is given when the input ends.

    ``op(band, t)`` pools a band (from input row ``t``) whole; max and min keep the best of the bands' (the
    first best cell in row-major order, the last NaN, as the whole array's indices), compared as they are and
    given to ``convert`` at the end (the type asked for); ``sums``, for avg and
    sum, takes every band and gives the whole array's value at the end (the engine's
    :class:`~poolcli.engine.GlobalSums`, whose order of additions is fixed by the rows alone).
    """

    def __init__(
        self,
        op: Callable[[np.ndarray, int], Arrays],
        *,
        largest: bool,
        sums: Any = None,
        convert: Callable[[np.ndarray], np.ndarray],
        first: bool = True,
    ) -> None:
        self.op, self.largest, self.sums, self.convert = op, largest, sums, convert
        self.best: Arrays | None = None
        self.t = 0
        self.checked = not first  # the first band is pooled by ``op`` too: the engine's checks of the windows

    def push(self, rows: np.ndarray) -> Arrays | None:
        if not len(rows):
            return None
        if self.sums is not None:
            if not self.checked:
                self.op(rows, self.t)
                self.checked = True
            self.sums.add(rows)
        else:
            self._keep(self.op(rows, self.t))
        self.t += len(rows)
        return None

    def finish(self) -> Arrays | None:
        if self.sums is not None:
            return (self.sums.result(),)
        if self.best is None:
            return None
        return (self.convert(self.best[0]),) + self.best[1:]

    def _keep(self, got: Arrays) -> None:
        if self.best is None:
            self.best = got
            return
        old, new = self.best[0], got[0]
        better = new > old if self.largest else new < old
        if new.dtype.kind == "f":
            better |= np.isnan(new)  # a later NaN: the last NaN is the one chosen
        self.best = tuple(np.where(better, n, o) for n, o in zip(got, self.best))
