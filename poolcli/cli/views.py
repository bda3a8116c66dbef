"""The commands that show rather than write: show, explain, summary, demo and filters."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

import click

from ..engine.reductions import reduction
from .options import (
    MAX_SLICES,
    color_option,
    command,
    common_options,
    debug_option,
    given,
    input_argument,
    layout_option,
    modes_with,
    pooling_options,
    resolve_input,
    volume_option,
)
from .spec import make_spec
from .types import CHANNEL_RANGE, MAX_DIM, PRECISION_RANGE, RegionType, SpanType
from .terminal import colour_on, note, stdout_console

__all__ = ["demo", "explain", "filters", "show", "summary"]

#: The largest input explain walks, each side: every window is drawn.
EXPLAIN_LIMIT = 16


def _one_matrix(
    source: str,
    max_pixels: int,
    channel: int | None,
    layout: str | None,
    quiet: bool,
    volume: bool = False,
    loaded: Any = None,
) -> Any:
    """The input read (or ``loaded`` already), with its channels last, or one channel of it (a single channel
    squeezed); notes said.

    A matrix or image comes back as (H, W[, C]), a 1-D signal as (N,), a volume as (D, H, W[, C]).
    """
    from ..formats.files import read_input
    from ..formats.volumes import read_volume
    from ..pipeline import PoolSpec, select_channels, to_hwc

    if loaded is None:
        loaded = (read_volume if volume else read_input)(source, max_pixels=max_pixels)
    spec = PoolSpec(channel=channel, layout=layout, volume=volume)
    loaded, layout_notes = to_hwc(loaded, spec)
    for said in [*loaded.notes, *layout_notes]:
        note(quiet, said)
    return loaded.name, select_channels(loaded, spec)


def _say(quiet: bool, notes: list[str]) -> None:
    for said in notes:
        note(quiet, said)


@command()
@input_argument
@click.option(
    "--precision",
    type=PRECISION_RANGE,
    default=None,
    help="Decimals [default: the fewest that show every value, up to 4; exponents for tiny or huge values].",
)
@click.option("--channel", type=CHANNEL_RANGE, default=None, help="Show channel N only [default: each channel].")
@layout_option
@click.option(
    "--max-rows",
    type=click.IntRange(2, MAX_DIM),
    default=32,
    show_default=True,
    help="Rows shown before eliding the middle.",
)
@click.option(
    "--max-cols",
    type=click.IntRange(2, MAX_DIM),
    default=None,
    help="Columns shown [default: as many as fit the width].",
)
@volume_option
@click.option(
    "--max-slices",
    type=click.IntRange(2, MAX_DIM),
    default=MAX_SLICES,
    show_default=True,
    help="--volume: slices shown (the first and the last) before skipping the middle.",
)
@color_option()
@common_options
@click.pass_context
def show(
    ctx: click.Context,
    input_path: str | None,
    precision: int | None,
    channel: int | None,
    layout: str | None,
    max_rows: int,
    max_cols: int | None,
    volume: bool,
    max_slices: int,
    color: bool | None,
    max_pixels: int,
    quiet: bool,
) -> None:
    """Show an image or matrix as a heat-map table with row and column indices (a volume slice by slice).

    A large text, NPY or PNG input is read a band of rows at a time: only its corners and statistics are
    kept, and a line under the view says what was counted on the way.
    """
    from ..glimpse import Glimpse
    from ..render import render_glimpse, render_matrix
    from ..render_slices import render_slices
    from ..stream.show import glimpse_input

    if given(ctx, "max_slices") and not volume:
        raise click.UsageError("--max-slices applies to --volume; drop it")
    source = resolve_input(input_path)
    console = stdout_console(color)
    streamed = None
    if not volume:
        glimpse = Glimpse(max_rows=max_rows, max_cols=max_cols, width=console.width)
        said = functools.partial(_say, quiet)
        streamed = glimpse_input(source, glimpse, max_pixels=max_pixels, channel=channel, layout=layout, say=said)
    if isinstance(streamed, str):
        title = os.path.basename(os.path.normpath(streamed))
        console.print(
            render_glimpse(glimpse, title=title, precision=precision, color=colour_on(console), streamed=True)
        )
        return
    name, arr = _one_matrix(source, max_pixels, channel, layout, quiet, volume, loaded=streamed)

    def one(matrix: Any, title: str) -> Any:
        return render_matrix(
            matrix.reshape(1, -1) if matrix.ndim == 1 else matrix,
            title=title,
            precision=precision,
            max_rows=max_rows,
            max_cols=max_cols,
            width=console.width,
            color=colour_on(console),
        )

    title = os.path.basename(os.path.normpath(name))
    views = (
        render_slices(arr, one, title=title, most=max_slices, color=colour_on(console)) if volume else [one(arr, title)]
    )
    for view in views:
        console.print(view)


@command()
@input_argument
@pooling_options
@volume_option
@click.option(
    "--region",
    type=RegionType(),
    default=None,
    help="Explain only these rows and columns (of each slice), e.g. 0:8,0:8.",
)
@click.option("--slices", type=SpanType(), default=None, help="--volume: explain only these slices, e.g. 0:4.")
@click.option("--channel", type=CHANNEL_RANGE, default=None, help="Channel N of a colour input.")
@layout_option
@click.option("--precision", type=PRECISION_RANGE, default=None, help="Decimals shown.")
@click.option("--step", is_flag=True, help="On a terminal, wait for a key between windows (q stops).")
@click.option(
    "--unpool",
    "show_unpool",
    is_flag=True,
    help="max/min: end with each output back at its window's winning cell, 0 elsewhere (PyTorch MaxUnpool2d; "
    "where the gradient of pooling goes).",
)
@color_option()
@common_options
@click.pass_context
def explain(
    ctx: click.Context,
    input_path: str | None,
    region: Any,
    slices: slice | None,
    channel: int | None,
    layout: str | None,
    precision: int | None,
    step: bool,
    show_unpool: bool,
    color: bool | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Walk through pooling a small matrix (up to 16x16), one window at a time.

    Each step shows the input with the window marked, the reduction written
    out, and the output filling up. For max and min, the end shows every
    winning cell, or with --unpool each output back at its winner. A signal
    is walked as its row or column; a volume (up to 16x16x16) slice by
    slice: each step shows every slice its window spans.
    """
    from ..engine import window_cells
    from ..pipeline import apply_pool, check_result_size
    from ..render_explain import explain_steps
    from ..render_slices import explain_volume_steps
    from ..shapes import as_2d_window, spatial_ndim

    spec = make_spec(ctx, params)
    if show_unpool and spec.volume:
        raise click.UsageError(
            "--unpool shows a matrix or a signal; a volume's winners are marked slice by slice without it"
        )
    if show_unpool and not reduction(spec.window.mode).indices:
        raise click.UsageError(
            f"--unpool applies to --mode {modes_with(lambda r: r.indices)}, whose windows have a winning cell; "
            f"not {spec.window.mode}"
        )
    if slices is not None and not spec.volume:
        raise click.UsageError("--slices applies to --volume; drop it")
    name, arr = _one_matrix(resolve_input(input_path), spec.max_pixels, channel, layout, quiet, spec.volume)
    spatial = 3 if spec.volume else min(arr.ndim, 2)
    if arr.ndim > spatial:
        raise click.UsageError(f"{name} has {arr.shape[-1]} channels; explain walks one: add --channel N")
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)  # a 1-D signal is walked as a row
    full_depth = arr.shape[0]
    origin = (0,) * arr.ndim
    parts = ((slices or slice(None),) if spec.volume else ()) + (tuple(region) if region is not None else ())
    if parts:
        origin = tuple(sl.indices(n)[0] for sl, n in zip(parts, arr.shape)) + origin[len(parts) :]
        arr = arr[parts]
        if arr.size == 0:
            raise click.UsageError(f"{'--slices and ' if slices else ''}--region select no cells of the input")
    if max(arr.shape) > EXPLAIN_LIMIT:
        most = "x".join([str(EXPLAIN_LIMIT)] * arr.ndim)
        raise click.UsageError(
            f"{name} is {'x'.join(map(str, arr.shape))}; explain walks every window, so it takes up to {most}: "
            f"pick a part with --region{', --slices' if spec.volume else ''}, e.g. --region 0:8,0:8"
        )
    ndim = spatial_ndim(arr.shape, spec)
    check_result_size(arr.shape, spec, name, ndim)
    window = spec.window
    picks = reduction(window.mode).indices
    out, idx = apply_pool(arr, window, indices=True, ndim=ndim) if picks else (apply_pool(arr, window, ndim=ndim), None)
    console = stdout_console(color)
    colour = colour_on(console)
    said: dict[str, Any] = dict(norm_type=window.norm_type, precision=precision, color=colour)
    if ndim == 3:
        depths, rows, cols = window_cells(arr.shape, ndim=3, **window.cell_kwargs())
        steps = explain_volume_steps(
            arr, out, depths, rows, cols, window.mode, **said, origin=origin, full_depth=full_depth
        )
    else:
        walked = as_2d_window(window, row=arr.shape[0] == 1) if ndim == 1 else window
        rows, cols = window_cells(arr.shape, **walked.cell_kwargs())
        steps = explain_steps(arr, out, rows, cols, window.mode, **said, origin=origin)
    interactive = step and sys.stdin.isatty() and sys.stdout.isatty()
    for n, view in enumerate(steps):
        if n and interactive:
            click.echo("press a key for the next window, q to stop", err=True)
            if click.getchar() in ("q", "Q", "\x03"):
                return
        console.print(view)
    if idx is not None and show_unpool:
        from ..engine import unpool2d
        from ..render_explain import render_unpooled

        unpooled = unpool2d(out, idx, arr.shape)
        console.print(
            render_unpooled(
                out, idx, unpooled, window.mode, precision=precision, color=colour, origin=origin, ndim=ndim
            )
        )
    elif idx is not None:
        title = f"every window's {window.mode}, marked"
        for view in _winners(arr, idx, ndim, precision, colour, title, origin[0], full_depth):
            console.print(view)


