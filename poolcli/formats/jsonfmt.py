"""JSON matrices: nested lists of numbers, as ``json.dumps(a.tolist())`` writes them.

Reading keeps every value exact. JSON declares no type, so the numbers decide it: integers that all fit
int64 come back as int64 (all non-negative and fitting uint64: uint64), anything else as float64, which
Python's json module parses correctly rounded. An integer float64 cannot hold exactly beside fractions, and a
number beyond the float64 range, are refused, naming their place (``[2][3]``), never rounded or made
infinite. ``NaN``, ``Infinity`` and ``-Infinity`` are read and written as Python's json module does. A flat
list is one row, as a single line of text is.

Writing spells each value as the text writer does (the shortest string that reads back as the same value of
the array's own type), one row a line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputError, OutputError
from .npy import in_layout

if TYPE_CHECKING:  # pragma: no cover
    from . import Write, Writer

__all__ = ["encode", "format_json", "load", "parse_json"]

#: Integers from here on may be rounded by float64 (and numpy turns ints beside floats into float64)
_EXACT_FLOAT_INT = 2**53
#: The text writer's spelling of what JSON spells as Python's json module does
_TOKENS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_INT64 = (-(2**63), 2**63)
_UINT64_TOP = 2**64


class _Beyond:
    """A number json would parse as infinity (``1e999``): kept as its text, so that it is refused by place."""

    def __init__(self, text: str) -> None:
        self.text = text


def _float(text: str) -> Any:
    value = float(text)
    return _Beyond(text) if math.isinf(value) else value


def load(data: bytes, name: str, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    """The reader of the registry: the array held by JSON ``data``, and no notes."""
    return parse_json(data, name, max_values=max_pixels), []


def parse_json(data: bytes, name: str = "<stdin>", *, max_values: int | None = None) -> np.ndarray:
    """Return the 2-D or 3-D array held by JSON ``data``; :class:`InputError` naming the place at fault.

    Examples
    --------
    >>> parse_json(b"[[1, 2], [3, 4]]")
    array([[1, 2],
           [3, 4]])
    >>> parse_json(b"[[0.1, NaN, -Infinity]]")
    array([[ 0.1,  nan, -inf]])
    >>> parse_json(b"[1, 2, 3]").shape
    (1, 3)
    >>> parse_json(b"[[1, 2], [3]]", "m.json")
    Traceback (most recent call last):
    ...
    poolcli.formats.errors.InputError: m.json: [1] holds 1 value, expected 2 values as [0]
    """
    text = _decode(data, name)
    # a rectangular nest of N numbers has N - 1 commas: a vast input is refused before it is parsed
    if max_values is not None and text.count(",") + 1 > max_values:
        raise InputError(f"{name}: more than {max_values:,} values; raise --max-pixels to allow it")
    value = _loads(text, name)
    if not isinstance(value, list):
        raise InputError(f"{name}: JSON holds {_shown(value)}, not lists of numbers")
    try:
        arr = _quick(value, text)
        if arr is None:  # parsed again, keeping numbers beyond float64 as text to name them
            arr = _careful(_loads(text, name, parse_float=_float), name)
    except RecursionError:
        raise InputError(f"{name}: lists nested too deeply") from None
    return arr.reshape(1, -1) if arr.ndim == 1 else arr


def _loads(text: str, name: str, **hooks: Any) -> Any:
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{name}: lists nested too deeply") from None
    except ValueError as exc:  # an integer longer than Python converts (4300 digits)
        raise InputError(f"{name}: {str(exc).splitlines()[0]}") from None


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{name}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def _quick(value: list, text: str) -> np.ndarray | None:
    """numpy's own conversion, where it cannot have changed a value; None: ask :func:`_careful`.

    numpy takes true and false as 1 and 0, so they are looked for first; null, strings and lists in place
    of numbers give no int64 or float64 array. Integers beside floats become float64, exactly only below
    2**53: a larger finite value may be such an integer, rounded. json reads 1e999 as infinity: more
    infinities than the text spells out means such a number.
    """
    if "true" in text or "false" in text:
        return None
    try:
        arr = np.array(value)
    except (ValueError, OverflowError, TypeError):  # ragged lists, numbers of every kind mixed
        return None
    if arr.dtype not in (np.int64, np.float64) or not 1 <= arr.ndim <= 3 or arr.size == 0:
        return None
    if arr.dtype == np.float64:
        finite = np.isfinite(arr)
        if (np.abs(arr[finite]) >= _EXACT_FLOAT_INT).any() or np.isinf(arr).sum() != text.count("Infinity"):
            return None
    return arr


def _careful(value: list, name: str) -> np.ndarray:
    """Check every list and number, naming the first place at fault; then the type that holds every value exactly."""
    shape = _shape(value, [], name)
    flat: list[Any] = []
    _flatten(value, flat)
    for i, v in enumerate(flat):
        if type(v) not in (int, float):
            what = f"{v.text} is beyond the float64 range" if isinstance(v, _Beyond) else f"{_shown(v)} is not a number"
            raise InputError(f"{name}: {_where(shape, i)}: {what}")
    if all(type(v) is int for v in flat):
        if all(_INT64[0] <= v < _INT64[1] for v in flat):
            return np.array(flat, dtype=np.int64).reshape(shape)
        if all(0 <= v < _UINT64_TOP for v in flat):
            return np.array(flat, dtype=np.uint64).reshape(shape)
    for i, v in enumerate(flat):
        if type(v) is int and abs(v) > _EXACT_FLOAT_INT and not _exact_float(v):
            raise InputError(
                f"{name}: {_where(shape, i)}: the integer {_shown(v)} cannot be held exactly beside the other values "
                f"(int64, uint64 or float64); write it as a float to accept its rounding"
            )
    return np.array(flat, dtype=np.float64).reshape(shape)


def _exact_float(v: int) -> bool:
    try:
        return float(v) == v
    except OverflowError:
        return False


def _shape(value: Any, path: list[int], name: str) -> tuple[int, ...]:
    """The shape of a rectangular nest of lists, or InputError naming the first place that breaks it."""
    if not isinstance(value, list):
        return ()
    if len(path) == 3:
        raise InputError(
            f"{name}: {_path(path)} holds a list: lists nested more than 3 deep; poolcli reads 2-D (H, W) or 3-D (H, W, C)"
        )
    if not value:
        raise InputError(f"{name}: {_path(path) or 'the top level'} is an empty list")
    first: tuple[int, ...] = ()
    for i, item in enumerate(value):
        path.append(i)
        s = _shape(item, path, name)
        path.pop()
        if i == 0:
            first = s
        elif s != first:
            what = _count(s[0]) if s else "a number"
            want = _count(first[0]) if first else "a number"
            raise InputError(f"{name}: {_path([*path, i])} holds {what}, expected {want} as {_path([*path, 0])}")
    return (len(value), *first)


def _count(n: int) -> str:
    return f"{n} value" if n == 1 else f"{n} values"


def _flatten(value: Any, out: list[Any]) -> None:
    if isinstance(value, list):
        for item in value:
            _flatten(item, out)
    else:
        out.append(value)


def _path(path: Sequence[int]) -> str:
    return "".join(f"[{i}]" for i in path)


def _where(shape: tuple[int, ...], flat_index: int) -> str:
    return _path([int(i) for i in np.unravel_index(flat_index, shape)])


def _shown(value: Any) -> str:
    text = str(value) if type(value) is int else json.dumps(value) if not isinstance(value, list) else "a list"
    return text if len(text) <= 24 else text[:20] + "..."


def format_json(arr: np.ndarray) -> tuple[str, list[str]]:
    """Return a 2-D or 3-D array as JSON nested lists, one row a line, and notes.

    Each value is spelled as the text writer spells it, so it reads back as the same value of the array's
    own type: ``0.1`` for float32's 0.1, integers without a point, never ``-0``.

    >>> format_json(np.array([[1, 2], [3, 4]], dtype=np.uint8))[0]
    '[[1, 2],\\n [3, 4]]\\n'
    >>> text, notes = format_json(np.array([[0.1, np.nan]], dtype=np.float32))
    >>> text, notes[0][:38]
    ('[[0.1, NaN]]\\n', 'NaN and infinity are written as NaN / ')
    """
    from ..io import (
        format_matrix,  # the text writer's spelling, whatever its implementation
    )

    if arr.ndim not in (2, 3) or 0 in arr.shape:
        raise OutputError(f"JSON output needs a non-empty 2-D or 3-D array, got shape {arr.shape}")
    notes = []
    lines = format_matrix(arr.reshape(arr.shape[0], -1), delimiter=", ").splitlines()
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        notes.append("NaN and infinity are written as NaN / Infinity, as Python's json module does (not strict JSON)")
        lines = [", ".join(_TOKENS.get(c, c) for c in line.split(", ")) for line in lines]
    if arr.ndim == 3:
        c = arr.shape[2]
        grouped = []
        for line in lines:
            cells = line.split(", ")
            grouped.append(", ".join("[" + ", ".join(cells[j : j + c]) + "]" for j in range(0, len(cells), c)))
        lines = grouped
    return "[" + ",\n ".join("[" + line + "]" for line in lines) + "]\n", notes


def encode(
    result: np.ndarray, writer: Writer, options: Mapping[str, Any], *, source_dtype: np.dtype, name: str
) -> tuple[Write, list[tuple[str, str]]]:
    """The writer of the registry: ``result`` as JSON, in the input's layout (``options["layout"]``)."""
    text, notes = format_json(in_layout(result, options.get("layout")))
    data = text.encode()
    return (lambda f: f.write(data)), [(f"{name}: {n}", "values") for n in notes]
