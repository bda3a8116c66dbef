"""The fast path of the text reader: a band of whole lines at a time in numpy, exactly as ``float()`` reads it.

It cuts the bytes into bands of whole lines, finds the cells' bounds, and turns eight digits at a time into
integers (the bytes of a cell read as 64-bit words). A decimal ``m * 10**e`` becomes the float64 ``float()``
gives: one IEEE operation where that is exact (m < 2**53, |e| <= 22), else one operation in 80-bit extended
precision, whose double rounding can go wrong only at an exact halfway point, which is checked. Anything it
cannot vouch for (a word such as ``nan``, a number past its reach, a ragged row, a stray byte) goes through
``float()``, or the whole input through the precise path of :mod:`.textread`, which says what is wrong, with
the line and column. It works on any run of complete lines, so a reader that streams can call it band by band.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

import numpy as np

from .textread import INF_WORDS, detect_delimiter, header_note, is_data_line, is_number, split_cells

_BAND = 1 << 18
#: Lines of comments and blank lines looked through for the first row before leaving it to the precise path
_HEAD_LINES = 64
#: A cell the fast path hands to float(): only these bytes, so stripping and splitting cannot change it
_PLAIN_CELL = re.compile(rb"[0-9A-Za-z+\-._]+")


def parse_fast(data: bytes, start: int, name: str, max_cells: int) -> Optional[Tuple[np.ndarray, List[str]]]:
    """The matrix and notes of ``data[start:]``, or None when only the precise path can tell.

    The layout (delimiter, header, width) is read from the first lines as the precise path reads it; the
    rest must then be plain rows, one per ``\\n``, which every band checks.
    """
    end = len(data)
    while end > start and data[end - 1] in b"\r\n":  # trailing line breaks end no row
        end -= 1
    notes: List[str] = []
    pos, lineno, delim = start, 0, None
    while True:
        if pos >= end or lineno == _HEAD_LINES:
            return None
        stop = data.find(b"\n", pos, end)
        stop = end if stop < 0 else stop
        try:
            line = data[pos:stop].decode("utf-8")
        except UnicodeDecodeError:
            return None
        if len(line.splitlines()) > 1:  # another kind of line break: the lines would be numbered otherwise
            return None
        lineno += 1
        if not is_data_line(line):
            if notes:
                return None  # a comment or blank line after the header: left to the precise path
        elif notes:
            width = len(split_cells(line, delim))
            break
        else:
            delim = detect_delimiter(line)
            cells = split_cells(line, delim)
            if any(is_number(c) for c in cells):
                width = len(cells)
                break
            notes.append(header_note(name, lineno, cells))
        pos = stop + 1
    sep = ord(delim or " ")
    bands, n_cells = [], 0
    while pos < end:
        stop = data.rfind(b"\n", pos, min(pos + _BAND, end)) + 1
        if stop <= pos:
            stop = data.find(b"\n", pos + _BAND, end) + 1 or end
        values = _parse_lines(data, pos, stop, sep, width)
        if values is None:
            return None
        n_cells += values.size
        if n_cells > max_cells:
            return None  # the precise path says how many cells there are
        bands.append(values)
        pos = stop
    return np.concatenate(bands).reshape(-1, width), notes


U64 = np.uint64
_LOW7 = U64(0x7F7F7F7F7F7F7F7F)
_HIGH = U64(0x8080808080808080)
ZEROS = U64(0x3030303030303030)
_DOTS = U64(0x2E2E2E2E2E2E2E2E)
_EES = U64(0x6565656565656565)
_LOWER = U64(0x2020202020202020)
_TOP = U64(0x4646464646464646)
#: The most bytes of a cell (past its sign) the fast reader looks at: four 64-bit words
_FRAME = 32


def _byte_masks(pick) -> np.ndarray:
    """A (4, 33) table: for each k, the four words of a 32-byte frame with 0xFF in the bytes ``pick(byte, k)`` selects."""
    table = np.zeros((4, _FRAME + 1), dtype=np.uint64)
    for k in range(_FRAME + 1):
        for j in range(4):
            table[j, k] = sum(0xFF << (8 * i) for i in range(8) if pick(8 * j + i, k))
    return table


_KEEP = _byte_masks(lambda b, k: b >= _FRAME - k)  # a cell of k bytes, right-aligned in the frame
_AT = _byte_masks(lambda b, p: b == p)  # the byte at p
_AFTER = _byte_masks(lambda b, p: b > p or p == _FRAME)  # the bytes after a point at p (all: there is none)
_WORD_START = np.arange(0, _FRAME, 8, dtype=np.intp)[:, None]


def _flag(words: np.ndarray, pattern, keep: np.ndarray) -> np.ndarray:
    """0x80 in every kept byte of ``words`` equal to the byte of ``pattern`` (exact: no false hits)."""
    x = words ^ pattern
    y = (x & _LOW7) + _LOW7
    y |= x
    y |= _LOW7
    np.invert(y, out=y)
    y &= keep
    return y


def _first_flag(flags: np.ndarray) -> np.ndarray:
    """The frame position of each column's first flagged byte (one per word at most); _FRAME where none is."""
    nw = flags.shape[0]
    # one flag, at bit 8i+7, leaves 8i+7 bits set in flags - 1, so i is popcount >> 3; a word without one
    # says 8, which 8 >> 3 << 5 moves past the frame
    low = np.bitwise_count(flags - U64(1)) >> np.uint8(3)
    low += (low >> np.uint8(3)) << np.uint8(5)
    at = low.astype(np.intp)
    at += _WORD_START[4 - nw :]
    first = at[0]
    for j in range(1, nw):
        np.minimum(first, at[j], out=first)
    return np.minimum(first, _FRAME, out=first)


