"""Matrices as rich renderables: heat-map tables, the explain walk, the layer summary.

Everything here returns renderables and never prints; the caller chooses the
console (stdout for output that was asked for, stderr for views meant for eyes).
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from rich import box
from rich.color import Color
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from .engine.reductions import Reduction, reduction

__all__ = ["ELLIPSIS", "format_cells", "render_filters", "render_matrix", "view_format"]

ELLIPSIS = "…"
# a sequential palette (dark blue -> teal -> yellow, like viridis) and a diverging one (blue -> white -> red)
_SEQUENTIAL = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
_DIVERGING = [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)]


#: Fixed notation is used for values below FIXED_BELOW (larger ones would widen every column), with the fewest
#: decimals up to MOST_DECIMALS that show every value; when that many do not suffice, only if every non-zero
#: value is at least FIXED_FROM (so each keeps two significant digits in view). Else scientific notation,
#: with at most MOST_DIGITS significant digits.
FIXED_BELOW = 1e8
MOST_DECIMALS = 4
FIXED_FROM = 1e-3
MOST_DIGITS = 5


def view_format(values: np.ndarray, precision: Optional[int] = None) -> str:
    """Return the format spec that shows every value of a matrix readably, one spec for the whole matrix.

    Integers as integers. ``precision`` forces that many decimals. Otherwise,
    as numpy's printoptions do: fixed notation with the fewest decimals (at
    most 4) that show every value exactly, or 4 when every non-zero value is
    at least 0.001 (so none shows as 0); scientific notation with the fewest
    significant digits (at most 5) that show every value exactly when values
    are tiny, or 1e8 and more (so no column grows without bound).
    """
    if values.dtype.kind in "biu":
        return "d"
    if precision is not None:
        return f".{precision}f"
    nonzero = np.abs(values[np.isfinite(values) & (values != 0)])
    if nonzero.size == 0:
        return ".0f"
    wide = nonzero.astype(np.float64)
    if wide.max() < FIXED_BELOW:
        for d in range(MOST_DECIMALS + 1):
            if _shows(np.round(wide, d), nonzero):
                return f".{d}f"
        if wide.min() >= FIXED_FROM:
            return f".{MOST_DECIMALS}f"
    # near the ends of the range a power of ten overflows or underflows: such values then ask for more digits
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        exp = np.floor(np.log10(wide))
        exp += wide >= 10.0 ** (exp + 1)  # log10 of a power of ten may land just below it
        exp -= wide < 10.0**exp
        for digits in range(1, MOST_DIGITS):
            unit = 10.0 ** (exp - digits + 1)
            if _shows(np.round(wide / unit) * unit, nonzero):
                return f".{digits - 1}e"
    return f".{MOST_DIGITS - 1}e"


def _shows(shown: np.ndarray, values: np.ndarray) -> bool:
    """Whether the float64 ``shown`` stand for ``values``: the same numbers in their own type (float16/32),
    in float64 up to rounding noise (0.1 + 0.2 shows as 0.3)."""
    if values.dtype.itemsize < 8:
        return bool(np.array_equal(shown.astype(values.dtype), values))
    return bool(np.allclose(shown, values, rtol=1e-12, atol=0))


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


def _stats(a: np.ndarray) -> str:
    finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
    if finite.size == 0:
        return "no finite values"
    fmt = (lambda v: f"{v + 0.0:g}") if a.dtype.kind == "f" else (str)  # + 0.0: -0 is shown as 0
    mean = float(finite.mean(dtype=np.float64)) + 0.0
    return f"min {fmt(finite.min())}  max {fmt(finite.max())}  mean {mean:.4g}"


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
    if values.ndim == 3:
        parts = []
        for c in range(values.shape[2]):
            parts.append(
                render_matrix(
                    values[:, :, c],
                    title=f"{title or ''} channel {c}".strip(),
                    precision=precision,
                    max_rows=max_rows,
                    max_cols=max_cols,
                    width=width,
                    color=color,
                )
            )
        return Group(*parts)
    h, w = values.shape
    spec = view_format(values, precision)
    rows, row_gap = _pick(h, max_rows)
    # fit the width: each column takes its widest cell plus one space; the index column likewise
    sample_cols = list(range(min(w, 64))) + list(range(max(64, w - 64), w))
    sample = values[np.ix_(rows, sample_cols)]
    cell_w = max(*(len(s) for r in format_cells(sample, spec) for s in r), len(str(w - 1)))
    index_w = len(str(h - 1))
    fit = max(2, (width - index_w - 1) // (cell_w + 1) - 1)
    cols, col_gap = _pick(w, min(fit, max_cols) if max_cols else fit)
    shown = values[np.ix_(rows, cols)]
    text = format_cells(shown, spec)
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    diverging = lo < 0 < hi or hi <= 0 < -lo

    head = f"{h}x{w} {values.dtype}  {_stats(values)}"
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
    return Group(*parts)


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


# --------------------------------------------------------------------------- explain

#: window colours in the order the tutorial draws its 2x2 regions: orange, green, blue, yellow, then more
WINDOW_COLOURS = ["dark_orange", "green3", "dodger_blue2", "yellow3", "orchid", "turquoise2", "salmon1", "chartreuse3"]


def _cell(text: str, width: int, colour: Optional[str], color: bool) -> Text:
    body = text.rjust(width)
    if colour is None:
        return Text(f" {body} ")
    return Text(f"[{body}]", style=Style(color="black", bgcolor=colour, bold=True) if color else "")


def _matrix_grid(
    values: Optional[np.ndarray],
    row_ids: Sequence[int],
    col_ids: Sequence[int],
    texts: dict,
    marks: dict,
    width: int,
    color: bool,
    title: str,
    origin: Tuple[int, int] = (0, 0),
) -> Table:
    """Draw cells keyed by (row id, col id); ids outside the matrix are padding, drawn as '·'.

    ``origin`` is added to the row and column labels (a region of a larger input keeps its numbers).
    """
    dim = "dim" if color else ""
    grid = Table.grid(padding=(0, 0))
    grid.add_column(justify="right", no_wrap=True, style=dim)
    grid.add_column(width=1)  # a gap between the row labels and the cells
    for _ in col_ids:
        # cells come padded to one width; left-justified so that rich's trimming of a trailing space is harmless
        grid.add_column(justify="left", no_wrap=True)
    grid.add_row(Text(""), Text(""), *[Text(f" {str(c + origin[1]).rjust(width)} ", style=dim) for c in col_ids])
    for r in row_ids:
        row = [Text(f"{r + origin[0]}", style=dim), Text("")]
        for c in col_ids:
            row.append(_cell(texts.get((r, c), "·"), width, marks.get((r, c)), color))
        grid.add_row(*row)
    outer = Table.grid()
    outer.add_row(Text(title, style="bold" if color else ""))
    outer.add_row(grid)
    return outer


def _fmt(v: float, spec: str) -> str:
    return format_cells(np.array([[v]]), spec)[0][0]


def explain_steps(
    x: np.ndarray,
    out: np.ndarray,
    rows,
    cols,
    mode: str,
    *,
    norm_type: Optional[float] = None,
    precision: Optional[int] = None,
    color: bool = True,
    origin: Tuple[int, int] = (0, 0),
):
    """Yield one renderable per window: the input with the window marked, the reduction, the output so far.

    ``rows``/``cols`` are :func:`poolcli.window_cells` lists; ``out`` is
    the engine's result, whose cells fill the output as the walk goes;
    ``norm_type`` is lp's p.
    """
    rec = reduction(mode)
    h, w = x.shape
    dec = view_format(x, precision)
    out_dec = view_format(out, precision)
    in_text = {(r, c): _fmt(float(x[r, c]), dec) for r in range(h) for c in range(w)}
    row_ids = sorted({i for win in rows for i, _ in win} | set(range(h)))
    col_ids = sorted({j for win in cols for j, _ in win} | set(range(w)))
    oh, ow = len(rows), len(cols)
    in_w = max(
        [len(t) for t in in_text.values()] + [len(str(v)) for v in (row_ids[0], row_ids[-1], col_ids[0], col_ids[-1])]
    )
    out_w = max([len(_fmt(float(v), out_dec)) for v in out.ravel()] + [len(str(max(oh, ow) - 1))])
    filled: dict = {}
    total = oh * ow
    for step, (i, j) in enumerate(((i, j) for i in range(oh) for j in range(ow)), 1):
        colour = WINDOW_COLOURS[(step - 1) % len(WINDOW_COLOURS)]
        win = [(r, rc, c, cc) for r, rc in rows[i] for c, cc in cols[j]]
        marks = {(r, c): colour for r, _, c, _ in win}
        real = [float(x[r, c]) for r, _, c, _ in win if 0 <= r < h and 0 <= c < w]
        pads = [(rc and cc) for r, rc, c, cc in win if not (0 <= r < h and 0 <= c < w)]
        value = out[i, j]
        filled[(i, j)] = _fmt(float(value), out_dec)
        expr = _expression(rec, norm_type, real, sum(pads), len(pads), float(value), dec, out_dec)
        r_lo, r_hi = rows[i][0][0] + origin[0], rows[i][-1][0] + origin[0]
        c_lo, c_hi = cols[j][0][0] + origin[1], cols[j][-1][0] + origin[1]
        head = Text(
            f"window {step} of {total}: rows {r_lo}..{r_hi}, columns {c_lo}..{c_hi} -> output [{i}, {j}]",
            style="bold" if color else "",
        )
        left = _matrix_grid(x, row_ids, col_ids, in_text, marks, in_w, color, f"input {h}x{w}", origin)
        right = _matrix_grid(
            out, list(range(oh)), list(range(ow)), dict(filled), {(i, j): colour}, out_w, color, f"output {oh}x{ow}"
        )
        side = Table.grid(padding=(0, 4))
        side.add_row(left, right)
        yield Group(head, side, Text(expr, style=Style(color=colour, bold=True) if color else ""), Text(""))


def _expression(
    rec: Reduction,
    p: Optional[float],
    real: List[float],
    counted_pad: int,
    pad: int,
    value: float,
    dec: str,
    out_dec: str,
) -> str:
    """The reduction written out, as its record says: max(1, 9, 3, 4) = 9, avg(1, 2, pad 0) = 3 / 3 = 1."""
    args = [_fmt(v, dec) for v in real]
    name = rec.symbol.format(p=_number(p)) if p is not None else rec.symbol
    result = _fmt(value, out_dec)
    if rec.prepare == "power":
        return _root_expression(name, p, real, args, pad, value, result)
    if rec.finish == "divide":
        count = len(real) + counted_pad
        uncounted = pad - counted_pad
        note = f"  ({uncounted} padding cell{'s' if uncounted != 1 else ''} not counted)" if uncounted else ""
        terms = ", ".join(args + ["pad 0"] * counted_pad)
        return f"{name}({terms}) = {_fmt(sum(real), dec)} / {count} = {result}{note}"
    # a padded cell that holds the lowest (highest) value never wins: say it was left out
    note = f"  ({pad} padding cell{'s' if pad != 1 else ''} ignored)" if pad and rec.pad != "zero" else ""
    return f"{name}({', '.join(args)}) = {result}{note}"


def _number(p: float) -> str:
    """The LP p as written: 2, 1.5, inf."""
    return str(int(p)) if p.is_integer() else repr(p)


def _root_expression(
    name: str, p: Optional[float], real: List[float], args: List[str], pad: int, value: float, result: str
) -> str:
    """LP written out: lp2(3, 4) = (3^2 + 4^2)^(1/2) = 25^(1/2) = 5; with p = inf, the largest |x|.

    A ceil_mode window that reaches past the input has its sum scaled by
    (window cells / cells inside), as PyTorch's lp_pool2d does.
    """
    assert p is not None
    past = f"  ({pad} cell{'s' if pad != 1 else ''} past the input)" if pad else ""
    if math.isinf(p):
        return f"{name}({', '.join(args)}) = max({', '.join(f'|{a}|' for a in args)}) = {result}{past}"
    ps = _number(p)
    powers = " + ".join(f"({a})^{ps}" if a.startswith("-") else f"{a}^{ps}" for a in args)
    with np.errstate(all="ignore"):
        total = float(np.power(np.array(real, dtype=np.float64), p).sum())
    note = past
    if pad:
        window = len(real) + pad
        total = total * window / len(real)
        powers = f"({powers}) * {window}/{len(real)}"
    if total < 0 and value != value:
        note += "  (a negative sum has no real root)"
    shown = _fmt(total, view_format(np.array([total])))
    return f"{name}({', '.join(args)}) = ({powers})^(1/{ps}) = {shown}^(1/{ps}) = {result}{note}"


def render_winners(
    x: np.ndarray, indices: np.ndarray, *, precision: Optional[int] = None, color: bool = True, title: str = ""
) -> RenderableType:
    """The input with every chosen cell (from max/min indices) marked."""
    h, w = x.shape
    dec = view_format(x, precision)
    texts = {(r, c): _fmt(float(x[r, c]), dec) for r in range(h) for c in range(w)}
    marks = {}
    for n, flat in enumerate(indices.ravel().tolist()):
        marks[divmod(int(flat), w)] = WINDOW_COLOURS[n % len(WINDOW_COLOURS)]
    cell_w = max(*(len(t) for t in texts.values()), len(str(max(h, w) - 1)))
    return _matrix_grid(x, list(range(h)), list(range(w)), texts, marks, cell_w, color, title)


# --------------------------------------------------------------------------- layer summary


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


def render_unpooled(
    out: np.ndarray,
    indices: np.ndarray,
    unpooled: np.ndarray,
    mode: str,
    *,
    precision: Optional[int] = None,
    color: bool = True,
    origin: Tuple[int, int] = (0, 0),
    ndim: int = 2,
) -> RenderableType:
    """The output beside its max unpooling: each value back at the cell that won its window, in the window's colour.

    ``unpooled`` is :func:`poolcli.unpool2d` of ``out`` and ``indices``; a cell that won several windows holds the
    last one's value (as PyTorch), and says so.
    """
    oh, ow = out.shape
    h, w = unpooled.shape
    out_dec, un_dec = view_format(out, precision), view_format(unpooled, precision)
    out_text = {(i, j): _fmt(float(out[i, j]), out_dec) for i in range(oh) for j in range(ow)}
    un_text = {(r, c): _fmt(float(unpooled[r, c]), un_dec) for r in range(h) for c in range(w)}
    out_marks: Dict[Tuple[int, int], str] = {}
    un_marks: Dict[Tuple[int, int], str] = {}
    won: Dict[Tuple[int, int], List[int]] = {}
    for n, flat in enumerate(indices.ravel().tolist()):
        colour = WINDOW_COLOURS[n % len(WINDOW_COLOURS)]
        out_marks[divmod(n, ow)] = colour
        un_marks[divmod(int(flat), w)] = colour
        won.setdefault(divmod(int(flat), w), []).append(n + 1)
    out_w = max(*(len(t) for t in out_text.values()), len(str(max(oh, ow) - 1)))
    un_w = max(*(len(t) for t in un_text.values()), len(str(max(h + origin[0], w + origin[1]) - 1)))
    side = Table.grid(padding=(0, 4))
    side.add_row(
        _matrix_grid(out, list(range(oh)), list(range(ow)), out_text, out_marks, out_w, color, f"output {oh}x{ow}"),
        _matrix_grid(
            unpooled, list(range(h)), list(range(w)), un_text, un_marks, un_w, color, f"unpooled {h}x{w}", origin
        ),
    )
    lines: List[RenderableType] = [
        Text(f"max unpooling: each {mode} back at the cell that won its window", style="bold" if color else ""),
        side,
        Text(f"(PyTorch MaxUnpool{ndim}d; the path {mode} pooling's gradient takes, too)"),
    ]
    for (r, c), windows in sorted(won.items()):
        if len(windows) > 1:
            listed = ", ".join(map(str, windows))
            lines.append(
                Text(
                    f"cell [{r + origin[0]}, {c + origin[1]}] won windows {listed}: holds the last (a gradient sums them)"
                )
            )
    return Group(*lines)
