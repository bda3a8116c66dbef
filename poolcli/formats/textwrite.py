"""Text matrices out: each value in its shortest round-trip form, spelled as ``repr`` spells it.

Per value, the first of the correctly rounded 15, 16 and 17 significant digits (float32: 6 to 9) that reads
back to the same value is the shortest round-trip form, the digits ``repr`` gives; every cell is copied into
place at once. Values the arithmetic cannot decide (a rounding too close to call, a power of two, whose
neighbours are not evenly spaced) take ``repr``.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .errors import OutputError
from . import textfast
from .textfast import U64, ZEROS, times_power, to_float
from .textread import DELIMITERS

# =========================================================================== writing


#: Characters a number can hold as poolcli writes or reads it: digits, sign, point, exponent, the letters of
#: nan/inf/infinity in either case, and "_" (Python reads "1_000"); a quote is stripped from cells on reading.
_NUMBER_CHARACTERS = frozenset('0123456789+-._"' + "aefinty" + "AEFINTY")


def check_delimiter(delimiter: str) -> str:
    """Return ``delimiter`` if text written with it reads back cell for cell, else raise :class:`OutputError`.

    The reader finds ``,``, ``;``, ``|``, tab or spaces on a matrix's first line, so those are the delimiters,
    spaces around them allowed (``" ; "``). Refused: the empty string, a line break, any character that can be
    part of a number (``1000,-25`` with delimiter ``1`` would be ``10001-25``), and any other character, which
    the reader would not split on.
    """
    if not delimiter:
        raise OutputError("the delimiter is empty")
    if len(("x" + delimiter + "x").splitlines()) != 1:
        raise OutputError(f"the delimiter {delimiter!r} holds a line break")
    for ch in delimiter:
        if ch in _NUMBER_CHARACTERS or ch.isdecimal():
            raise OutputError(
                f"{ch!r} can be part of a number (digits, sign, point, exponent, nan, inf), so it cannot "
                f"separate numbers; choose {_READ_BACK}"
            )
    core = delimiter.strip(" \t")
    if core and core not in DELIMITERS:
        raise OutputError(f"text written with the delimiter {delimiter!r} would not read back; choose {_READ_BACK}")
    return delimiter


_READ_BACK = "',' ';' '|', tab or space (spaces around them allowed)"


def _shortest(arr: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Return float64 values whose repr is each value's shortest round-trip form in its own dtype, and which are integral.

    -0 becomes 0. A float16/float32 value that is not integral is replaced by
    the float64 nearest to its shortest decimal in its own type (numpy's
    Dragon4, ``str(np.float32(0.1)) == "0.1"``); that decimal has at most 9
    significant digits, so the float64's repr is that same decimal.
    """
    with np.errstate(invalid="ignore"):  # a signalling NaN is still just NaN
        a = np.add(arr, 0.0, dtype=np.float64)  # a fresh copy; -0.0 + 0.0 is +0.0
        integral = np.isfinite(a) & (np.abs(a) < 1e16) & (a == np.round(a))
    if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
        frac = np.flatnonzero(~integral & np.isfinite(a))
        src, flat = arr.reshape(-1), a.reshape(-1)
        for i in range(0, frac.size, _SHORTEST_CHUNK):  # a string is 128 bytes a value: a chunk at a time
            part = frac[i : i + _SHORTEST_CHUNK]
            flat[part] = src[part].astype(str).astype(np.float64)
    return a, integral


_SHORTEST_CHUNK = 1 << 16


def _unsigned_zeros(arr: np.ndarray, precision: int) -> np.ndarray:
    """Return ``arr`` as float64 with every value that would print as -0.000... at ``precision`` made +0."""
    with np.errstate(invalid="ignore"):
        a = np.add(arr, 0.0, dtype=np.float64)
    tiny = np.flatnonzero((a < 0) & (a > -(10.0**-precision)))  # only these can round to a signed zero
    if tiny.size:
        flat = a.reshape(-1)
        vals = flat[tiny]
        zero = np.array([float(f"{v:.{precision}f}") == 0 for v in vals.tolist()])
        flat[tiny] = np.where(zero, 0.0, vals)
    return a


