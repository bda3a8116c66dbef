"""The named 3x3 filters people teach with, and the parser for inline kernels.

Weights are correlation weights, row by row, as a CNN layer applies them (the
kernel is not flipped): "top-edge" responds where the rows above are brighter
than the rows below.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from fractions import Fraction
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

__all__ = ["FILTERS", "FILTER_ALIASES", "FilterError", "is_filter_name", "parse_filter"]


class FilterError(ValueError):
    """A filter name or inline kernel that cannot be used."""


def _k(rows: list[list[int]], scale: int = 1) -> npt.NDArray[np.float64]:
    arr = np.array(rows, dtype=np.float64) / scale
    arr.setflags(write=False)
    return arr


_FILTERS: dict[str, np.ndarray] = {
    "identity": _k([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "top-edge": _k([[1, 2, 1], [0, 0, 0], [-1, -2, -1]]),
    "bottom-edge": _k([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
    "left-edge": _k([[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
    "right-edge": _k([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
    "prewitt-x": _k([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
    "prewitt-y": _k([[-1, -1, -1], [0, 0, 0], [1, 1, 1]]),
    "scharr-x": _k([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]),
    "scharr-y": _k([[-3, -10, -3], [0, 0, 0], [3, 10, 3]]),
    "laplacian": _k([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
    "laplacian-diagonal": _k([[1, 1, 1], [1, -8, 1], [1, 1, 1]]),
    "outline": _k([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "sharpen": _k([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "blur": _k([[1, 1, 1], [1, 1, 1], [1, 1, 1]], 9),
    "gaussian": _k([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16),
    "emboss": _k([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
}

#: Named 3x3 filters (read-only float64 arrays), in the order ``poolcli filters`` lists them.
FILTERS: Mapping[str, np.ndarray] = MappingProxyType(_FILTERS)

#: Other names people use for the same kernels.
FILTER_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "sobel-x": "right-edge",
        "sobel-y": "bottom-edge",
        "prewitt": "prewitt-x",
        "box": "blur",
        "box-blur": "blur",
        "gaussian-blur": "gaussian",
        "edge": "outline",
    }
)


def _normalise_name(text: str) -> str:
    return "-".join(text.strip().lower().replace("_", " ").replace("-", " ").split())


def is_filter_name(text: str) -> bool:
    """Whether ``text`` names a filter (or an alias), written any way :func:`parse_filter` takes.

    >>> is_filter_name("Sobel_X"), is_filter_name("1,0;0,1")
    (True, False)
    """
    name = _normalise_name(text)
    return name in FILTERS or name in FILTER_ALIASES


def _number(token: str, row: int, col: int) -> float:
    try:
        if "/" in token:
            return float(Fraction(token))
        return float(token)
    except (ValueError, ZeroDivisionError):
        raise FilterError(f"filter weight {token!r} (row {row}, column {col}) is not a number") from None
    except OverflowError:
        raise FilterError(f"filter weight {token!r} (row {row}, column {col}) is beyond the float range") from None


def parse_filter(text: str) -> np.ndarray:
    """Return the kernel named by ``text``, or parsed from ``"a,b,c;d,e,f;g,h,i"``.

    Names are case-insensitive; ``_`` and spaces may stand for ``-``. Inline
    rows are separated by ``;`` (or newlines), weights by ``,`` or spaces; a
    weight may be a fraction such as ``1/9``. Any rectangular 2-D kernel is
    accepted. The weights are floats, and :func:`poolcli.conv2d` reads a float
    that is the nearest to a fraction p/q (q up to 65536) as that fraction, so
    ``1/9`` and ``0.25`` filter exactly: the products are summed exactly and
    divided once.

    Raises
    ------
    FilterError
        (a ValueError) for an unknown name, listing the names and the closest
        one, or for a kernel that is not a rectangle of numbers.

    Examples
    --------
    >>> parse_filter("sharpen")
    array([[ 0., -1.,  0.],
           [-1.,  5., -1.],
           [ 0., -1.,  0.]])
    >>> parse_filter("1,2,1; 0,0,0; -1,-2,-1").shape
    (3, 3)
    """
    if not isinstance(text, str) or not text.strip():
        raise FilterError("filter is empty; give a name (see 'poolcli filters') or 'a,b,c;d,e,f;g,h,i'")
    looks_inline = any(ch.isdigit() for ch in text) and (";" in text or "," in text or "\n" in text)
    if not looks_inline:
        name = _normalise_name(text)
        name = FILTER_ALIASES.get(name, name)
        if name in FILTERS:
            return FILTERS[name].copy()
        if not any(ch.isdigit() for ch in text):
            known = list(FILTERS) + list(FILTER_ALIASES)
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise FilterError(f"unknown filter {text.strip()!r}; {hint}known filters: {', '.join(FILTERS)}")
    rows = [r for r in text.replace("\n", ";").split(";") if r.strip()]
    parsed = []
    for ri, row in enumerate(rows, 1):
        cells = row.replace(",", " ").split()
        parsed.append([_number(c, ri, ci) for ci, c in enumerate(cells, 1)])
    widths = {len(r) for r in parsed}
    if not parsed or len(widths) != 1:
        raise FilterError(
            f"filter {text.strip()!r} is not a rectangle: rows have {', '.join(str(len(r)) for r in parsed)} weights"
        )
    kernel = np.array(parsed, dtype=np.float64)
    if not np.isfinite(kernel).all():
        raise FilterError(f"filter {text.strip()!r} has a weight that is not finite")
    return kernel
