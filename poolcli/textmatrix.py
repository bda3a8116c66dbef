"""Text matrices: reading delimited numbers exactly, and writing each value's shortest round-trip form.

Both directions have a precise path, value by value in Python (``float()`` and ``repr``), and a fast path
that does the same work for a whole band of cells at once in numpy:

* Reading cuts the bytes into bands of whole lines, finds the cells' bounds, and turns eight digits at a
  time into integers (the bytes of a cell read as 64-bit words). A decimal ``m * 10**e`` becomes the float64
  ``float()`` gives: one IEEE operation where that is exact (m < 2**53, |e| <= 22), else one operation in
  80-bit extended precision, whose double rounding can go wrong only at an exact halfway point, which is
  checked. Anything the fast path cannot vouch for (a word such as ``nan``, a number past its reach, a ragged
  row, a stray byte) goes through ``float()``, or the whole input through the precise path, which says
  what is wrong, with the line and column.
* Writing finds, per value, the first of the correctly rounded 15, 16 and 17 significant digits (float32:
  6 to 9) that reads back to the same value: the shortest round-trip form, the digits ``repr`` gives. It is
  spelled as ``repr`` spells it and every cell is copied into place at once. Values the arithmetic cannot
  decide (a rounding too close to call, a power of two, whose neighbours are not evenly spaced) take
  ``repr``.

The fast paths work on any run of complete lines or cells, so a reader that streams a band at a time
can call them band by band, and ``_parse_rows`` on numbered lines where a band needs the precise path.
"""

from __future__ import annotations

import io as _io
import re
import warnings
from typing import List, Optional, Tuple

import numpy as np

from .formats import DEFAULT_MAX_PIXELS
from .formats.errors import InputError, OutputError

__all__ = ["check_delimiter", "format_matrix", "parse_matrix"]


# =========================================================================== reading


_INF_WORDS = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{name}: damaged UTF-16 text") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{name}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def _delimiter(line: str) -> Optional[str]:
    for delim in (",", ";"):
        if delim in line:
            return delim
    if "\t" in line:
        cells = line.split("\t")
        # "1 2<tab>3 4": tabs and spaces both separate numbers, so any whitespace does
        if any(len(c.split()) > 1 and all(_is_number(t) for t in c.split()) for c in cells):
            return None
        return "\t"  # a TSV: an empty cell stays an error, a header may have spaces in its names
    return None  # whitespace


def _split(line: str, delim: Optional[str]) -> List[str]:
    if delim is None:
        return [c.strip('"') for c in line.split()]
    return [c.strip().strip('"') for c in line.split(delim)]