def format_matrix(arr: np.ndarray, *, delimiter: str = ",", precision: Optional[int] = None) -> str:
    """Return a 2-D matrix as delimited text, one row per line.

    Without ``precision`` every value is written in the shortest form that
    reads back as the same value of the array's own type (float16, float32
    or float64: ``0.1``, never float32's float64 expansion
    ``0.10000000149011612``), integral values exactly and without a decimal
    point. With ``precision`` floats get that many decimals. Never ``-0``:
    a negative zero, or a value that rounds to it, is written as ``0``.
    """
    if arr.ndim != 2:
        raise OutputError(f"text output needs a 2-D matrix, got shape {arr.shape}")
    check_delimiter(delimiter)
    sep = delimiter.encode()
    fast = arr.dtype.kind in "biu" or arr.dtype in (np.float32, np.float64)
    if precision is None and fast and arr.size and len(sep) <= _SEP_BYTES:
        width = arr.shape[1]
        flat = arr.reshape(-1)
        parts = []
        for i in range(0, flat.size, _CELLS):
            cells = flat[i : i + _CELLS]
            parts.append(_format_cells(cells, np.arange(i, i + cells.size) % width == width - 1, sep))
        return b"".join(parts).decode()
    return _format_rows(arr, delimiter, precision)


def _format_rows(arr: np.ndarray, delimiter: str, precision: Optional[int]) -> str:
    """The precise writer: Python formats value by value (``%d``, ``%r``, ``%.Nf``) a row at a time."""
    if arr.dtype.kind in "biu":
        fmt, rows = "%d", arr.tolist()
    elif precision is not None:
        fmt, rows = f"%.{precision}f", _unsigned_zeros(arr, precision).tolist()
    else:
        a, integral = _shortest(arr)
        if integral.all():
            fmt, rows = "%d", a.astype(np.int64).tolist()
        elif not integral.any():
            fmt, rows = "%r", a.tolist()  # repr: the shortest string that reads back as the same float64
        else:
            cells = a.astype(object)
            cells[integral] = a[integral].astype(np.int64).astype(object)  # ints print without a point
            fmt, rows = "%s", cells.tolist()
    # one format string per row, as np.savetxt does: far faster than formatting value by value
    line = delimiter.replace("%", "%%").join([fmt] * arr.shape[1]) + "\n"
    return "".join([line % tuple(r) for r in rows])


# --------------------------------------------------------------------------- the fast writer

#: Cells formatted at a time (a band's work arrays are about 64 bytes a cell)
_CELLS = 1 << 15
#: A delimiter up to this many bytes takes the fast writer
_SEP_BYTES = 8
_POW10_U64 = np.array([10**k for k in range(20)], dtype=np.uint64)


