"""Matrices as rich renderables: heat-map tables, the filters, the layer summary (the explain walk: render_explain).

Everything here returns renderables and never prints; the caller chooses the
console (stdout for output that was asked for, stderr for views meant for eyes).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from rich import box
from rich.color import Color
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from .glimpse import SAMPLED_COLUMNS, Formats, Glimpse


__all__ = [
    "ELLIPSIS",
    "format_cells",
    "render_filters",
    "render_glimpse",
    "render_matrix",
    "stream_line",
    "view_format",
]

ELLIPSIS = "…"
# a sequential palette (dark blue -> teal -> yellow, like viridis) and a diverging one (blue -> white -> red)
_SEQUENTIAL = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
_DIVERGING = [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)]


def view_format(values: np.ndarray, precision: Optional[int] = None) -> str:
    """Return the format spec that shows every value of a matrix readably, one spec for the whole matrix
    (the rule: :meth:`poolcli.glimpse.Formats.spec`)."""
    return Formats.of(values).spec(precision)


def format_cells(values: np.ndarray, spec: str) -> List[List[str]]:
    """Return a 2-D array's values as strings in ``spec`` (from :func:`view_format`); never ``-0``.

    In scientific notation a zero is written ``0``, so the few non-zero cells stand out.
    """
    if spec == "d":
        return [[str(int(v)) for v in row] for row in values.tolist()]  # explain's sums of integers come as floats
    sci = spec.endswith("e")
    out = []
    for row in values.tolist():
        cells = []
        for v in row:
            if v != v:
                cells.append("nan")
            elif v in (float("inf"), float("-inf")):
                cells.append("inf" if v > 0 else "-inf")
            elif sci and v == 0:
                cells.append("0")
            else:
                text = format(v, spec)
                cells.append(text[1:] if text[0] == "-" and not text.strip("-0.") else text)  # -0.00 is 0.00
        out.append(cells)
    return out


def _lerp(palette, t: float) -> Tuple[int, int, int]:
    t = min(max(t, 0.0), 1.0) * (len(palette) - 1)
    i = min(int(t), len(palette) - 2)
    f = t - i
    a, b = palette[i], palette[i + 1]
    return tuple(round(a[c] + (b[c] - a[c]) * f) for c in range(3))


def _cell_style(v: float, lo: float, hi: float, diverging: bool) -> Style:
    if v != v:
        return Style(color="white", bgcolor="grey30", italic=True)
    if diverging:
        m = max(abs(lo), abs(hi)) or 1.0
        rgb = _lerp(_DIVERGING, 0.5 + 0.5 * v / m)
    else:
        rgb = _lerp(_SEQUENTIAL, 0.0 if hi == lo else (v - lo) / (hi - lo))
    light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140
    return Style(color="black" if light else "white", bgcolor=Color.from_rgb(*rgb))


def _pick(n: int, most: int) -> Tuple[List[int], Optional[int]]:
    """Indices to show of ``n`` (the first and last halves when n > most), and where the ellipsis goes."""
    if n <= most:
        return list(range(n)), None
    head = (most + 1) // 2
    tail = most - head
    return list(range(head)) + list(range(n - tail, n)), head


def _stats(g: Glimpse) -> str:
    if g.lo is None:
        return "no finite values"
    fmt = (lambda v: f"{v + 0.0:g}") if g.dtype is not None and g.dtype.kind == "f" else (str)  # + 0.0: -0 is 0
    return f"min {fmt(g.lo)}  max {fmt(g.hi)}  mean {g.mean + 0.0:.4g}"


def render_matrix(
    values: np.ndarray,
    *,
    title: Optional[str] = None,
    precision: Optional[int] = None,
    max_rows: int = 32,
    max_cols: Optional[int] = None,
    width: int = 80,
    color: bool = True,
) -> RenderableType:
    """Return a heat-map table of a 2-D matrix (or one table per channel of a 3-D one).

    Rows and columns carry their indices; a matrix larger than ``max_rows`` or
    than the ``width`` shows its corners around an ellipsis row and column and
    says so in the caption.
    """
    glimpse = Glimpse.of(values, max_rows=max_rows, max_cols=max_cols, width=width)
    return render_glimpse(glimpse, title=title, precision=precision, color=color)


def render_glimpse(
    g: Glimpse,
    *,
    title: Optional[str] = None,
    precision: Optional[int] = None,
    color: bool = True,
    streamed: bool = False,
) -> RenderableType:
    """The view :func:`render_matrix` gives of the matrix ``g`` was fed (its corners and statistics), the same
    text and colours; ``streamed`` adds a line of what was counted on the way (see :func:`stream_line`)."""
    if g.channels is not None:
        parts = [
            render_glimpse(
                part, title=f"{title or ''} channel {c}".strip(), precision=precision, color=color, streamed=streamed
            )
            for c, part in enumerate(g.channels)
        ]
        return Group(*parts)
    h, w = g.h, g.w
    spec = g.formats.spec(precision)
    rows, row_gap = _pick(h, g.max_rows)
    # fit the width: each column takes its widest cell plus one space; the index column likewise
    sample_cols = list(range(min(w, SAMPLED_COLUMNS))) + list(range(max(SAMPLED_COLUMNS, w - SAMPLED_COLUMNS), w))
    sample = g.cells(rows, sample_cols)
    cell_w = max(*(len(s) for r in format_cells(sample, spec) for s in r), len(str(w - 1)))
    index_w = len(str(h - 1))
    fit = max(2, (g.width - index_w - 1) // (cell_w + 1) - 1)
    cols, col_gap = _pick(w, min(fit, g.max_cols) if g.max_cols else fit)
    shown = g.cells(rows, cols)
    text = format_cells(shown, spec)
    lo = float(g.lo) if g.lo is not None else 0.0
    hi = float(g.hi) if g.hi is not None else 0.0
    diverging = lo < 0 < hi or hi <= 0 < -lo

    head = f"{h}x{w} {g.dtype}  {_stats(g)}"
    dim = "dim" if color else ""
    table = Table(box=None, padding=(0, 0, 0, 1), show_header=True, header_style=dim, pad_edge=False)
    table.add_column("", justify="right", style=dim, no_wrap=True)
    for pos, c in enumerate(cols):
        if col_gap is not None and pos == col_gap:
            table.add_column(ELLIPSIS, justify="center", header_style=dim)
        table.add_column(str(c), justify="right", no_wrap=True, min_width=cell_w)
    for ri, r in enumerate(rows):
        if row_gap is not None and ri == row_gap:
            table.add_row(ELLIPSIS, *([ELLIPSIS] * (len(cols) + (col_gap is not None))))
        cells = []
        for pos in range(len(cols)):
            if col_gap is not None and pos == col_gap:
                cells.append(Text(ELLIPSIS))
            style = _cell_style(float(shown[ri, pos]), lo, hi, diverging) if color else ""
            cells.append(Text(text[ri][pos], style=style))
        table.add_row(str(r), *cells)
    parts = [Text(f"{title}  {head}" if title else head, style="bold" if color else ""), table]
    if row_gap is not None or col_gap is not None:
        parts.append(Text(_caption(h, w, rows, cols), style="dim" if color else ""))
    if streamed:
        parts.append(Text(stream_line(g), style="dim" if color else ""))
    return Group(*parts)


def stream_line(g: Glimpse) -> str:
    """What a streamed view adds: the shape in full and the values that are not finite, counted on the way."""
    line = f"streamed: {g.h:,} x {g.w:,} ({g.h * g.w:,} values)"
    if g.dtype is not None and g.dtype.kind == "f":
        line += f", NaN {g.nan:,}, inf {g.posinf:,}, -inf {g.neginf:,}"
    return line


def _caption(h: int, w: int, rows: Sequence[int], cols: Sequence[int]) -> str:
    return f"showing {len(rows)} of {h} rows and {len(cols)} of {w} columns"


def render_filters(filters, aliases) -> RenderableType:
    """Return a table of the named filters with their weights."""
    from fractions import Fraction

    table = Table(box=box.SIMPLE, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("name", no_wrap=True)
    table.add_column("weights (row by row)")
    table.add_column("also", style="dim")
    back: Dict[str, List[str]] = {}
    for alias, name in aliases.items():
        back.setdefault(name, []).append(alias)
    for name, k in filters.items():
        fr = [[Fraction(v).limit_denominator(1000) for v in row] for row in k.tolist()]
        common = max((f.denominator for row in fr for f in row), default=1)
        if common > 1 and all((f * common).denominator == 1 for row in fr for f in row):
            body = "; ".join(",".join(str(int(f * common)) for f in row) for row in fr) + f"  / {common}"
        else:
            body = "; ".join(",".join(str(f) for f in row) for row in fr)
        table.add_row(name, body, ", ".join(back.get(name, [])))
    return table


def render_summary(layers, input_shape) -> RenderableType:
    """A Keras-style model summary: layer (type), output shape with the batch axis, parameters, totals."""
    table = Table(box=box.SIMPLE_HEAD, show_header=True, header_style="bold", pad_edge=False, show_footer=False)
    # on a narrow terminal a long layer name folds onto a second line: a shape or a count is never cut
    table.add_column("Layer (type)", overflow="fold")
    table.add_column("Output Shape", no_wrap=True)
    table.add_column("Param #", justify="right", no_wrap=True, min_width=len("Param #"))
    table.add_row("input (InputLayer)", _keras_shape(input_shape), "0", style="dim")
    for layer in layers:
        table.add_row(f"{layer.name} ({layer.kind})", _keras_shape(layer.shape), f"{layer.params:,}")
    total = sum(layer.params for layer in layers)
    nontrainable = sum(layer.params // 2 for layer in layers if layer.kind == "BatchNormalization")
    return Group(
        table,
        Text(f"Total params: {total:,}"),
        Text(f"Trainable params: {total - nontrainable:,}"),
        Text(f"Non-trainable params: {nontrainable:,}"),
    )


def _keras_shape(shape) -> str:
    return "(None, " + ", ".join(str(v) for v in shape) + ")"
