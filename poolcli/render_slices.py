"""A volume as rich renderables, slice by slice: each slice a view of its own, titled "slice d=3 of 8".

Kept apart from :mod:`poolcli.render`, whose views of one matrix it wraps. Returns renderables, never prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from .engine.reductions import reduction

__all__ = ["explain_volume_steps", "pick_slices", "render_slices", "slice_title"]


def pick_slices(depth: int, most: int) -> tuple[list[int], int | None]:
    """The slices to show of ``depth`` (the first and last when there are more than ``most``), and where the gap goes.

    >>> pick_slices(4, 6), pick_slices(10, 4)
    (([0, 1, 2, 3], None), ([0, 1, 8, 9], 2))
    """
    if depth <= most:
        return list(range(depth)), None
    head = (most + 1) // 2
    return list(range(head)) + list(range(depth - (most - head), depth)), head


def slice_title(title: str, d: int, depth: int) -> str:
    """'input slice d=3 of 8': slices are counted from 0, as rows and columns are."""
    return f"{title} slice d={d} of {depth}".strip()


def render_slices(
    volume: np.ndarray,
    render_one: Callable[[np.ndarray, str], RenderableType],
    *,
    most: int,
    title: str = "",
    color: bool = True,
) -> Iterator[RenderableType]:
    """Yield ``render_one(slice, its title)`` for the slices of ``volume`` (D, H, W[, C]) shown, and a line for the gap."""
    depth = volume.shape[0]
    shown, gap = pick_slices(depth, most)
    shape = "x".join(map(str, volume.shape[:3])) + (f" x {volume.shape[3]} channels" if volume.ndim == 4 else "")
    yield Text(f"{title}  volume {shape} {volume.dtype}".strip(), style="bold" if color else "")
    for pos, d in enumerate(shown):
        if gap is not None and pos == gap:
            skipped = d - shown[pos - 1] - 1
            yield Text(
                f"... {skipped} slices skipped (d={shown[pos - 1] + 1}..{d - 1})",
                style="dim" if color else "",
            )
        yield render_one(volume[d], slice_title(title, d, depth))


def explain_volume_steps(
    x: np.ndarray,
    out: np.ndarray,
    depths: Any,
    rows: Any,
    cols: Any,
    mode: str,
    *,
    norm_type: float | None = None,
    precision: int | None = None,
    color: bool = True,
    origin: tuple[int, int, int] = (0, 0, 0),
    full_depth: int | None = None,
) -> Iterator[RenderableType]:
    """Yield one renderable per 3-D window: each slice it spans with its cells marked, the reduction, the output slice.

    ``depths``/``rows``/``cols`` are :func:`poolcli.window_cells` lists of a 3-D pool (``ndim=3``); ``out`` is
    the engine's result, whose cells fill the output slice by slice as the walk goes. ``origin`` and
    ``full_depth`` place a part of a larger volume in it (slices keep their numbers).
    """
    from .render import view_format
    from .render_explain import WINDOW_COLOURS, _expression, _fmt, _matrix_grid

    rec = reduction(mode)
    depth, h, w = x.shape
    od, oh, ow = out.shape
    dec, out_dec = view_format(x, precision), view_format(out, precision)
    in_text = [{(r, c): _fmt(float(x[d, r, c]), dec) for r in range(h) for c in range(w)} for d in range(depth)]
    row_ids = sorted({i for win in rows for i, _ in win} | set(range(h)))
    col_ids = sorted({j for win in cols for j, _ in win} | set(range(w)))
    in_w = max(
        [len(t) for part in in_text for t in part.values()]
        + [
            len(str(v + o))
            for v, o in (
                (row_ids[-1], origin[1]),
                (col_ids[-1], origin[2]),
                (row_ids[0], origin[1]),
                (col_ids[0], origin[2]),
            )
        ]
    )
    out_w = max([len(_fmt(float(v), out_dec)) for v in out.ravel()] + [len(str(max(oh, ow) - 1))])
    filled: list[dict[tuple[int, int], str]] = [{} for _ in range(od)]
    total = od * oh * ow
    cells = ((k, i, j) for k in range(od) for i in range(oh) for j in range(ow))
    for step, (k, i, j) in enumerate(cells, 1):
        colour = WINDOW_COLOURS[(step - 1) % len(WINDOW_COLOURS)]
        win = [(d, dc and rc and cc, r, c) for d, dc in depths[k] for r, rc in rows[i] for c, cc in cols[j]]
        inside = [(d, r, c) for d, _, r, c in win if 0 <= d < depth and 0 <= r < h and 0 <= c < w]
        real = [float(x[d, r, c]) for d, r, c in inside]
        pads = [counted for d, counted, r, c in win if not (0 <= d < depth and 0 <= r < h and 0 <= c < w)]
        filled[k][(i, j)] = _fmt(float(out[k, i, j]), out_dec)
        expr = _expression(rec, norm_type, real, sum(pads), len(pads), float(out[k, i, j]), dec, out_dec)
        d_lo, d_hi = depths[k][0][0] + origin[0], depths[k][-1][0] + origin[0]
        r_lo, r_hi = rows[i][0][0] + origin[1], rows[i][-1][0] + origin[1]
        c_lo, c_hi = cols[j][0][0] + origin[2], cols[j][-1][0] + origin[2]
        head = Text(
            f"window {step} of {total}: slices d={d_lo}..{d_hi}, rows {r_lo}..{r_hi}, columns {c_lo}..{c_hi} "
            f"-> output [{k}, {i}, {j}]",
            style="bold" if color else "",
        )
        marks = {(r, c): colour for r, _ in rows[i] for c, _ in cols[j]}
        side = Table.grid(padding=(0, 4))
        grids: list[RenderableType] = []
        for d, _ in depths[k]:
            title = (
                slice_title("input", d + origin[0], full_depth or depth)
                if 0 <= d < depth
                else f"d={d + origin[0]}: padding"
            )
            texts = in_text[d] if 0 <= d < depth else {}
            grids.append(_matrix_grid(None, row_ids, col_ids, texts, marks, in_w, color, title, origin[1:]))
        grids.append(
            _matrix_grid(
                None,
                list(range(oh)),
                list(range(ow)),
                dict(filled[k]),
                {(i, j): colour},
                out_w,
                color,
                slice_title("output", k, od),
            )
        )
        side.add_row(*grids)
        yield Group(head, side, Text(expr, style=Style(color=colour, bold=True) if color else ""), Text(""))
