"""`poolcli pool`: one input, pooled and written (or shown on a terminal)."""

from __future__ import annotations

import sys
from typing import Any

import click

from .fractional import fractional_options, fractional_spec
from .options import (
    MAX_SLICES,
    channel_options,
    color_option,
    command,
    common_options,
    filter_options,
    given,
    input_argument,
    output_options,
    output_path_option,
    pooling_options,
    resolve_input,
    volume_option,
)
from .spec import check_output_options, make_spec
from .terminal import colour_on, note, stderr_console, stdout_console

__all__ = ["pool"]


@command()
@input_argument
@output_path_option
@pooling_options
@fractional_options
@volume_option
@click.option(
    "--indices",
    "indices_path",
    default=None,
    metavar="PATH",
    help="max/min: also write the chosen cells' flat indices.",
)
@filter_options
@channel_options
@output_options
@click.option(
    "--show", is_flag=True, help="Also print the input (after the filter) and the result as matrices on stderr."
)
@color_option("Colour in matrix views [default: when the stream is a terminal].")
@common_options
@click.pass_context
def pool(
    ctx: click.Context,
    input_path: str | None,
    output: str,
    indices_path: str | None,
    to: str | None,
    show: bool,
    color: bool | None,
    quiet: bool,
    **params: Any,
) -> None:
    """Pool an image or a matrix (CSV, TSV, whitespace text, NPY, JSON) and write the result.

    INPUT is a path or - for standard input (also read when INPUT is omitted and
    stdin is a pipe). Images are recognised by content. The result goes to
    -o (format from the extension, or --to), else to stdout as CSV; on a
    terminal it is shown as a table.

    A 1-D NPY, or a single row or column whose window options are all single
    numbers, is a signal: -k 4 pools along it and the result keeps its
    orientation (-k 1x4 pools the row as a 2-D matrix). --volume reads a
    volume (a 3-D/4-D NPY, a multi-page TIFF or a folder of slices), pooled
    by K or DxHxW windows and written as NPY or a multi-page TIFF.
    """
    from ..pipeline import plan_outputs, run

    drawn: list[str] = []  # a seed drawn is said once the run has worked: a refusal stays one line
    spec = fractional_spec(ctx, make_spec(ctx, params), params, drawn.append)
    source = resolve_input(input_path)
    plan = plan_outputs(source, output, spec, to=to, indices=indices_path, terminal=sys.stdout.isatty())
    check_output_options(ctx, plan.formats)
    if given(ctx, "color") and not show and plan.destination is not None and (output != "-" or to is not None):
        raise click.UsageError("--color/--no-color applies to --show and to the table shown on a terminal; drop it")

    title = "input" + (" (filtered)" if spec.filter.kernel is not None else "")

    def show_matrices(pooled: Any, values: Any) -> None:
        console = stderr_console(color)
        for matrix, name in ((pooled, title), (values, "output")):
            for view in matrix_views(matrix, name, console, volume=spec.volume, color=color):
                console.print(view)

    glimpses: dict[str, Any] = {}  # a streamed run's: its bands seen on the way, shown at the end

    def watch(which: str, rows: Any) -> None:
        if which not in glimpses:
            from ..glimpse import Glimpse

            glimpses[which] = Glimpse(width=stderr_console(color).width)
        glimpses[which].add(rows)

    result = run(
        source,
        plan.destination,
        spec,
        fmt=plan.fmt,
        indices=plan.indices,
        indices_fmt=plan.indices_fmt,
        on_note=lambda n: note(quiet, n),
        on_pooled=show_matrices if show else None,
        keep_values=plan.destination is None,
        on_bands=watch if show else None,
    )
    if glimpses:
        from ..render import render_glimpse

        console = stderr_console(color)
        for which, name in (("pooled", title), ("result", "output")):
            if which in glimpses:
                console.print(render_glimpse(glimpses[which], title=name, color=colour_on(console), streamed=True))
    for said in drawn:
        note(quiet, said)
    if plan.destination is None:  # a terminal: the result is shown (rich and the views load only then)
        console = stdout_console(color)
        for view in matrix_views(
            result.values, "result", console, volume=spec.volume, color=color, precision=spec.output.precision
        ):
            console.print(view)


def matrix_views(
    values: Any, title: str, console: Any, *, volume: bool, color: bool | None, precision: int | None = None
) -> Any:
    """The heat-map views of a result or input: one matrix (a 1-D signal as a row), or a volume slice by slice."""
    from ..render import render_matrix
    from ..render_slices import render_slices

    def one(matrix: Any, name: str) -> Any:
        matrix = matrix.reshape(1, -1) if matrix.ndim == 1 else matrix
        return render_matrix(matrix, title=name, precision=precision, width=console.width, color=colour_on(console))

    return (
        render_slices(values, one, most=MAX_SLICES, title=title, color=colour_on(console))
        if volume
        else [one(values, title)]
    )