def _format_cells(values: np.ndarray, row_end: np.ndarray, sep: bytes) -> bytes:
    """The text of a run of cells, each followed by ``sep``, or a newline where ``row_end``."""
    n = values.size
    places = np.zeros(n, dtype=np.intp)
    frac = special = scientific = None
    if values.dtype.kind in "biu":
        negative = values < 0 if values.dtype.kind == "i" else np.zeros(n, dtype=bool)
        whole = values.astype(np.uint64)
        np.negative(whole, out=whole, where=negative)  # |v| modulo 2**64: right for the most negative int64 too
        size = _digit_count(whole)
    else:
        with np.errstate(invalid="ignore"):  # a signalling NaN is still just NaN
            a = np.add(values, 0.0, dtype=np.float64)  # -0.0 + 0.0 is +0.0: never -0
            finite = np.isfinite(a)
            integral = finite & (np.abs(a) < 1e16) & (a == np.round(a))
        negative = a < 0
        whole = np.zeros(n, dtype=np.uint64)
        size = np.ones(n, dtype=np.intp)
        cells = np.flatnonzero(integral)
        whole[cells] = np.abs(a[cells])
        size[cells] = _digit_count(whole[cells])
        general = np.flatnonzero(finite & ~integral)
        if general.size:
            digits, count, point = _shortest_digits(np.abs(values[general]))
            # as repr: an exponent below 1e-4 and from 1e16 on, else plain decimals
            exponent = (point < -3) | (point > 16)
            after = np.where(exponent, count - 1, count - point)
            scale = _POW10_U64[np.minimum(after, 19)]
            high = digits // scale
            whole[general] = high
            frac = np.zeros(n, dtype=np.uint64)
            frac[general] = digits - high * scale
            places[general] = after
            size[general] = np.where(exponent, 1, np.maximum(point, 1))
            if exponent.any():
                scientific = general[exponent], point[exponent] - 1
        if not finite.all():
            special = np.flatnonzero(~finite)
            size[special] = 3
    return _spell(negative, whole, size, frac, places, scientific, special, values, row_end, sep)


def _digit_count(n: np.ndarray) -> np.ndarray:
    return np.searchsorted(_POW10_U64[1:], n, side="right") + 1


