"""`poolcli pool`: one input, pooled and written (or shown on a terminal)."""

from __future__ import annotations

import sys
from typing import Any

import click

from .options import (
    channel_options,
    color_option,
    command,
    common_options,
    filter_options,
    given,
    input_argument,
    output_options,
    pooling_options,
    resolve_input,
)
from .spec import check_output_options, make_spec
from .terminal import colour_on, note, stderr_console, stdout_console

__all__ = ["pool"]


@command()
@input_argument
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    default="-",
    show_default=True,
    help="Output path; format from the extension. - is stdout.",
)
@pooling_options
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
    """
    from ..pipeline import plan_outputs, run

    spec = make_spec(ctx, params)
    source = resolve_input(input_path)
    plan = plan_outputs(source, output, spec, to=to, indices=indices_path, terminal=sys.stdout.isatty())
    check_output_options(ctx, plan.formats)
    if given(ctx, "color") and not show and plan.destination is not None and (output != "-" or to is not None):
        raise click.UsageError("--color/--no-color applies to --show and to the table shown on a terminal; drop it")

    def show_matrices(pooled: Any, values: Any) -> None:
        from ..render import render_matrix

        console = stderr_console(color)
        title = "input" + (" (filtered)" if spec.filter.kernel is not None else "")
        console.print(render_matrix(pooled, title=title, width=console.width, color=colour_on(console)))
        console.print(render_matrix(values, title="output", width=console.width, color=colour_on(console)))

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
    )
    if plan.destination is None:  # a terminal: the result is shown (rich and the views load only then)
        from ..render import render_matrix

        console = stdout_console(color)
        console.print(
            render_matrix(
                result.values,
                title="result",
                precision=spec.output.precision,
                width=console.width,
                color=colour_on(console),
            )
        )