def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def _is_data(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _header_note(name: str, lineno: int, cells: List[str]) -> str:
    return f"{name}: line {lineno} looks like a header ({', '.join(cells[:4])}{', ...' if len(cells) > 4 else ''}); skipped it"


def parse_matrix(data, name: str = "<stdin>", *, max_cells: int = DEFAULT_MAX_PIXELS) -> Tuple[np.ndarray, List[str]]:
    """Return the float64 matrix in ``data`` (bytes or str) and notes about it.

    Comma, tab, semicolon or whitespace separated (detected from the first data
    row); ``#`` comment lines and blank lines skipped; CRLF, a UTF-8 BOM and
    UTF-16 with a BOM accepted; ``nan`` and ``inf`` accepted. A first row with
    no number in it is a header and is skipped, with a note. Ragged rows,
    non-numeric cells, numbers beyond float64 and empty input raise
    :class:`InputError` naming the line and column.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
    if isinstance(data, bytes) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 takes the precise path
        fast = _parse_fast(data, 3 if data.startswith(b"\xef\xbb\xbf") else 0, name, max_cells)
        if fast is not None:
            return fast
    text = _decode(data, name) if isinstance(data, bytes) else data
    rows = [(i, line) for i, line in enumerate(text.splitlines(), 1) if _is_data(line)]
    if not rows:
        raise InputError(f"{name}: no numbers (empty, or only comments and blank lines)")
    delim = _delimiter(rows[0][1])
    notes = []
    first = _split(rows[0][1], delim)
    if not any(_is_number(c) for c in first):
        notes.append(_header_note(name, rows[0][0], first))
        rows = rows[1:]
        if not rows:
            raise InputError(f"{name}: only a header row, no numbers")
    width = len(_split(rows[0][1], delim))
    if width * len(rows) > max_cells:
        raise InputError(
            f"{name}: {len(rows):,} x {width:,} cells is more than {max_cells:,}; raise --max-pixels to allow it"
        )
    return _parse_rows(rows, delim, width, name), notes


def _parse_rows(rows: List[Tuple[int, str]], delim: Optional[str], width: int, name: str) -> np.ndarray:
    """Return the matrix of ``rows`` (line number, line), or raise the error of the first bad line."""
    body = "\n".join(line for _, line in rows)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            arr = np.loadtxt(_io.StringIO(body), delimiter=delim, dtype=np.float64, ndmin=2, comments=None)
        ok = arr.shape == (len(rows), width)
    except (ValueError, Warning):
        ok = False
    if not ok:
        arr = _parse_slowly(rows, delim, width, name)
    if np.isinf(arr).any():
        _check_infinities(arr, rows, delim, name)
    return arr


def _parse_slowly(rows, delim, width, name) -> np.ndarray:
    """Parse row by row to say exactly which line and column is at fault."""
    first_line = rows[0][0]
    out = np.empty((len(rows), width), dtype=np.float64)
    for r, (lineno, line) in enumerate(rows):
        cells = _split(line, delim)
        if len(cells) != width:
            shown = {None: "whitespace", "\t": "tab"}.get(delim, repr(delim))
            raise InputError(
                f"{name}: line {lineno} has {len(cells)} values, expected {width} as on line {first_line} "
                f"(separated by {shown})"
            )
        for c, cell in enumerate(cells):
            try:
                out[r, c] = float(cell)
            except ValueError:
                if not cell:
                    raise InputError(
                        f"{name}: line {lineno}, column {c + 1} is empty (a doubled or trailing delimiter?)"
                    ) from None
                shown = cell if len(cell) <= 20 else cell[:20] + "..."
                raise InputError(f"{name}: line {lineno}, column {c + 1}: {shown!r} is not a number") from None
    return out


def _check_infinities(arr, rows, delim, name) -> None:
    """Allow inf only where the text says inf: 1e999 is out of range, not infinity."""
    for r, c in zip(*np.nonzero(np.isinf(arr))):
        lineno, line = rows[r]
        cell = _split(line, delim)[c]
        if cell.lower() not in _INF_WORDS:
            raise InputError(f"{name}: line {lineno}, column {c + 1}: {cell!r} is beyond the float64 range")


# --------------------------------------------------------------------------- the fast reader

#: Bytes of text parsed at a time: small enough that a band's work arrays stay in the CPU's cache
_BAND = 1 << 18
#: Lines of comments and blank lines looked through for the first row before leaving it to the precise path
_HEAD_LINES = 64
#: A cell the fast path hands to float(): only these bytes, so stripping and splitting cannot change it
_PLAIN_CELL = re.compile(rb"[0-9A-Za-z+\-._]+")


def _parse_fast(data: bytes, start: int, name: str, max_cells: int) -> Optional[Tuple[np.ndarray, List[str]]]:
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
        if not _is_data(line):
            if notes:
                return None  # a comment or blank line after the header: left to the precise path
        elif notes:
            width = len(_split(line, delim))
            break
        else:
            delim = _delimiter(line)
            cells = _split(line, delim)
            if any(_is_number(c) for c in cells):
                width = len(cells)
                break
            notes.append(_header_note(name, lineno, cells))
        pos = stop + 1
    rows = data.count(b"\n", pos, end) + 1
    if rows * width > max_cells:
        return None
    sep = b" " if delim is None else delim.encode()
    if len(sep) != 1:
        return None
    out = np.empty(rows * width, dtype=np.float64)
    done = 0
    while pos < end:
        stop = data.rfind(b"\n", pos, min(pos + _BAND, end)) + 1
        if stop <= pos:
            stop = data.find(b"\n", pos + _BAND, end) + 1 or end
        values = _parse_lines(data, pos, stop, sep[0], width)
        if values is None or done + values.size > out.size:
            return None
        out[done : done + values.size] = values
        done += values.size
        pos = stop
    return (out.reshape(rows, width), notes) if done == out.size else None


U64 = np.uint64
_LOW7 = U64(0x7F7F7F7F7F7F7F7F)
_HIGH = U64(0x8080808080808080)
_ZEROS = U64(0x3030303030303030)
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
    v |= _ZEROS & ~keep  # bytes outside the cell, and the point, read as '0'
    bad = (v + _TOP) | (v - _ZEROS)  # the high bit of a byte set unless all eight are '0'..'9'
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
    v -= _ZEROS  # eight digits to one number, in three multiply-and-shift steps
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
    values, exact = _to_float(m, exp10)
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
    if value in (np.inf, -np.inf) and cell.decode().lower() not in _INF_WORDS:
        return None  # 1e999: the precise path says it is beyond float64
    return value


_POW10 = 10.0 ** np.arange(23)  # exact doubles
#: Extended precision is the x87 80-bit format: 64-bit significands, laid out with the significand first
_EXTENDED = np.finfo(np.longdouble).nmant == 63 and np.dtype(np.longdouble).itemsize == 16
if _EXTENDED:
    _POW10_EXT = np.array(
        [np.longdouble(10**k) if k < 20 else np.longdouble(10**19) * np.longdouble(10 ** (k - 19)) for k in range(28)]
    )
    _EXTENDED = bool(all(int(p) == 10**k for k, p in enumerate(_POW10_EXT)))  # 10**27 = 5**27 * 2**27 fits 64 bits


def _significand(x: np.ndarray) -> np.ndarray:
    """The 64-bit significands of extended-precision values (the first 8 of their 16 bytes)."""
    return x.view(np.uint64)[::2]


def _to_float(m: np.ndarray, exp10: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The float64 nearest to each m * 10**exp10 (as float() rounds), and where that is certain."""
    e = np.abs(exp10)
    exact = (m <= U64(1 << 53)) & (e <= 22)  # both operands exact: one correctly rounded operation
    np.minimum(e, 22, out=e)
    mf = m.astype(np.float64)
    scale = _POW10.take(e)
    values = mf / scale
    np.multiply(mf, scale, out=values, where=exp10 > 0)
    if not _EXTENDED:
        return values, exact
    wide = np.flatnonzero(~exact & (np.abs(exp10) <= 27))
    if wide.size:
        # m < 2**64 and 10**27 are exact in 64 bits: one operation rounds once to 64 bits, the cast to double
        # a second time, which differs from rounding once only where the first landed on a halfway point
        mw = m[wide].astype(np.longdouble)
        ew = exp10[wide]
        scale = _POW10_EXT.take(np.abs(ew))
        r = np.divide(mw, scale, where=ew < 0, out=np.multiply(mw, scale))
        values[wide] = r.astype(np.float64)
        exact[wide] = (_significand(r) & U64(0x7FF)) != U64(0x400)
    return values, exact


# =========================================================================== writing


#: Characters a number can hold as poolcli writes or reads it: digits, sign, point, exponent, the letters of
#: nan/inf/infinity in either case, and "_" (Python reads "1_000"); a quote is stripped from cells on reading.
_NUMBER_CHARACTERS = frozenset('0123456789+-._"' + "aefinty" + "AEFINTY")


def check_delimiter(delimiter: str) -> str:
    """Return ``delimiter`` if text written with it reads back cell for cell, else raise :class:`OutputError`.

    Refused: the empty string, a line break, and any character that can be
    part of a number (``1000,-25`` with delimiter ``1`` would be ``10001-25``).
    """
    if not delimiter:
        raise OutputError("the delimiter is empty")
    if len(("x" + delimiter + "x").splitlines()) != 1:
        raise OutputError(f"the delimiter {delimiter!r} holds a line break")
    for ch in delimiter:
        if ch in _NUMBER_CHARACTERS or ch.isdecimal():
            raise OutputError(
                f"{ch!r} can be part of a number (digits, sign, point, exponent, nan, inf), so it cannot "
                f"separate numbers; choose another delimiter, such as ',' ';' '|' or tab"
            )
    return delimiter


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
    return v + _ZEROS


def _shortest_digits(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shortest decimal that reads back as each x (positive, finite, in its own type): digits, how many, and
    where the point goes (x = 0.DIGITS * 10**point). As ``repr`` (float64) and numpy's shortest ``str`` (float32)."""
    if x.dtype == np.float64 and _EXTENDED:
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
    for p in (8, 4, 2, 1):  # drop trailing zeros: 0.1 is 100000000000000 to 15 digits
        high = digits // _POW10_U64[p]
        zeros = high * _POW10_U64[p] == digits
        digits = np.where(zeros, high, digits)
        count -= zeros * p
    return digits, count, point


def _first_round_trip(x, wide, lengths):
    """Per value, the first of its correctly rounded decimals of ``lengths`` digits that reads back as it.

    That is the shortest round-trip form, and the nearest of that length, as ``repr`` chooses, wherever the
    neighbours of x are evenly spaced: every x but a power of two, for which only a first success is sure.
    The roundings are done in ``wide`` arithmetic, one or (with an inexact power of ten) two roundings off; a
    rounding that close to a tie, or a read-back that close to halfway, is left ``unsure`` (for ``repr``).
    """
    info = np.finfo(wide)
    exact_powers = int(np.log(2.0 ** (info.nmant + 1)) / np.log(5))  # 10**k = 5**k * 2**k is exact while 5**k fits
    bits = x.view(np.uint64 if x.dtype.itemsize == 8 else np.uint32)
    power_of_two = (bits & (bits.dtype.type(1) << bits.dtype.type(np.finfo(x.dtype).nmant)) - bits.dtype.type(1)) == 0
    xw = x.astype(wide)
    lead = np.floor(np.log10(x.astype(np.float64))).astype(np.intp)  # the first digit's place, or one off
    top = lengths[-1]
    y_top = _times_power(xw, top - 1 - lead)
    off = np.flatnonzero((y_top < 10.0 ** (top - 1)) | (y_top >= 10.0**top))
    if off.size:
        lead[off] += np.where(y_top[off] < 10.0 ** (top - 1), -1, 1)
        y_top[off] = _times_power(xw[off], top - 1 - lead[off])
    unsure = x < np.finfo(x.dtype).tiny  # subnormals have fewer digits than the rest
    found = np.zeros(x.size, dtype=bool)
    chosen = np.zeros(x.size, dtype=np.uint64)
    count = np.zeros(x.size, dtype=np.intp)
    where_point = np.zeros(x.size, dtype=np.intp)
    for k in lengths:
        shift = k - 1 - lead
        y = y_top if k == top else _times_power(xw, shift)
        d = np.rint(y)
        pending = ~found
        # a rounding is off by at most eps/2 of the value: allow twice that, and twice again with an inexact power
        error = y.astype(np.float64) * np.where(np.abs(shift) <= exact_powers, float(info.eps), 2 * float(info.eps))
        unsure |= pending & (np.abs((y - d).astype(np.float64)) >= 0.5 - error)
        carried = d >= 10.0**k  # 9.99... rounded up to 10.00...
        d[carried] = 10.0 ** (k - 1)
        d = d.astype(np.uint64)
        point = lead + 1 + carried
        if k == top:  # 17 digits (float32: 9) always read back
            ok = pending
        else:
            back, exact = _read_back(d, point - k, x)
            unsure |= pending & ~exact
            ok = pending & exact & (back == x)
            if k == lengths[0]:  # a shortest form this short is this rounding, powers of two too; not a longer one
                unsure |= power_of_two & ~ok
        np.copyto(chosen, d, where=ok)
        np.copyto(count, k, where=ok)
        np.copyto(where_point, point, where=ok)
        found |= ok
    return chosen, count, where_point, unsure


def _times_power(x: np.ndarray, exp10: np.ndarray) -> np.ndarray:
    """x * 10**exp10 in x's (wide) type: one rounding where the power is exact, two where it is not."""
    powers = _powers(x.dtype)
    up = powers.take(np.abs(exp10))
    out = np.multiply(x, up)
    return np.divide(x, up, out=out, where=exp10 < 0)


def _read_back(digits: np.ndarray, exp10: np.ndarray, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The value ``digits * 10**exp10`` reads back as in x's type, and where that is certain."""
    if x.dtype == np.float64:
        return _to_float(digits, exp10)
    # float32: the decimal (< 10**9) is exact in float64, and so is 10**22; rounding to float64 and then to
    # float32 differs from rounding once only where the double lands on (or, with an inexact power, next to)
    # a float32 halfway point: the double's last 29 bits then read 2**28
    r = _times_power(digits.astype(np.float64), exp10)
    low = (r.view(np.uint64) & U64((1 << 29) - 1)).astype(np.int64) - (1 << 28)
    exact = np.abs(low) > np.where(np.abs(exp10) <= 22, 0, 4)
    exact &= r >= np.finfo(np.float32).tiny
    with np.errstate(over="ignore"):
        return r.astype(np.float32), exact


_POWERS: dict = {}


def _powers(dtype) -> np.ndarray:
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