def _spell(negative, whole, size, frac, places, scientific, special, values, row_end, sep) -> bytes:
    """Lay each cell's pieces out in fixed slots of a byte table (sign, whole digits, point, decimals,
    exponent, delimiter, newline) and keep only the bytes each cell uses: their concatenation is the text."""
    n = whole.size
    w_whole = int(size.max())
    w_frac = int(places.max())
    exp_chars = np.zeros(n, dtype=np.intp)
    if scientific is not None:
        cells, exp10 = scientific
        exp_chars[cells] = 4 + (np.abs(exp10) >= 100)
    w_exp = 5 if scientific is not None else 0
    layout = (w_whole, w_frac, w_exp, len(sep))
    if layout not in _LAYOUTS:
        _LAYOUTS[layout] = _layout(*layout)
    used = _LAYOUTS[layout]
    key = negative.astype(np.intp)
    key = (key * 21 + size) * 21 + places
    key = (key * 3 + (exp_chars - 3).clip(0)) * 2 + row_end
    keep = used.take(key, axis=0)
    table = np.empty(keep.shape, dtype=np.uint8)
    table[:, 0] = 45
    digits = _ascii(whole, w_whole)
    if special is not None:
        words = np.where(
            np.isnan(values[special])[:, None], np.frombuffer(b"nan", np.uint8), np.frombuffer(b"inf", np.uint8)
        )
        digits[special, -3:] = words
    col = 1 + w_whole
    table[:, 1:col] = digits[:, -w_whole:]
    if w_frac:
        table[:, col] = 46
        table[:, col + 1 : col + 1 + w_frac] = _ascii(frac, w_frac)[:, -w_frac:]
        col += 1 + w_frac
    if w_exp:
        table[:, col] = 101
        size = np.abs(exp10)
        hundreds = size >= 100
        text = np.empty((cells.size, 4), dtype=np.uint8)
        text[:, 0] = np.where(exp10 < 0, 45, 43)
        text[:, 1] = np.where(hundreds, size // 100, size // 10 % 10) + 48
        text[:, 2] = np.where(hundreds, size // 10 % 10, size % 10) + 48
        text[:, 3] = size % 10 + 48
        table[cells, col + 1 : col + 5] = text
        col += 5
    table[:, col : col + len(sep)] = np.frombuffer(sep, np.uint8)
    table[:, -1] = 10
    return table.ravel()[keep.ravel()].tobytes()


#: For each slot layout, the bytes a cell keeps, by (negative, whole digits, decimals, exponent digits, row end)
_LAYOUTS: dict = {}


def _layout(w_whole: int, w_frac: int, w_exp: int, w_sep: int) -> np.ndarray:
    negative, size, places, exp_chars, row_end = (a.ravel() for a in np.indices((2, 21, 21, 3, 2)))
    exp_chars = np.where(exp_chars, exp_chars + 3, 0)
    right = lambda w, k: np.arange(w, 0, -1) <= k[:, None]
    parts = [negative[:, None] == 1, right(w_whole, size)]
    if w_frac:
        parts += [places[:, None] > 0, right(w_frac, places)]
    if w_exp:
        parts.append(np.arange(w_exp) < exp_chars[:, None])
    parts += [np.repeat(row_end[:, None] == 0, w_sep, axis=1), row_end[:, None] == 1]
    return np.concatenate(parts, axis=1)


def _ascii(n: np.ndarray, digits: int) -> np.ndarray:
    """(len(n), 8, 16 or 24) bytes: the decimal digits of n, right-aligned and padded with '0', for up to ``digits`` digits."""
    words = max(1, min(3, (int(digits) + 7) // 8))
    out = np.empty((n.size, words), dtype="<u8")
    rest = n
    for j in range(words - 1, 0, -1):
        high = rest // U64(10**8)
        out[:, j] = _eight_digits(rest - high * U64(10**8))
        rest = high
    out[:, 0] = _eight_digits(rest)
    return out.view(np.uint8)


def _eight_digits(x: np.ndarray) -> np.ndarray:
    """The eight ASCII digits of each x < 10**8 as a little-endian word: halves, quarters, eighths by multiply-and-shift."""
    high = x // U64(10000)
    v = high | ((x - high * U64(10000)) << U64(32))
    q = ((v * U64(5243)) >> U64(19)) & U64(0x0000007F0000007F)  # v // 100 in each 32-bit lane (v < 10**4)
    v = q | ((v - q * U64(100)) << U64(16))
    q = ((v * U64(103)) >> U64(10)) & U64(0x000F000F000F000F)  # v // 10 in each 16-bit lane (v < 100)
    v = q | ((v - q * U64(10)) << U64(8))
    return v + ZEROS


def _shortest_digits(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shortest decimal that reads back as each x (positive, finite, in its own type): digits, how many, and
    where the point goes (x = 0.DIGITS * 10**point). As ``repr`` (float64) and numpy's shortest ``str`` (float32)."""
    if x.dtype == np.float64 and textfast.EXTENDED:
        digits, count, point, unsure = _first_round_trip(x, np.longdouble, range(15, 18))
    elif x.dtype == np.float32:
        digits, count, point, unsure = _first_round_trip(x, np.float64, range(6, 10))
    else:
        digits, count, point, unsure = (
            np.zeros(x.size, np.uint64),
            np.zeros(x.size, np.intp),
            np.zeros(x.size, np.intp),
            np.ones(x.size, dtype=bool),
        )
    cells = np.flatnonzero(unsure)
    if cells.size:
        shortest, _ = _shortest(x[cells].reshape(1, -1))
        for i, v in zip(cells.tolist(), shortest.ravel().tolist()):
            mantissa, _, exponent = repr(v).partition("e")
            whole, _, decimals = mantissa.partition(".")
            significant = (whole + decimals).lstrip("0")
            digits[i] = int(significant)
            count[i] = len(significant)
            point[i] = len(whole) - (len(whole) + len(decimals) - len(significant)) + int(exponent or 0)
    ten = np.flatnonzero(digits % U64(10) == 0)  # drop trailing zeros: 0.1 is 100000000000000 to 15 digits
    some, places = digits[ten], count[ten]
    for p in (8, 4, 2, 1):
        high = some // _POW10_U64[p]
        zeros = high * _POW10_U64[p] == some
        some = np.where(zeros, high, some)
        places -= zeros * p
    digits[ten], count[ten] = some, places
    return digits, count, point


def _first_round_trip(x, wide, lengths):
    """Per value, the first of its correctly rounded decimals of ``lengths`` digits that reads back as it.

    That is the shortest round-trip form, and the nearest of that length, as ``repr`` chooses, wherever the
    neighbours of x are evenly spaced: every x but a power of two, for which only a first success is sure.
    The roundings are done in ``wide`` arithmetic, one or (with an inexact power of ten) two roundings off; a
    rounding that close to a tie, or a read-back that close to halfway, is left ``unsure`` (for ``repr``).
    Each longer length is tried only on the values still without a form (most doubles take 16 digits at most).
    """
    info = np.finfo(wide)
    exact_powers = int(np.log(2.0 ** (info.nmant + 1)) / np.log(5))  # 10**k = 5**k * 2**k is exact while 5**k fits
    bits = x.view(np.uint64 if x.dtype.itemsize == 8 else np.uint32)
    power_of_two = (bits & (bits.dtype.type(1) << bits.dtype.type(np.finfo(x.dtype).nmant)) - bits.dtype.type(1)) == 0
    xw = x.astype(wide)
    lead = np.floor(np.log10(x.astype(np.float64))).astype(np.intp)  # the first digit's place, or one off
    first = lengths[0]
    y = times_power(xw, first - 1 - lead)
    off = np.flatnonzero((y < 10.0 ** (first - 1)) | (y >= 10.0**first))
    if off.size:
        lead[off] += np.where(y[off] < 10.0 ** (first - 1), -1, 1)
        y[off] = times_power(xw[off], first - 1 - lead[off])
    unsure = x < np.finfo(x.dtype).tiny  # subnormals have fewer digits than the rest
    chosen = np.zeros(x.size, dtype=np.uint64)
    count = np.zeros(x.size, dtype=np.intp)
    where_point = np.zeros(x.size, dtype=np.intp)
    pending = np.flatnonzero(~unsure)
    for k in lengths:
        shift = k - 1 - lead[pending]
        y = y[pending] if k == first else times_power(xw[pending], shift)
        d = np.rint(y)
        # a rounding is off by at most eps/2 of the value: allow twice that, and twice again with an inexact power
        error = y.astype(np.float64) * np.where(np.abs(shift) <= exact_powers, float(info.eps), 2 * float(info.eps))
        doubt = np.abs((y - d).astype(np.float64)) >= 0.5 - error
        carried = d >= 10.0**k  # 9.99... rounded up to 10.00...
        d[carried] = 10.0 ** (k - 1)
        d = d.astype(np.uint64)
        point = lead[pending] + 1 + carried
        if k == lengths[-1]:  # 17 digits (float32: 9) always read back
            ok = ~doubt
        else:
            back, exact = _read_back(d, point - k, x[pending])
            doubt |= ~exact
            ok = ~doubt & (back == x[pending])
            if k == first:  # a shortest form this short is this rounding, powers of two too; not a longer one
                doubt |= power_of_two[pending] & ~ok
        done = pending[ok]
        chosen[done] = d[ok]
        count[done] = k
        where_point[done] = point[ok]
        unsure[pending[doubt]] = True
        pending = pending[~ok & ~doubt]
    return chosen, count, where_point, unsure


def _read_back(digits: np.ndarray, exp10: np.ndarray, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The value ``digits * 10**exp10`` reads back as in x's type, and where that is certain."""
    if x.dtype == np.float64:
        return to_float(digits, exp10)
    # float32: the decimal (< 10**9) is exact in float64, and so is 10**22; rounding to float64 and then to
    # float32 differs from rounding once only where the double lands on (or, with an inexact power, next to)
    # a float32 halfway point: the double's last 29 bits then read 2**28
    r = times_power(digits.astype(np.float64), exp10)
    low = (r.view(np.uint64) & U64((1 << 29) - 1)).astype(np.int64) - (1 << 28)
    exact = np.abs(low) > np.where(np.abs(exp10) <= 22, 0, 4)
    exact &= r >= np.finfo(np.float32).tiny
    with np.errstate(over="ignore"):
        return r.astype(np.float32), exact
