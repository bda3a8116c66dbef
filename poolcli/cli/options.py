"""The options the commands share, declared once: their defaults (from the specs), their help, their types (from
:mod:`.types`).

Importable without numpy: ``--help`` is built from here.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, TypeVar

import click
from click.core import ParameterSource

from ..engine.reductions import REDUCTIONS, Reduction
from ..specs import FilterSpec, OutputSpec, PoolSpec, WindowSpec
from .types import (
    CHANNEL_RANGE,
    FORMAT_CHOICE,
    MODE_CHOICE,
    PRECISION_RANGE,
    DelimiterType,
    NormType,
    OutputSizeType,
    PaddingType,
    PairType,
)

F = TypeVar("F", bound=Callable[..., Any])

#: Every command's settings: -h too, and help wrapped at 100 columns.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: The largest --max-pixels: 2**40 cells of float64 would be 8 TiB, more than any machine holds.
MAX_PIXELS_LIMIT = 2**40
#: Slices of a volume shown (the first and the last; the middle ones are said to be skipped).
MAX_SLICES = 6
#: The most worker processes -j starts.
MAX_JOBS = 1024

# the defaults, as the specs state them
WINDOW, FILTER, OUTPUT, SPEC = WindowSpec(), FilterSpec(), OutputSpec(), PoolSpec()


def command(**settings: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A poolcli command (its errors are met at the group's edge, see :mod:`poolcli.cli.main`)."""
    return click.command(context_settings=CONTEXT, **settings)


def given(ctx: click.Context, name: str) -> bool:
    """Whether the option was given (on the command line or in the environment), not left at its default."""
    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def modes_with(test: Callable[[Reduction], bool]) -> str:
    """The modes whose record passes ``test``, as a message lists them: 'max or min'."""
    return " or ".join(r.name for r in REDUCTIONS.values() if test(r))


def _mode_help() -> str:
    """--mode's help, from the table of modes."""
    modes = []
    for r in REDUCTIONS.values():
        also = f" (also {', '.join(r.aliases)})" if r.aliases else ""
        modes.append(f"{r.name}{also}: {r.help}")
    return "Reduction. " + "; ".join(modes) + "."


# --------------------------------------------------------------------------- the shared options


def _apply(decorators: list[Callable[[F], F]]) -> Callable[[F], F]:
    def wrap(fn: F) -> F:
        for d in reversed(decorators):
            fn = d(fn)
        return fn

    return wrap


#: What --dtype takes.
RESULT_TYPES = ["same", "uint8", "uint16", "int16", "int32", "float32", "float64"]


def pooling_options(fn: F) -> F:
    """-k -s -p -m --norm-type -d --ceil-mode --count-pad --output-size --dtype: for pool, batch and explain."""
    return _apply(
        [
            click.option(
                "-k",
                "--size",
                type=PairType(),
                metavar="K|HxW|DxHxW",
                default=WINDOW.size,
                show_default=True,
                help="Pool window K or HxW (DxHxW with --volume). A single row or column with K everywhere is a signal, "
                "pooled along its length (-k 1x2 keeps it 2-D).",
            ),
            click.option(
                "-s",
                "--stride",
                type=PairType(),
                metavar="S|HxW|DxHxW",
                default=WINDOW.stride,
                help="Step between windows.  [default: the size]",
            ),
            click.option(
                "-p",
                "--padding",
                type=PaddingType(),
                metavar="valid|same|P|PxQ|PxQxR",
                default=WINDOW.padding,
                show_default=True,
                help="valid (none), same (Keras: output ceil(n/s)), or P / PxQ cells each side (PyTorch).",
            ),
            click.option("-m", "--mode", type=MODE_CHOICE, default=WINDOW.mode, show_default=True, help=_mode_help()),
            click.option(
                "--norm-type",
                type=NormType(),
                metavar="P",
                default=WINDOW.norm_type,
                help=f"-m {modes_with(lambda r: r.parameter == 'norm_type')}: the p of (sum of x**p) ** (1/p), a number > 0; "
                "inf gives the largest |x| (PyTorch norm_type).",
            ),
            click.option(
                "-d",
                "--dilation",
                type=PairType(),
                metavar="D|HxW|DxHxW",
                default=WINDOW.dilation,
                show_default=True,
                help="Spacing of window cells.",
            ),
            click.option(
                "--ceil-mode",
                is_flag=True,
                default=WINDOW.ceil_mode,
                help="Round the output size up (PyTorch ceil_mode).",
            ),
            click.option(
                "--count-pad/--no-count-pad",
                default=WINDOW.count_pad,
                help="avg with explicit padding: count padded cells in the divisor  [default: count, as PyTorch]",
            ),
            click.option(
                "--output-size",
                type=OutputSizeType(),
                metavar="N|HxW|DxHxW|global",
                default=WINDOW.output_size,
                help="Adaptive pooling to HxW or N (DxHxW on a volume), or 'global' (one value per channel).",
            ),
            click.option(
                "--dtype",
                type=click.Choice(RESULT_TYPES),
                default=WINDOW.dtype,
                help="Type of the result: same (the input's) or a type; integer types get the exact result rounded "
                "half up and saturated.  [default: max/min keep the input's type; avg, sum, lp of integers give float64]",
            ),
        ]
    )(fn)