def _digits(words: np.ndarray, length: np.ndarray, point: bool):
    """Read right-aligned cells as ``[digits][.digits]``: the integer of their digits and how many follow the point.

    ``words`` is (nw, n): the last 8*nw bytes up to each cell's end, as little-endian words; ``length`` the
    cell's bytes (without its sign). Returns (m, decimals, ok): ok is False where a byte is not a digit, there
    is no digit, a second point, or more than 19 digits.
    """
    nw = words.shape[0]
    keep = _KEEP[4 - nw :].take(length, axis=1)
    ok = length > 0
    if point:
        at = _first_flag(_flag(words, _DOTS, keep))
        keep &= ~_AT[4 - nw :].take(at, axis=1)
        ok &= length > (at < _FRAME)
    v = words & keep
    v |= ZEROS & ~keep  # bytes outside the cell, and the point, read as '0'
    bad = (v + _TOP) | (v - ZEROS)  # the high bit of a byte set unless all eight are '0'..'9'
    bad &= _HIGH
    for j in range(1, nw):
        bad[0] |= bad[j]
    ok &= bad[0] == 0
    if point:  # take the point out: the bytes before it move one place right
        shifted = v << U64(8)
        shifted[1:] |= v[:-1] >> U64(56)
        shifted[0] |= U64(0x30)
        after = _AFTER[4 - nw :].take(at, axis=1)
        v &= after
        shifted &= ~after
        v |= shifted
    v -= ZEROS  # eight digits to one number, in three multiply-and-shift steps
    v = (v * U64(10)) + (v >> U64(8))
    v = (
        ((v & U64(0x000000FF000000FF)) * U64(100 + (1000000 << 32)))
        + (((v >> U64(16)) & U64(0x000000FF000000FF)) * U64(1 + (10000 << 32)))
    ) >> U64(32)
    m = v[nw - 1]
    if nw >= 2:
        m = m + v[nw - 2] * U64(10**8)
    if nw >= 3:
        ok &= v[nw - 3] < 1000  # at most 19 digits: the integer stays below 2**64
        m += v[nw - 3] * U64(10**16)
    if nw == 4:
        ok &= v[0] == 0
    decimals = np.maximum(_FRAME - 1 - at, 0) if point else np.zeros(length.shape, np.intp)
    return m, decimals, ok


def _words(buf: np.ndarray, ends: np.ndarray, nw: int) -> np.ndarray:
    """(nw, n): the 8*nw bytes of ``buf`` before each end, as 64-bit words (one copy of each window)."""
    windows = np.ndarray(shape=(buf.size - 8 * nw + 1,), dtype=f"V{8 * nw}", buffer=buf, strides=(1,))
    return windows[ends - 8 * nw].view("<u8").reshape(ends.size, nw).T.copy()


