"""The options the commands share, declared once: their types, their defaults (from the specs) and their help.

Importable without numpy: ``--help`` is built from here.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, TypeVar

import click
from click.core import ParameterSource

from .. import formats
from ..engine.reductions import MODE_NAMES, REDUCTIONS, Reduction
from ..specs import FilterSpec, OutputSpec, PoolSpec, WindowSpec

F = TypeVar("F", bound=Callable[..., Any])

#: Every command's settings: -h too, and help wrapped at 100 columns.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: The largest size, stride, dilation, padding or output side accepted: int32's top, the limit of PyTorch's and
#: TensorFlow's own arguments and far past any image side, so that no arithmetic on it can overflow.
MAX_DIM = 2**31 - 1
#: The largest --max-pixels: 2**40 cells of float64 would be 8 TiB, more than any machine holds.
MAX_PIXELS_LIMIT = 2**40
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


# --------------------------------------------------------------------------- types


class PairType(click.ParamType):
    """K or HxW: an int in minimum..MAX_DIM, or a pair of them."""

    name = "K|HxW"

    def __init__(self, minimum: int = 1):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, (int, tuple)):
            return value
        try:
            nums = formats.split_dims(value)
        except ValueError:
            nums = ()
        if len(nums) not in (1, 2):
            self.fail(f"{value!r} is not K or HxW (for example 2 or 3x2)", param, ctx)
        if min(nums) < self.minimum:
            self.fail(f"must be >= {self.minimum}, got {value}", param, ctx)
        if max(nums) > MAX_DIM:
            self.fail(f"must be <= {MAX_DIM}, got {value}", param, ctx)
        return nums[0] if len(nums) == 1 else (nums[0], nums[1])


class PaddingType(click.ParamType):
    name = "valid|same|P|PxQ"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        if value.lower() in ("valid", "same"):
            return value.lower()
        try:
            parts = len(formats.split_dims(value))
        except ValueError:
            parts = 0
        if parts not in (1, 2):
            self.fail(f"{value!r} is not valid, same, P or PxQ", param, ctx)
        return PairType(minimum=0).convert(value, param, ctx)


class OutputSizeType(click.ParamType):
    name = "HxW|N|global"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.lower() == "global":
            return "global"
        return PairType().convert(value, param, ctx)


class DelimiterType(click.ParamType):
    name = "D"

    def convert(self, value, param, ctx):
        from ..formats.textwrite import check_delimiter

        names = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";"}
        value = names.get(value.lower(), value) if isinstance(value, str) else value
        try:
            return check_delimiter(value)
        except formats.OutputError as exc:
            self.fail(str(exc), param, ctx)


class NormType(click.ParamType):
    """lp's p: a number > 0, or inf."""

    name = "P"

    def convert(self, value, param, ctx):
        try:
            p = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not p > 0:
            self.fail(f"must be a number > 0 (inf for the largest |x|), got {value}", param, ctx)
        return p


class RegionType(click.ParamType):
    """R0:R1,C0:C1 - a block of rows and columns (end exclusive, as in Python)."""

    name = "R0:R1,C0:C1"

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        try:
            rows, cols = value.split(",")
            r0, r1 = (int(v) if v else None for v in rows.split(":"))
            c0, c1 = (int(v) if v else None for v in cols.split(":"))
        except ValueError:
            self.fail(f"{value!r} is not R0:R1,C0:C1 (for example 0:8,0:8)", param, ctx)
        return (slice(r0, r1), slice(c0, c1))


class ShardType(click.ParamType):
    name = "I/N"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            i, n = (int(v) for v in str(value).split("/"))
        except ValueError:
            self.fail(f"{value!r} is not I/N (for example 0/4)", param, ctx)
        if n < 1 or not 0 <= i < n:
            self.fail(f"{value!r}: I must be 0..N-1 (counted from 0, as a Kubernetes completion index)", param, ctx)
        return (i, n)


CHANNEL_RANGE = click.IntRange(0, MAX_DIM)
PRECISION_RANGE = click.IntRange(0, 17)
MODE_CHOICE = click.Choice(list(MODE_NAMES), case_sensitive=False)
FORMAT_CHOICE = click.Choice(list(formats.OUTPUT_FORMATS), case_sensitive=False)


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


def pooling_options(fn: F) -> F:
    """-k -s -p -m --norm-type -d --ceil-mode --count-pad --output-size: for pool, batch and explain."""
    return _apply(
        [
            click.option(
                "-k",
                "--size",
                type=PairType(),
                metavar="K|HxW",
                default=WINDOW.size,
                show_default=True,
                help="Pool window K or HxW.",
            ),
            click.option(
                "-s",
                "--stride",
                type=PairType(),
                metavar="S|HxW",
                default=WINDOW.stride,
                help="Step between windows.  [default: the size]",
            ),
            click.option(
                "-p",
                "--padding",
                type=PaddingType(),
                metavar="valid|same|P|PxQ",
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
                metavar="D|HxW",
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
                metavar="HxW|N|global",
                default=WINDOW.output_size,
                help="Adaptive pooling to HxW or N, or 'global' (one value per channel).",
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