def filter_options(fn: F) -> F:
    """-c --conv-padding --relu: for pool and batch."""
    return _apply(
        [
            click.option(
                "-c",
                "--conv",
                "conv",
                metavar="FILTER",
                default=None,
                help="Filter before pooling: a name (see 'poolcli filters'), 'a,b,c;d,e,f;g,h,i' (any 2-D size), or a matrix file.",
            ),
            click.option(
                "--conv-padding",
                type=click.Choice(["valid", "same"]),
                default=FILTER.padding,
                show_default=True,
                help="valid: 28x28 becomes 26x26; same: zero padding keeps the size.",
            ),
            click.option(
                "--relu",
                is_flag=True,
                default=FILTER.relu,
                help="max(0, x) before pooling: after the filter, as a CNN layer (without -c: on the input itself).",
            ),
        ]
    )(fn)


def layout_option(fn: F) -> F:
    return click.option(
        "--layout",
        type=click.Choice(["hwc", "chw"], case_sensitive=False),
        default=SPEC.layout,
        help="Axes of a 3-D array (Keras data_format): hwc = (H, W, C), channels last; chw = (C, H, W). "
        "The result is written in the same layout.  [default: hwc]",
    )(fn)


def volume_option(fn: F) -> F:
    return click.option(
        "--volume",
        is_flag=True,
        default=SPEC.volume,
        help="Read INPUT as a volume (D, H, W[, C]): a 3-D or 4-D NPY (--layout chw: C first), a multi-page TIFF, or a "
        "folder of slices (natural order of names). Windows are then K or DxHxW; written as NPY or multi-page TIFF.",
    )(fn)


def channel_options(fn: F) -> F:
    """--gray --channel --layout: for pool and batch."""
    return _apply(
        [
            click.option(
                "--gray",
                is_flag=True,
                default=SPEC.gray,
                help="Convert colour to one channel first (Pillow's L weights).",
            ),
            click.option("--channel", type=CHANNEL_RANGE, default=SPEC.channel, help="Take channel N only."),
            layout_option,
        ]
    )(fn)


def output_options(fn: F) -> F:
    """-t --precision --delimiter --rescale --compress-level --quality: for pool and batch."""
    return _apply(
        [
            click.option(
                "-t", "--to", "to", type=FORMAT_CHOICE, default=None, help="Output format (overrides the extension)."
            ),
            click.option(
                "--precision",
                type=PRECISION_RANGE,
                default=OUTPUT.precision,
                help="Decimals in text output, and in the table pool shows on a terminal [default: exact, shortest round-trip].",
            ),
            click.option(
                "--delimiter",
                type=DelimiterType(),
                default=OUTPUT.delimiter,
                help="Text delimiter (default: comma; tab for .tsv; 'tab', 'space' accepted).",
            ),
            click.option(
                "--rescale",
                type=click.Choice(["auto", "clip", "minmax"]),
                default=OUTPUT.rescale,
                show_default=True,
                help="Images: values that do not fit the pixel type. auto: exact when they fit, else stretched.",
            ),
            click.option(
                "--compress-level",
                type=click.IntRange(0, 9),
                default=OUTPUT.compress_level,
                show_default=True,
                help="PNG zlib level (1 is measured fastest for a small size cost).",
            ),
            click.option(
                "--quality",
                type=click.IntRange(1, 100),
                default=OUTPUT.quality,
                help="JPEG and WebP quality  [default: JPEG 95; WebP lossless]",
            ),
        ]
    )(fn)


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["poolcli.debug"] = True  # meta is shared with the group, whose edge reads it


def debug_option(hidden: bool = False) -> Callable[[F], F]:
    """--debug: full tracebacks instead of one line (read once, at the group's edge; no command takes it)."""
    return click.option(
        "--debug", is_flag=True, expose_value=False, callback=_set_debug, hidden=hidden, help="Show full tracebacks."
    )


def common_options(fn: F) -> F:
    """--max-pixels -q --debug: for every command that reads an input."""
    return _apply(
        [
            click.option(
                "--max-pixels",
                type=click.IntRange(1, MAX_PIXELS_LIMIT),
                default=SPEC.max_pixels,
                show_default=True,
                help="Largest image (pixels), text matrix (cells) or result accepted.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="No notes on stderr."),
            debug_option(),
        ]
    )(fn)


def color_option(
    help: str = "Force colour on or off [default: when the stream is a terminal and NO_COLOR is unset].",
) -> Callable[[F], F]:
    return click.option("--color/--no-color", default=None, help=help)


def input_argument(fn: F) -> F:
    """[INPUT]: a path, or - (standard input, also read when INPUT is left out and stdin is a pipe)."""
    return click.argument("input_path", metavar="[INPUT]", required=False)(fn)


def output_path_option(fn: F) -> F:
    """-o PATH: where the one result goes (format from the extension; - is stdout)."""
    return click.option(
        "-o",
        "--output",
        metavar="PATH",
        default="-",
        show_default=True,
        help="Output path; format from the extension. - is stdout.",
    )(fn)


def resolve_input(input_path: str | None) -> str:
    """The input to read: the path given, else standard input when it is not a terminal."""
    if input_path is not None:
        return input_path
    if sys.stdin is None or sys.stdin.isatty():
        raise click.UsageError(
            "no INPUT given and standard input is a terminal; give a file (image, CSV, NPY) "
            "or pipe data in, e.g. 'cat m.csv | poolcli pool -'"
        )
    return "-"