def _winners(
    arr: Any, idx: Any, ndim: int, precision: int | None, colour: bool, title: str, first: int, full_depth: int
) -> Any:
    """The input with every chosen cell marked: a volume slice by slice (those that hold one, numbered from ``first``)."""
    from ..render_explain import render_winners
    from ..render_slices import slice_title

    if ndim != 3:
        return [render_winners(arr, idx, precision=precision, color=colour, title=title)]
    depth, h, w = arr.shape
    flat = idx.ravel()
    return [
        render_winners(
            arr[d],
            flat[flat // (h * w) == d] - d * h * w,
            precision=precision,
            color=colour,
            title=slice_title(title, first + d, full_depth),
        )
        for d in range(depth)
        if (flat // (h * w) == d).any()
    ]


@command()
@click.argument("layers", nargs=-1, required=True)
@color_option()
@debug_option()
def summary(layers: tuple[str, ...], color: bool | None) -> None:
    """Output shapes and parameter counts through a stack of layers, like Keras model.summary().

    \b
    One layer per argument, or several separated by ';':
      input HxWxC               the input shape (first); NxC a signal, DxHxWxC a volume
      dense N                   N units on the last axis
      conv N KxK [same|valid] [stride=S] [dilation=D] [nobias]
      maxpool K [stride=S] [same|valid|padding=P] [dilation=D] [ceil]
      avgpool K ...             as maxpool
      lppool K norm=P [stride=S] [ceil]              PyTorch LPPool
      unpool K [stride=S] [padding=P] [output=HxW]   PyTorch MaxUnpool
      fractionalmaxpool K ratio=R|output=HxW         PyTorch FractionalMaxPool
      globalmaxpool  globalavgpool  flatten  relu  dropout  batchnorm
    Pools take 1, 2 or 3 axes as their input has, or as named: maxpool1d, avgpool3d, MaxPooling3D ...

    \b
    Example (the tutorial's model):
      poolcli summary "input 20x20x3; dense 16; conv 32 3x3 same; maxpool 2 stride=2 valid; conv 64 5x5 same; flatten; dense 2"
    """
    from ..layers import LayerError, summarise
    from ..render import render_summary

    try:
        input_shape, rows = summarise(layers)
    except LayerError as exc:
        raise click.UsageError(str(exc)) from None
    stdout_console(color).print(render_summary(rows, input_shape))


@command()
@click.option("--steps", type=click.IntRange(0, MAX_DIM), default=4, show_default=True, help="Explain steps to show.")
@color_option()
@debug_option(hidden=True)
def demo(steps: int, color: bool | None) -> None:
    """The tutorial's worked example: a 26x26 convolution output max-pooled 2x2, stride 2, to 13x13."""
    from importlib.resources import files

    import numpy as np

    from ..engine import pool2d, window_cells
    from ..render import render_matrix
    from ..render_explain import explain_steps
    from ..formats.textread import parse_matrix

    data = files("poolcli") / "data"
    conv, _ = parse_matrix(data.joinpath("seven_conv_26x26.txt").read_bytes(), "seven_conv_26x26.txt")
    expected, _ = parse_matrix(data.joinpath("seven_maxpool_13x13.txt").read_bytes(), "seven_maxpool_13x13.txt")
    console = stdout_console(color)
    colour = colour_on(console)

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    say("The tutorial's example: a 28x28 image of a 7, convolved with a 3x3 filter, gives this 26x26 output.")
    console.print(render_matrix(conv, title="convolution output", width=console.width, color=colour))
    pooled = pool2d(conv, 2, 2)
    say("")
    say("Max pooling with a 2x2 window and stride 2 keeps the largest value of each 2x2 block:")
    say("  poolcli pool FILE -k 2 -s 2     (sample_images/seven_conv_26x26.txt in the repository holds this matrix)")
    console.print(render_matrix(pooled, title="max pooled", width=console.width, color=colour))
    same = bool(np.array_equal(pooled, expected))
    say(f"Every one of the 169 cells equals the tutorial's 13x13 table: {'yes' if same else 'NO'}.")
    if steps:
        part = conv[6:10, 0:8]
        shown = min(steps, (part.shape[0] // 2) * (part.shape[1] // 2))
        say("")
        say(
            f"The first {'window' if shown == 1 else f'{shown} windows'} of rows 6..9, columns 0..7 "
            f"(poolcli explain FILE --region 6:10,0:8):"
        )
        rows, cols = window_cells(part.shape, 2, 2)
        views = explain_steps(part, pool2d(part, 2, 2), rows, cols, "max", color=colour, origin=(6, 0))
        for n, view in enumerate(views):
            if n >= steps:
                break
            console.print(view)
    if not same:
        raise click.ClickException("the pooled table differs from the tutorial's")


@command()
@debug_option(hidden=True)
def filters() -> None:
    """List the named 3x3 filters and their weights (for --conv)."""
    from ..filters import FILTER_ALIASES, FILTERS
    from ..render import render_filters

    stdout_console().print(render_filters(FILTERS, FILTER_ALIASES))
