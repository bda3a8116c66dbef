"""The explain walk as rich renderables: a window at a time, the winners, max unpooling.

Returns renderables and never prints, as :mod:`poolcli.render`.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from .engine.reductions import Reduction, reduction
from .render import format_cells, view_format

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