def _parse_lines(data: bytes, start: int, stop: int, sep: int, width: int) -> Optional[np.ndarray]:
    """The values of the complete lines ``data[start:stop]``, ``width`` cells each, row after row; None if any
    row is not that, or a cell is not a number ``float()`` reads (the precise path then says which)."""
    size = stop - start
    buf = np.empty(_FRAME + size + 1, dtype=np.uint8)  # a frame's room before the first cell, a \n after the last
    buf[:_FRAME] = 0x30
    buf[_FRAME:-1] = np.frombuffer(data, np.uint8, size, start)
    buf[-1] = 10
    text = buf[_FRAME:-1] if buf[-2] == 10 else buf[_FRAME:]
    ends = np.flatnonzero((text == sep) | (text == 10))
    n = ends.size
    if n == 0 or n % width:
        return None
    newline = text[ends] == 10
    if np.count_nonzero(newline) != n // width or not newline[width - 1 :: width].all():
        return None
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    if data.find(b"\r", start, stop) >= 0:  # CRLF: the last cell of a row ends before the \r
        ends[width - 1 :: width] -= text[ends[width - 1 :: width] - 1] == 13
    starts += _FRAME  # from here on, positions in buf
    ends += _FRAME
    signed = data.find(b"-", start, stop) >= 0 or data.find(b"+", start, stop) >= 0
    if signed:
        head = buf[starts]
        negative = head == 45
        sign = negative | (head == 43)
        length = ends - starts - sign
    else:
        length = ends - starts
    point = data.find(b".", start, stop) >= 0
    e_at = _exponents(data, start, stop, text)
    if e_at is not None and e_at.size == n and (e_at > starts - _FRAME).all() and (e_at < ends - _FRAME).all():
        m, exp10, ok = _with_exponent(buf, ends, length, point, e_at + _FRAME)  # one in every cell: nothing to redo
    else:
        nw = min(max((int(length.max()) + 7) // 8, 1), 4)
        m, decimals, ok = _digits(_words(buf, ends, nw), np.minimum(length, 8 * nw), point)
        ok &= length <= 8 * nw
        exp10 = -decimals
        if e_at is not None:  # the cells with an 'e': read again, from their first
            cells, first = np.unique(np.searchsorted(ends - _FRAME, e_at, side="right"), return_index=True)
            m[cells], exp10[cells], ok[cells] = _with_exponent(
                buf, ends[cells], length[cells], point, e_at[first] + _FRAME
            )
    values, exact = to_float(m, exp10)
    ok &= exact
    if signed:
        np.negative(values, out=values, where=negative)
    for i in np.flatnonzero(~ok).tolist():
        value = _float_cell(buf[starts[i] : ends[i]].tobytes())
        if value is None:
            return None
        values[i] = value
    return values


_FEW = 64


def _exponents(data: bytes, start: int, stop: int, text: np.ndarray) -> Optional[np.ndarray]:
    """Where the band has an 'e' or 'E' (sorted), or None."""
    found: List[int] = []
    for letter in (b"e", b"E"):  # a few small or large values among many plain ones are found one by one
        at = data.find(letter, start, stop)
        while at >= 0 and len(found) <= _FEW:
            found.append(at - start)
            at = data.find(letter, at + 1, stop)
    if not found:
        return None
    if len(found) > _FEW:
        return np.flatnonzero((text | 0x20) == ord("e"))
    return np.array(sorted(found), dtype=np.intp)


def _with_exponent(buf, ends, length, point, e_at):
    """(m, exp10, ok) of cells read as a mantissa before the 'e' at ``e_at`` and an exponent after it (a sign,
    up to 8 digits)."""
    after = ends - e_at - 1
    head = buf[e_at + 1]
    e_negative = head == 45
    e_length = after - (e_negative | (head == 43))
    e_value, _, e_ok = _digits(_words(buf, ends, 1), np.clip(e_length, 0, 8), False)
    e_ok &= e_length <= 8
    m_length = length - after - 1
    nw = min(max((int(m_length.max()) + 7) // 8, 1), 4)
    mantissa, decimals, m_ok = _digits(_words(buf, e_at, nw), np.clip(m_length, 0, 8 * nw), point)
    e_value = e_value.astype(np.intp)
    exp10 = np.where(e_negative, -e_value, e_value) - decimals
    return mantissa, exp10, m_ok & e_ok & (m_length >= 1) & (m_length <= 8 * nw)


def _float_cell(cell: bytes) -> Optional[float]:
    """float() of a cell the fast path could not read, or None where only the precise path may answer."""
    if not _PLAIN_CELL.fullmatch(cell):
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    if value in (np.inf, -np.inf) and cell.decode().lower() not in INF_WORDS:
        return None  # 1e999: the precise path says it is beyond float64
    return value


_POW10 = 10.0 ** np.arange(23)  # exact doubles


def _significand(x: np.ndarray) -> np.ndarray:
    """The 64-bit significands of x87 extended-precision values (the first 8 of their 16 bytes)."""
    return x.view(np.uint64)[::2]


#: numpy's longdouble is the x87 80-bit format: 64-bit significands (on other platforms the values this
#: arithmetic would settle go through float() and repr instead)
EXTENDED = (
    np.finfo(np.longdouble).nmant == 63
    and np.dtype(np.longdouble).itemsize == 16
    and int(_significand(np.array([1 + np.longdouble(2) ** -53]))[0]) == 0x8000000000000400
)


def to_float(m: np.ndarray, exp10: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The float64 nearest to each m * 10**exp10 (as float() rounds), and where that is certain."""
    e = np.abs(exp10)
    exact = (m <= U64(1 << 53)) & (e <= 22)  # both operands exact: one correctly rounded operation
    np.minimum(e, 22, out=e)
    mf = m.astype(np.float64)
    scale = _POW10.take(e)
    values = mf / scale
    np.multiply(mf, scale, out=values, where=exp10 > 0)
    wide = np.flatnonzero(~exact & (np.abs(exp10) <= 350))
    if wide.size and EXTENDED:
        # m < 2**64 is exact in 64 bits, and so is 10**k up to k = 27: one operation rounds to 64 bits, the
        # cast to double again, which differs from rounding once only where the first landed on a halfway
        # point between doubles (its last 11 bits 0x400). A larger power is itself rounded: the result is
        # then off by at most an ulp of 64 bits, so a halfway point within 2 ulps leaves it uncertain.
        ew = exp10[wide]
        r = times_power(m[wide].astype(np.longdouble), ew)
        off_half = (_significand(r) & U64(0x7FF)).astype(np.intp) - 0x400
        certain = np.abs(off_half) > np.where(np.abs(ew) <= 27, 0, 2)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            values[wide] = r = r.astype(np.float64)
            certain &= (r >= np.finfo(np.float64).tiny) & (r < np.inf)  # neither subnormal (nor 0) nor inf
        exact[wide] = certain
    return values, exact


def times_power(x: np.ndarray, exp10: np.ndarray) -> np.ndarray:
    """x * 10**exp10 in x's (wide) type: one rounding where the power is exact, two where it is not."""
    powers = powers_of_ten(x.dtype)
    up = powers.take(np.abs(exp10))
    out = np.multiply(x, up)
    return np.divide(x, up, out=out, where=exp10 < 0)


_POWERS: dict = {}


def powers_of_ten(dtype) -> np.ndarray:
    """10**k for k = 0..308 (float64) or 0..350 (extended), each correctly rounded: exact as far as the type allows."""
    dtype = np.dtype(dtype)
    if dtype not in _POWERS:
        if dtype == np.float64:
            table = np.array([float(10**k) for k in range(309)])  # int to float rounds correctly
        else:
            values = []
            for k in range(351):
                shift = max((10**k).bit_length() - 64, 0)
                top, rest = divmod(10**k, 1 << shift)
                if shift and (2 * rest > (1 << shift) or (2 * rest == (1 << shift) and top & 1)):
                    top += 1  # to nearest, ties to even
                values.append(np.ldexp(np.longdouble(np.uint64(top >> (top >> 64))), shift + (top >> 64)))
            table = np.array(values, dtype=np.longdouble)
        _POWERS[dtype] = table
    return _POWERS[dtype]
