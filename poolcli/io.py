"""Reading and writing matrices and images: the names callers have always imported from here.

The readers and writers live in :mod:`poolcli.formats`, registered in its tables; this module re-exports
them, and holds the text matrices (CSV, TSV, whitespace): :func:`parse_matrix` and :func:`format_matrix`.
Formats are recognised by content, never by a file's name. Errors are :class:`InputError` /
:class:`OutputError` (ValueError subclasses) with a message that names the file, line and column at fault.
"""

from __future__ import annotations

import io as _io
import warnings
from typing import List, Optional, Tuple

import numpy as np

from . import formats
from .formats import DEFAULT_MAX_PIXELS, OUTPUT_FORMATS, format_for_path
from .formats.errors import InputError, OutputError
from .formats.files import (
    Loaded,
    atomic_writer,
    byte_limit,
    check_destination,
    load_bytes,
    read_bytes,
    read_input,
    remove_temporaries,
    same_file,
    write_output,
)
from .formats.images import gray
from .formats.imagewrite import image_bits, image_writer, to_image_array

__all__ = [
    "InputError",
    "OutputError",
    "Loaded",
    "DEFAULT_MAX_PIXELS",
    "OUTPUT_FORMATS",
    "sniff",
    "read_input",
    "load_bytes",
    "read_bytes",
    "byte_limit",
    "parse_matrix",
    "format_matrix",
    "check_delimiter",
    "format_for_path",
    "write_output",
    "atomic_writer",
    "to_image_array",
    "image_bits",
    "image_writer",
    "gray",
    "same_file",
    "check_destination",
    "remove_temporaries",
]


def sniff(data: bytes) -> str:
    """The name of the reader for the content ``data`` starts with: "npy", "image", "json" or "text"."""
    return formats.sniff(data).name


# --------------------------------------------------------------------------- text


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


def parse_matrix(data, name: str = "<stdin>", *, max_cells: int = DEFAULT_MAX_PIXELS) -> Tuple[np.ndarray, List[str]]:
    """Return the float64 matrix in ``data`` (bytes or str) and notes about it.

    Comma, tab, semicolon or whitespace separated (detected from the first data
    row); ``#`` comment lines and blank lines skipped; CRLF, a UTF-8 BOM and
    UTF-16 with a BOM accepted; ``nan`` and ``inf`` accepted. A first row with
    no number in it is a header and is skipped, with a note. Ragged rows,
    non-numeric cells, numbers beyond float64 and empty input raise
    :class:`InputError` naming the line and column.
    """
    text = _decode(data, name) if isinstance(data, (bytes, bytearray, memoryview)) else data
    lines = text.splitlines()
    rows: List[Tuple[int, str]] = [
        (i, line) for i, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows:
        raise InputError(f"{name}: no numbers (empty, or only comments and blank lines)")
    delim = _delimiter(rows[0][1])
    notes = []
    first = _split(rows[0][1], delim)
    if not any(_is_number(c) for c in first):
        notes.append(f"{name}: line {rows[0][0]} looks like a header ({', '.join(first[:4])}{', ...' if len(first) > 4 else ''}); skipped it")
        rows = rows[1:]
        if not rows:
            raise InputError(f"{name}: only a header row, no numbers")
    width = len(_split(rows[0][1], delim))
    if width * len(rows) > max_cells:
        raise InputError(f"{name}: {len(rows):,} x {width:,} cells is more than {max_cells:,}; raise --max-pixels to allow it")
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
    return arr, notes


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
                    raise InputError(f"{name}: line {lineno}, column {c + 1} is empty (a doubled or trailing delimiter?)") from None
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


#: Characters a number can hold as poolcli writes or reads it: digits, sign, point, exponent, the letters of
#: nan/inf/infinity in either case, and "_" (Python reads "1_000"); a quote is stripped from cells on reading.
_NUMBER_CHARACTERS = frozenset("0123456789+-._\"" + "aefinty" + "AEFINTY")


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
            part = frac[i:i + _SHORTEST_CHUNK]
            flat[part] = src[part].astype(str).astype(np.float64)
    return a, integral


_SHORTEST_CHUNK = 1 << 16


def _unsigned_zeros(arr: np.ndarray, precision: int) -> np.ndarray:
    """Return ``arr`` as float64 with every value that would print as -0.000... at ``precision`` made +0."""
    with np.errstate(invalid="ignore"):
        a = np.add(arr, 0.0, dtype=np.float64)
    tiny = np.flatnonzero((a < 0) & (a > -(10.0 ** -precision)))  # only these can round to a signed zero
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

