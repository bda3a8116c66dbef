"""Text matrices in: comma, semicolon, bar, tab or whitespace separated numbers, read exactly (the precise path)."""

from __future__ import annotations

import io as _io
import warnings
from typing import List, Optional, Tuple, Union

import numpy as np

from . import DEFAULT_MAX_PIXELS
from .errors import InputError

# =========================================================================== reading


INF_WORDS = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


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


#: The delimiters found on a matrix's first line, in this order (then tab, then any whitespace); the writer takes these
DELIMITERS = (",", ";", "|")


def detect_delimiter(line: str) -> Optional[str]:
    for delim in DELIMITERS:
        if delim in line:
            return delim
    if "\t" in line:
        cells = line.split("\t")
        # "1 2<tab>3 4": tabs and spaces both separate numbers, so any whitespace does
        if any(len(c.split()) > 1 and all(is_number(t) for t in c.split()) for c in cells):
            return None
        return "\t"  # a TSV: an empty cell stays an error, a header may have spaces in its names
    return None  # whitespace


def split_cells(line: str, delim: Optional[str]) -> List[str]:
    if delim is None:
        return [c.strip('"') for c in line.split()]
    return [c.strip().strip('"') for c in line.split(delim)]


def is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def is_data_line(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


def header_note(name: str, lineno: int, cells: List[str]) -> str:
    return f"{name}: line {lineno} looks like a header ({', '.join(cells[:4])}{', ...' if len(cells) > 4 else ''}); skipped it"


def parse_matrix(
    data: Union[bytes, bytearray, memoryview, str], name: str = "<stdin>", *, max_cells: int = DEFAULT_MAX_PIXELS
) -> Tuple[np.ndarray, List[str]]:
    """Return the float64 matrix in ``data`` (bytes or str) and notes about it.

    Comma, semicolon, ``|``, tab or whitespace separated (detected from the first
    data row); ``#`` comment lines and blank lines skipped; CRLF, a UTF-8 BOM and
    UTF-16 with a BOM accepted; ``nan`` and ``inf`` accepted. A first row with
    no number in it is a header and is skipped, with a note. Ragged rows,
    non-numeric cells, numbers beyond float64 and empty input raise
    :class:`InputError` naming the line and column.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
    if isinstance(data, bytes) and not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 takes the precise path
        from .textfast import parse_fast  # the fast path reads this module's rules: imported once both exist

        fast = parse_fast(data, 3 if data.startswith(b"\xef\xbb\xbf") else 0, name, max_cells)
        if fast is not None:
            return fast
    text = _decode(data, name) if isinstance(data, bytes) else data
    rows = [(i, line) for i, line in enumerate(text.splitlines(), 1) if is_data_line(line)]
    if not rows:
        raise InputError(f"{name}: no numbers (empty, or only comments and blank lines)")
    delim = detect_delimiter(rows[0][1])
    notes = []
    first = split_cells(rows[0][1], delim)
    if not any(is_number(c) for c in first):
        notes.append(header_note(name, rows[0][0], first))
        rows = rows[1:]
        if not rows:
            raise InputError(f"{name}: only a header row, no numbers")
    width = len(split_cells(rows[0][1], delim))
    if width * len(rows) > max_cells:
        raise InputError(
            f"{name}: {len(rows):,} x {width:,} cells is more than {max_cells:,}; raise --max-pixels to allow it"
        )
    return _parse_rows(rows, delim, width, name), notes


def _parse_rows(
    rows: List[Tuple[int, str]], delim: Optional[str], width: int, name: str, first_line: Optional[int] = None
) -> np.ndarray:
    """Return the matrix of ``rows`` (line number, line), or raise the error of the first bad line.

    ``first_line`` is the line whose width the rows must have (default: the first of ``rows``); a reader
    that streams gives it for every band."""
    body = "\n".join(line for _, line in rows)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            arr = np.loadtxt(_io.StringIO(body), delimiter=delim, dtype=np.float64, ndmin=2, comments=None)
        ok = arr.shape == (len(rows), width)
    except (ValueError, Warning):
        ok = False
    if not ok:
        arr = _parse_slowly(rows, delim, width, name, rows[0][0] if first_line is None else first_line)
    if np.isinf(arr).any():
        _check_infinities(arr, rows, delim, name)
    return arr


def _parse_slowly(rows, delim, width, name, first_line) -> np.ndarray:
    """Parse row by row to say exactly which line and column is at fault."""
    out = np.empty((len(rows), width), dtype=np.float64)
    for r, (lineno, line) in enumerate(rows):
        cells = split_cells(line, delim)
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
        cell = split_cells(line, delim)[c]
        if cell.lower() not in INF_WORDS:
            raise InputError(f"{name}: line {lineno}, column {c + 1}: {cell!r} is beyond the float64 range")
