"""What a view of a matrix needs, gathered a band of rows at a time: its corners and its statistics.

A :class:`Glimpse` is fed the rows of a matrix (H, W) or an image (H, W, C) in bands of any size and keeps
the first and the last rows a view can show, of each only the leftmost and rightmost columns a view can
show, and the facts the view takes from the whole matrix: its shape and type, the least and greatest finite
value, the exact mean, the NaN and infinity counts, and which numbers of decimals (or of significant digits)
show every value (:class:`Formats`). Memory is that of the corners, whatever the number of rows. Each fact
is a fold over the values (a minimum, a count, an exact sum, an "every value"), so the bands' sizes change
nothing: the views of :mod:`poolcli.render` are all drawn from a glimpse, a whole matrix's fed as one band.
No project imports.
"""

from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

__all__ = ["Formats", "Glimpse", "columns_kept"]

#: Fixed notation is used for values below FIXED_BELOW (larger ones would widen every column), with the fewest
#: decimals up to MOST_DECIMALS that show every value; when that many do not suffice, only if every non-zero
#: value is at least FIXED_FROM (so each keeps two significant digits in view). Else scientific notation,
#: with at most MOST_DIGITS significant digits.
FIXED_BELOW = 1e8
MOST_DECIMALS = 4
FIXED_FROM = 1e-3
MOST_DIGITS = 5
#: Columns a view samples at each end to size its cells, whatever it shows
SAMPLED_COLUMNS = 64
#: Cells folded at a time: the temporaries of a whole matrix fed as one band stay small
_CHUNK_CELLS = 1 << 22
#: float64 as q * 2**(e - 53) with an integer |q| < 2**53 and e (frexp's) from -1073 up: bin e + _E_BIAS
_E_BIAS = 1073
_SPLIT = 26  # q in two parts of 27 bits: bincount's float64 sums of up to 2**26 of them are exact


class Formats:
    """Which notations show every value of a matrix, folded band by band (see :meth:`spec` for the rule).

    ``fixed[d]`` says that ``d`` decimals show every non-zero finite value, ``sci[d]`` that ``d + 1``
    significant digits do; a flag found false on one band is not computed again.
    """

    def __init__(self) -> None:
        self.integers = False
        self.nonzero = False
        self.least = np.inf  # of the non-zero finite magnitudes
        self.most = 0.0
        self.fixed = [True] * (MOST_DECIMALS + 1)
        self.sci = [True] * (MOST_DIGITS - 1)

    @classmethod
    def of(cls, values: np.ndarray) -> Formats:
        facts = cls()
        facts.add(values)
        return facts

    def add(self, values: np.ndarray) -> None:
        if values.dtype.kind in "biu":
            self.integers = True
            return
        nonzero = np.abs(values[np.isfinite(values) & (values != 0)])
        if nonzero.size == 0:
            return
        self.nonzero = True
        wide = nonzero.astype(np.float64)
        self.least, self.most = min(self.least, float(wide.min())), max(self.most, float(wide.max()))
        if self.most < FIXED_BELOW:  # else fixed notation is out, whatever comes
            for d, alive in enumerate(self.fixed):
                if alive:
                    self.fixed[d] = _shows(np.round(wide, d), nonzero)
        if not any(self.sci):
            return
        # near the ends of the range a power of ten overflows or underflows: such values then ask for more digits
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            exp = np.floor(np.log10(wide))
            exp += wide >= 10.0 ** (exp + 1)  # log10 of a power of ten may land just below it
            exp -= wide < 10.0**exp
            for d, alive in enumerate(self.sci):
                if alive:
                    unit = 10.0 ** (exp - d)
                    self.sci[d] = _shows(np.round(wide / unit) * unit, nonzero)

    def spec(self, precision: Optional[int] = None) -> str:
        """The format spec that shows every value readably, one for the whole matrix.

        Integers as integers. ``precision`` forces that many decimals. Otherwise, as numpy's printoptions
        do: fixed notation with the fewest decimals (at most 4) that show every value exactly, or 4 when
        every non-zero value is at least 0.001 (so none shows as 0); scientific notation with the fewest
        significant digits (at most 5) that show every value exactly when values are tiny, or 1e8 and
        more (so no column grows without bound).
        """
        if self.integers:
            return "d"
        if precision is not None:
            return f".{precision}f"
        if not self.nonzero:
            return ".0f"
        if self.most < FIXED_BELOW:
            for d, shows in enumerate(self.fixed):
                if shows:
                    return f".{d}f"
            if self.least >= FIXED_FROM:
                return f".{MOST_DECIMALS}f"
        for d, shows in enumerate(self.sci):
            if shows:
                return f".{d}e"
        return f".{MOST_DIGITS - 1}e"


