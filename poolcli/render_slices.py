"""A volume as rich renderables, slice by slice: each slice a view of its own, titled "slice d=3 of 8".

Kept apart from :mod:`poolcli.render`, whose views of one matrix it wraps. Returns renderables, never prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from rich.console import RenderableType
from rich.text import Text

__all__ = ["MAX_SLICES", "pick_slices", "render_slices", "slice_title"]

#: Slices shown of a deeper volume: the first half and the last half of them, the rest said to be skipped.
MAX_SLICES = 6


def pick_slices(depth: int, most: int = MAX_SLICES) -> tuple[list[int], int | None]:
    """The slices to show of ``depth`` (the first and last when there are more than ``most``), and where the gap goes.

    >>> pick_slices(4), pick_slices(10, 4)
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
    title: str = "",
    most: int = MAX_SLICES,
    color: bool = True,
) -> Iterator[RenderableType]:
    """Yield ``render_one(slice, its title)`` for the slices of ``volume`` (D, H, W[, C]) shown, and a line for the gap."""
    depth = volume.shape[0]
    shown, gap = pick_slices(depth, most)
    for pos, d in enumerate(shown):
        if gap is not None and pos == gap:
            skipped = d - shown[pos - 1] - 1
            yield Text(
                f"... {skipped} slices skipped (d={shown[pos - 1] + 1}..{d - 1})",
                style="dim" if color else "",
            )
        yield render_one(volume[d], slice_title(title, d, depth))