def _shows(shown: np.ndarray, values: np.ndarray) -> bool:
    """Whether the float64 ``shown`` stand for ``values``: the same numbers in their own type (float16/32),
    in float64 up to rounding noise (0.1 + 0.2 shows as 0.3)."""
    if values.dtype.itemsize < 8:
        return bool(np.array_equal(shown.astype(values.dtype), values))
    return bool((np.abs(shown - values) <= 1e-12 * np.abs(values)).all())  # np.allclose(rtol=1e-12, atol=0)


def columns_kept(max_cols: Optional[int], width: int) -> int:
    """Columns kept at each end of a row: every column a view of ``width`` characters can show (each takes at
    least two, the index one more) or ``max_cols`` allow, and those it samples to size its cells."""
    most = max(2, (width - 2) // 2 - 1)
    most = min(most, max_cols) if max_cols else most
    return max(SAMPLED_COLUMNS, (most + 1) // 2)


class Glimpse:
    """The corners and statistics of a matrix (H, W) or image (H, W, C) fed to :meth:`add` a band of rows at a time.

    ``max_rows``, ``max_cols`` and ``width`` are the view's (see :func:`poolcli.render.render_matrix`); an
    image's channels are each a glimpse of their own (``channels``).
    """

    def __init__(self, *, max_rows: int = 32, max_cols: Optional[int] = None, width: int = 80) -> None:
        self.max_rows, self.max_cols, self.width = max_rows, max_cols, width
        self.head_rows = (max_rows + 1) // 2
        self.tail_rows = max_rows - self.head_rows
        self.ends = columns_kept(max_cols, width)
        self.channels: Optional[List[Glimpse]] = None
        self.dtype: Optional[np.dtype] = None
        self.h = self.w = 0
        self.head: Optional[np.ndarray] = None  # the first rows, their kept columns
        self.tail: Optional[np.ndarray] = None  # the last rows after those, at most tail_rows of them
        self.formats = Formats()
        self.lo: Any = None  # the least and greatest finite values, as the matrix's type's scalars
        self.hi: Any = None
        self.finite = 0
        self.nan = self.posinf = self.neginf = 0
        self._sum = 0  # of the finite values, exact: scaled by 2**(_E_BIAS + 53) for floats

    @classmethod
    def of(cls, values: np.ndarray, *, max_rows: int = 32, max_cols: Optional[int] = None, width: int = 80) -> Glimpse:
        """The glimpse of a whole matrix."""
        glimpse = cls(max_rows=max_rows, max_cols=max_cols, width=width)
        glimpse.add(values)
        return glimpse

    def add(self, band: np.ndarray) -> None:
        """Take the next rows (a 2-D or 3-D array as wide as the others)."""
        if band.ndim == 3:
            if self.channels is None:
                self.channels = [
                    Glimpse(max_rows=self.max_rows, max_cols=self.max_cols, width=self.width)
                    for _ in range(band.shape[2])
                ]
            for c, part in enumerate(self.channels):
                part.add(band[:, :, c])
            return
        if self.dtype is None:
            self.dtype, self.w = band.dtype, band.shape[1]
        rows = max(1, _CHUNK_CELLS // max(1, self.w))
        for i in range(0, len(band), rows):
            self._fold(band[i : i + rows])
        self._keep(band)
        self.h += len(band)

    @property
    def kept_columns(self) -> List[int]:
        if self.w <= 2 * self.ends:
            return list(range(self.w))
        return list(range(self.ends)) + list(range(self.w - self.ends, self.w))

    def _keep(self, band: np.ndarray) -> None:
        cols = self.kept_columns
        held = 0 if self.head is None else len(self.head)
        if held < self.head_rows:
            first = band[: self.head_rows - held][:, cols]
            self.head = first if self.head is None else np.concatenate([self.head, first])
            band = band[len(first) :]
        if len(band) and self.tail_rows:
            last = band[-self.tail_rows :][:, cols]
            self.tail = last if self.tail is None else np.concatenate([self.tail, last])[-self.tail_rows :]

    def _fold(self, band: np.ndarray) -> None:
        if band.size == 0:
            return
        self.formats.add(band)
        if band.dtype.kind == "f":
            finite = band[np.isfinite(band)]
            nan = int(np.isnan(band).sum())
            self.nan += nan
            posinf = int(np.isposinf(band).sum())
            self.posinf += posinf
            self.neginf += band.size - finite.size - nan - posinf
        else:
            finite = band.ravel()
        if finite.size == 0:
            return
        lo, hi = finite.min(), finite.max()
        self.lo = lo if self.lo is None or lo < self.lo else self.lo
        self.hi = hi if self.hi is None or hi > self.hi else self.hi
        self.finite += finite.size
        self._sum += _exact_sum(finite)

    @property
    def mean(self) -> float:
        """The mean of the finite values, correctly rounded (their exact sum over their number)."""
        scale = _E_BIAS + 53 if self.dtype is not None and self.dtype.kind == "f" else 0
        return self._sum / (self.finite << scale)

    def cells(self, rows: List[int], cols: List[int]) -> np.ndarray:
        """The values at ``rows`` x ``cols`` (true indices, of rows and columns kept)."""
        kept = {c: i for i, c in enumerate(self.kept_columns)}
        head = 0 if self.head is None else len(self.head)
        tail = 0 if self.tail is None else len(self.tail)
        parts = []
        for r in rows:
            if r < head:
                parts.append(self.head[r])  # type: ignore[index]
            elif r >= self.h - tail:
                parts.append(self.tail[r - (self.h - tail)])  # type: ignore[index]
            else:
                raise IndexError(f"row {r} was not kept")
        return np.stack(parts)[:, [kept[c] for c in cols]]


def _exact_sum(finite: np.ndarray) -> int:
    """The sum of ``finite`` (1-D) as a Python int: exact for integers; for floats, scaled by 2**(_E_BIAS + 53)."""
    total = 0
    for i in range(0, finite.size, 1 << 24):  # sums of 2**24 halves of 32 or 27 bits are exact in 64-bit types
        part = finite[i : i + (1 << 24)]
        if part.dtype.kind in "biu" and part.dtype.itemsize < 8:
            total += int(part.sum(dtype=np.int64))
        elif part.dtype.kind in "iu":
            low = part & np.array(0xFFFFFFFF, part.dtype)
            total += (int((part >> np.array(32, part.dtype)).sum()) << 32) + int(low.sum())
        else:
            total += _float_sum(part)
    return total


def _float_sum(finite: np.ndarray) -> int:
    """Each value is q * 2**(e - 53) (frexp): the q of each exponent summed in two parts by bincount."""
    m, e = np.frexp(finite.astype(np.float64, copy=False))
    q = (m * 2.0**53).astype(np.int64)
    where = e + _E_BIAS
    bins = _E_BIAS + 1025
    high = np.bincount(where, weights=q >> _SPLIT, minlength=bins)
    low = np.bincount(where, weights=q & ((1 << _SPLIT) - 1), minlength=bins)
    total = 0
    for b in np.flatnonzero((high != 0) | (low != 0)).tolist():
        total += ((int(high[b]) << _SPLIT) + int(low[b])) << b
    return total
