"""The `poolcli` commands: parse the options, then io -> pipeline -> io/render. Nothing else.

Errors are handled once, at the edge (:class:`Command`): a library ValueError or
OSError becomes one line on stderr and exit 1, bad usage exits 2, Ctrl-C 130, a
closed pipe ends quietly. ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Optional

import click
from click.core import ParameterSource

from . import __version__, formats
from .engine.reductions import MODE_NAMES, REDUCTIONS, Reduction, reduction
from .engine.windows import DEFAULT_SIZE

if TYPE_CHECKING:  # pragma: no cover
    from .pipeline import PoolSpec


class _OnFirstUse:
    """A module imported when first used: io brings numpy and Pillow, which `--help` does not need."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        import importlib

        return getattr(importlib.import_module(self._name, __package__), attr)


io = _OnFirstUse(".io")

CONTEXT = dict(help_option_names=["-h", "--help"], max_content_width=100)


# --------------------------------------------------------------------------- option types


#: The largest size, stride, dilation, padding or output side accepted: int32's top, the limit of PyTorch's and
#: TensorFlow's own arguments and far past any image side, so that no arithmetic on it can overflow.
MAX_DIM = 2**31 - 1
#: The largest --max-pixels: 2**40 cells of float64 would be 8 TiB, more than any machine holds.
MAX_PIXELS_LIMIT = 2**40
#: The most worker processes -j starts.
MAX_JOBS = 1024


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
        names = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";"}
        value = names.get(value.lower(), value) if isinstance(value, str) else value
        try:
            return io.check_delimiter(value)
        except io.OutputError as exc:
            self.fail(str(exc), param, ctx)


CHANNEL_RANGE = click.IntRange(0, MAX_DIM)
MODE_CHOICE = click.Choice(list(MODE_NAMES), case_sensitive=False)
FORMAT_CHOICE = click.Choice(list(formats.OUTPUT_FORMATS), case_sensitive=False)


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


def _mode_help() -> str:
    """--mode's help, from the table of modes."""
    modes = []
    for r in REDUCTIONS.values():
        also = f" (also {', '.join(r.aliases)})" if r.aliases else ""
        modes.append(f"{r.name}{also}: {r.help}")
    return "Reduction. " + "; ".join(modes) + "."


#: The option that sets each window argument, as messages name it.
WINDOW_FLAGS = {
    "size": "-k", "stride": "-s", "padding": "-p", "dilation": "-d", "ceil_mode": "--ceil-mode",
    "count_pad": "--count-pad/--no-count-pad", "output_size": "--output-size",
}


def _modes_with(test) -> str:
    """The modes whose record passes ``test``, as a message lists them: 'max or min'."""
    return " or ".join(r.name for r in REDUCTIONS.values() if test(r))


# --------------------------------------------------------------------------- errors at the edge


class Command(click.Command):
    """A command whose library errors become one line on stderr (or a traceback with --debug)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            if ctx.params.get("debug"):
                raise
            click.echo("poolcli: interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            _quiet_broken_pipe()
            ctx.exit(0)
        except (ValueError, OSError, MemoryError) as exc:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(_message(exc)) from None


def _message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory; try a smaller input, or a lower --max-pixels to refuse such inputs early"
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror.lower()}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _quiet_broken_pipe() -> None:
    # the reader went away (| head): stop writing, and keep Python's exit-time flush quiet
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class Group(click.Group):
    """The poolcli group: every error, usage errors included, is one line on stderr."""

    command_class = Command

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        # Ctrl-C and SIGTERM end the command at once: its temporary files are removed, exit code 130
        # (batch installs its own handlers while it runs, to stop its workers and print the summary)
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {sig: signal.signal(sig, _abort_now) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `poolcli`: the help, as click shows it
                click.echo(exc.format_message(), err=True)
                sys.exit(exc.exit_code)
            if exc.ctx is not None:
                where = exc.ctx.command_path
            else:  # an option's missing value is found before the command's context exists
                argv = list(args) if args is not None else sys.argv[1:]
                sub = f" {argv[0]}" if argv and argv[0] in self.commands else ""
                where = f"{prog_name or 'poolcli'}{sub}"
            click.echo(f"poolcli: error: {exc.format_message()} (see '{where} --help')", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"poolcli: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("poolcli: interrupted", err=True)
            sys.exit(130)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        sys.exit(code if isinstance(code, int) else 0)


def _abort_now(signum, frame):
    # Not a KeyboardInterrupt: raised at an arbitrary point (inside an import, a __set_name__, a finally)
    # it can come out as another exception or a traceback. Remove what is half written, say so, leave.
    from .io import remove_temporaries

    remove_temporaries()
    try:
        os.write(2, b"poolcli: interrupted\n")
    finally:
        os._exit(130)


# --------------------------------------------------------------------------- shared options


def _apply(decorators):
    def wrap(fn):
        for d in reversed(decorators):
            fn = d(fn)
        return fn

    return wrap


def pooling_options(fn):
    """-k -s -p -m --norm-type -d --ceil-mode --count-pad --output-size: declared once for pool, batch and explain."""
    return _apply(
        [
            click.option("-k", "--size", type=PairType(), metavar="K|HxW", default=DEFAULT_SIZE, show_default=True, help="Pool window K or HxW."),
            click.option("-s", "--stride", type=PairType(), metavar="S|HxW", default=None, help="Step between windows.  [default: the size]"),
            click.option(
                "-p", "--padding", type=PaddingType(), metavar="valid|same|P|PxQ", default="valid", show_default=True,
                help="valid (none), same (Keras: output ceil(n/s)), or P / PxQ cells each side (PyTorch).",
            ),
            click.option("-m", "--mode", type=MODE_CHOICE, default="max", show_default=True, help=_mode_help()),
            click.option(
                "--norm-type", type=NormType(), metavar="P", default=None,
                help=f"-m {_modes_with(lambda r: r.parameter == 'norm_type')}: the p of (sum of x**p) ** (1/p), a number > 0; "
                "inf gives the largest |x| (PyTorch norm_type).",
            ),
            click.option("-d", "--dilation", type=PairType(), metavar="D|HxW", default=1, show_default=True, help="Spacing of window cells."),
            click.option("--ceil-mode", is_flag=True, help="Round the output size up (PyTorch ceil_mode)."),
            click.option(
                "--count-pad/--no-count-pad", default=None,
                help="avg with explicit padding: count padded cells in the divisor  [default: count, as PyTorch]",
            ),
            click.option(
                "--output-size", type=OutputSizeType(), metavar="HxW|N|global", default=None,
                help="Adaptive pooling to HxW or N, or 'global' (one value per channel).",
            ),
        ]
    )(fn)


def filter_options(fn):
    return _apply(
        [
            click.option(
                "-c", "--conv", "conv", metavar="FILTER", default=None,
                help="Filter before pooling: a name (see 'poolcli filters'), 'a,b,c;d,e,f;g,h,i' (any 2-D size), or a matrix file.",
            ),
            click.option(
                "--conv-padding", type=click.Choice(["valid", "same"]), default="valid", show_default=True,
                help="valid: 28x28 becomes 26x26; same: zero padding keeps the size.",
            ),
            click.option(
                "--relu", is_flag=True,
                help="max(0, x) before pooling: after the filter, as a CNN layer (without -c: on the input itself).",
            ),
        ]
    )(fn)


def channel_options(fn):
    return _apply(
        [
            click.option("--gray", is_flag=True, help="Convert colour to one channel first (Pillow's L weights)."),
            click.option("--channel", type=CHANNEL_RANGE, default=None, help="Take channel N only."),
            layout_option,
        ]
    )(fn)


def layout_option(fn):
    return click.option(
        "--layout", type=click.Choice(["hwc", "chw"], case_sensitive=False), default=None,
        help="Axes of a 3-D array (Keras data_format): hwc = (H, W, C), channels last; chw = (C, H, W). "
        "The result is written in the same layout.  [default: hwc]",
    )(fn)


def output_options(fn):
    return _apply(
        [
            click.option("-t", "--to", "to", type=FORMAT_CHOICE, default=None, help="Output format (overrides the extension)."),
            click.option("--precision", type=click.IntRange(0, 17), default=None, help="Decimals in text output, and in the table pool shows on a terminal [default: exact, shortest round-trip]."),
            click.option("--delimiter", type=DelimiterType(), default=None, help="Text delimiter (default: comma; tab for .tsv; 'tab', 'space' accepted)."),
            click.option(
                "--rescale", type=click.Choice(["auto", "clip", "minmax"]), default="auto", show_default=True,
                help="Images: values that do not fit the pixel type. auto: exact when they fit, else stretched.",
            ),
            click.option(
                "--compress-level", type=click.IntRange(0, 9), default=1, show_default=True,
                help="PNG zlib level (1 is measured fastest for a small size cost).",
            ),
            click.option(
                "--quality", type=click.IntRange(1, 100), default=None,
                help="JPEG and WebP quality  [default: JPEG 95; WebP lossless]",
            ),
        ]
    )(fn)


def common_options(fn):
    return _apply(
        [
            click.option(
                "--max-pixels", type=click.IntRange(1, MAX_PIXELS_LIMIT), default=formats.DEFAULT_MAX_PIXELS, show_default=True,
                help="Largest image (pixels), text matrix (cells) or result accepted.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="No notes on stderr."),
            click.option("--debug", is_flag=True, help="Show full tracebacks."),
        ]
    )(fn)


def given(ctx: click.Context, name: str) -> bool:
    """Whether the option was given (on the command line or in the environment), not left at its default."""
    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _both(value):
    return value if isinstance(value, tuple) else (value, value)


def make_spec(ctx: click.Context, params: dict) -> "PoolSpec":
    """Build the PoolSpec from parsed options, refusing options that contradict each other or would do nothing."""
    from .pipeline import PoolSpec

    rec = reduction(params.get("mode", "max"))
    _check_mode_options(ctx, params, rec)
    _check_windows(ctx, params, rec)
    conv = params.get("conv")
    if conv is not None and not conv.strip():
        raise click.BadParameter(
            "is empty; give a filter name (see 'poolcli filters'), weights such as '0,-1,0;-1,5,-1;0,-1,0', or a matrix file",
            ctx=ctx, param_hint="'-c' / '--conv'",
        )
    if given(ctx, "conv_padding") and conv is None:
        raise click.UsageError("--conv-padding applies to a filter; add -c FILTER, or drop --conv-padding")
    if params.get("gray") and params.get("channel") is not None:
        raise click.UsageError("--gray and --channel both choose the channel; give one")
    return PoolSpec(
        size=params.get("size", DEFAULT_SIZE),
        stride=params.get("stride"),
        padding=params.get("padding", "valid"),
        mode=rec.name,
        norm_type=params.get("norm_type"),
        dilation=params.get("dilation", 1),
        ceil_mode=params.get("ceil_mode", False),
        count_pad=params.get("count_pad"),
        output_size=params.get("output_size"),
        kernel=load_kernel(conv) if conv is not None else None,
        conv_padding=params.get("conv_padding", "valid"),
        relu=params.get("relu", False),
        gray=params.get("gray", False),
        channel=params.get("channel"),
        precision=params.get("precision"),
        delimiter=params.get("delimiter"),
        rescale=params.get("rescale", "auto"),
        compress_level=params.get("compress_level", 1),
        quality=params.get("quality"),
        layout=params.get("layout"),
        max_pixels=params.get("max_pixels", formats.DEFAULT_MAX_PIXELS),
    )


def _check_mode_options(ctx: click.Context, params: dict, rec: Reduction) -> None:
    """Refuse --norm-type without a mode that takes it, a mode without its --norm-type, and window options it does not take."""
    if rec.parameter == "norm_type" and params.get("norm_type") is None:
        raise click.UsageError(f"--mode {rec.name} needs --norm-type P, the p of (sum of x**p) ** (1/p)")
    if rec.parameter != "norm_type" and given(ctx, "norm_type"):
        raise click.UsageError(f"--norm-type applies to --mode {_modes_with(lambda r: r.parameter == 'norm_type')} only")
    for name in ("padding", "dilation", "output_size"):
        if name not in rec.window_args and given(ctx, name):
            takes = [WINDOW_FLAGS[n] for n in ("size", "stride") + rec.window_args]
            raise click.UsageError(
                f"{WINDOW_FLAGS[name]} does not apply to --mode {rec.name}, which takes {', '.join(takes[:-1])} and {takes[-1]} "
                f"only; drop {WINDOW_FLAGS[name]}"
            )


def _check_windows(ctx: click.Context, params: dict, rec: Reduction) -> None:
    """Refuse window options that contradict each other, or that would change nothing."""
    output_size = params.get("output_size")
    if output_size is not None:
        window = [_flag(n) for n in ("ceil_mode", "count_pad", "dilation", "padding", "size", "stride") if given(ctx, n)]
        if window:
            raise click.UsageError(f"--output-size sets the windows itself; drop {', '.join(window)}")
        oh, ow = (1, 1) if output_size == "global" else _both(output_size)
        max_pixels = params.get("max_pixels", formats.DEFAULT_MAX_PIXELS)
        if oh * ow > max_pixels:
            raise click.UsageError(
                f"--output-size {oh}x{ow} is {oh * ow:,} pixels, more than --max-pixels {max_pixels:,}; "
                f"raise --max-pixels if this is meant"
            )
        return
    padding = params.get("padding", "valid")
    size = _both(params.get("size", DEFAULT_SIZE))
    if given(ctx, "count_pad"):
        flag = "--count-pad" if params["count_pad"] else "--no-count-pad"
        if "count_pad" not in rec.window_args:
            raise click.UsageError(f"--count-pad/--no-count-pad applies to --mode {_modes_with(lambda r: 'count_pad' in r.window_args)} only")
        if padding == "same":
            raise click.UsageError(f"{flag} cannot be used with -p same: Keras never counts its padding")
        if padding == "valid" or _both(padding) == (0, 0):
            raise click.UsageError(f"{flag} says whether padded cells count; there is no padding (add -p P, or drop {flag})")
    if given(ctx, "ceil_mode"):
        if padding == "same":
            raise click.UsageError("--ceil-mode does nothing with -p same, whose output is already ceil(n/s); drop one")
        stride = _both(params.get("stride") or params.get("size", DEFAULT_SIZE))
        if stride == (1, 1):
            raise click.UsageError("--ceil-mode does nothing with stride 1: every window already fits; drop it")
    dilation = _both(params.get("dilation", 1))
    if dilation != (1, 1) and all(d == 1 or k == 1 for d, k in zip(dilation, size)):
        raise click.UsageError(
            f"-d {_shown(dilation)} does nothing with -k {_shown(size)}: dilation spaces the cells of a window, "
            f"and this one has a single cell along each axis it would space; drop -d"
        )


def _shown(pair) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


#: The output formats each output option acts on ("table": the result pool shows on a terminal), as messages name them.
OUTPUT_OPTION_FORMATS = {
    name: (formats.formats_taking(name) + (("table",) if name == "precision" else ()), formats.option_scope(name))
    for name in formats.OUTPUT_OPTIONS
}


def check_output_options(ctx: click.Context, written) -> None:
    """Refuse an output option given for outputs it does not act on; ``written`` holds the formats written."""
    for name, (acts_on, what) in OUTPUT_OPTION_FORMATS.items():
        if given(ctx, name) and not set(written) & set(acts_on):
            shown = ", ".join("the table shown on this terminal" if f == "table" else f.upper() for f in sorted(written))
            raise click.UsageError(f"{_flag(name)} applies to {what}, not {shown}; drop it")


def load_kernel(text: str):
    """A filter name, else the path of a text matrix, else an inline kernel."""
    from .filters import FILTER_ALIASES, FILTERS, _normalise_name, parse_filter

    name = _normalise_name(text)
    if name in FILTERS or name in FILTER_ALIASES:
        return parse_filter(text)
    if os.path.isfile(text):
        loaded = io.read_input(text)
        if loaded.array.ndim != 2:
            raise io.InputError(f"{text}: a filter must be a 2-D matrix, got shape {loaded.array.shape}")
        return loaded.array.astype(float)
    try:
        return parse_filter(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'-c' / '--conv'") from None


def resolve_input(input_path: Optional[str]) -> str:
    if input_path is not None:
        return input_path
    if sys.stdin is None or sys.stdin.isatty():
        raise click.UsageError(
            "no INPUT given and standard input is a terminal; give a file (image, CSV, NPY) "
            "or pipe data in, e.g. 'cat m.csv | poolcli pool -'"
        )
    return "-"


def note(quiet: bool, message: str) -> None:
    if not quiet:
        try:
            click.echo(f"poolcli: {message}", err=True)
        except (BrokenPipeError, OSError):
            pass  # nobody reads stderr any more: the work goes on, only stdout decides how it ends


def _console(stderr: bool, color: Optional[bool]):
    from rich.console import Console

    class QuietConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            if stderr:
                return  # messages nobody reads: the work goes on (rich would exit 1)
            # the reader of the output went away (| head): end quietly with 0, as `pool` does
            _quiet_broken_pipe()
            raise SystemExit(0)

    return QuietConsole(stderr=stderr, force_terminal=color, no_color=None if color is None else not color, highlight=False)


def stderr_console(color: Optional[bool] = None):
    return _console(True, color)


def stdout_console(color: Optional[bool] = None):
    return _console(False, color)


def colour_on(console) -> bool:
    """Whether views should be styled: a colour terminal, NO_COLOR unset (or --color)."""
    return console.color_system is not None and not console.no_color


# --------------------------------------------------------------------------- commands


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="poolcli")
def main():
    """Max, average, min, sum and LP pooling of images and matrices, as Keras and PyTorch define them.

    \b
    Examples:
      poolcli pool sample_images/digit7.png -o pooled.png
      poolcli pool sample_images/seven_conv_26x26.txt -k 2 -s 2
      poolcli pool a.csv | poolcli pool - -m avg
    """


@main.command(context_settings=CONTEXT)
@click.argument("input_path", metavar="[INPUT]", required=False)
@click.option("-o", "--output", metavar="PATH", default="-", show_default=True, help="Output path; format from the extension. - is stdout.")
@pooling_options
@click.option("--indices", "indices_path", default=None, metavar="PATH", help="max/min: also write the chosen cells' flat indices.")
@filter_options
@channel_options
@output_options
@click.option("--show", is_flag=True, help="Also print the input (after the filter) and the result as matrices on stderr.")
@click.option("--color/--no-color", default=None, help="Colour in matrix views [default: when the stream is a terminal].")
@common_options
@click.pass_context
def pool(ctx, input_path, output, indices_path, to, show, color, quiet, debug, **params):
    """Pool an image or a matrix (CSV, TSV, whitespace text, NPY, JSON) and write the result.

    INPUT is a path or - for standard input (also read when INPUT is omitted and
    stdin is a pipe). Images are recognised by content. The result goes to
    -o (format from the extension, or --to), else to stdout as CSV; on a
    terminal it is shown as a table.
    """
    spec = make_spec(ctx, params)
    source = resolve_input(input_path)
    if indices_path is not None and not reduction(spec.mode).indices:
        raise click.UsageError(f"--indices applies to --mode {_modes_with(lambda r: r.indices)}, not {spec.mode}")
    if source != "-" and output != "-" and io.same_file(source, output):
        raise click.UsageError(f"output {output} is the input; choose another path")
    if indices_path is not None and indices_path != "-" and source != "-" and io.same_file(source, indices_path):
        raise click.UsageError(f"--indices {indices_path} is the input; choose another path")
    for path in (output, indices_path):
        if path not in (None, "-"):
            io.check_destination(path)  # before any input is read or any file written
    table_on_terminal = output == "-" and to is None and sys.stdout.isatty()
    fmt = None if table_on_terminal else _format(output, to)
    if output == "-" and fmt is not None and formats.writer_for(fmt).binary and sys.stdout.isatty():
        raise click.UsageError(f"refusing to write {fmt.upper()} to a terminal; use -o FILE or redirect stdout")
    idx_fmt = None
    if indices_path is not None:
        idx_fmt = formats.format_for_path(indices_path) if indices_path != "-" else "csv"
        if idx_fmt is None or formats.writer_for(idx_fmt).dtypes:  # indices are int64: only exact writers hold them
            exact = [f".{f}" for f, w in formats.WRITERS.items() if not w.dtypes]
            raise click.UsageError(f"--indices {indices_path}: indices are written as {', '.join(exact[:-1])} or {exact[-1]}")
        if indices_path != "-" and output != "-" and io.same_file(indices_path, output):
            raise click.UsageError(f"--indices {indices_path} and -o {output} are the same file; give two paths")
        if indices_path == "-" and output == "-":
            raise click.UsageError("--indices - and the result cannot both go to stdout; give -o or an --indices file")
    check_output_options(ctx, {"table" if table_on_terminal else fmt} | ({idx_fmt} if idx_fmt else set()))
    if given(ctx, "color") and not show and not table_on_terminal and (output != "-" or to is not None):
        raise click.UsageError("--color/--no-color applies to --show and to the table shown on a terminal; drop it")

    from .pipeline import apply_filter, apply_pool, encode, prepare, value_type

    loaded = io.read_input(source, max_pixels=spec.max_pixels)
    arr, layout_notes = prepare(loaded, spec)
    for n in loaded.notes + layout_notes:
        note(quiet, n)
    filtered = apply_filter(arr, spec)
    if indices_path is not None:
        result, indices = apply_pool(filtered, spec, indices=True)
    else:
        result, indices = apply_pool(filtered, spec), None

    if show:
        from .render import render_matrix

        console = stderr_console(color)
        console.print(render_matrix(filtered, title="input" + (" (filtered)" if spec.kernel is not None else ""), width=console.width, color=colour_on(console)))
        console.print(render_matrix(result, title="output", width=console.width, color=colour_on(console)))

    out_name = "<stdout>" if output == "-" else output
    writers = []
    if not table_on_terminal:
        writer, notes = encode(result, fmt, spec, source_dtype=value_type(loaded), name=out_name)
        writers.append((output, writer))
    if indices is not None:
        writers.append((indices_path, encode(indices, idx_fmt, spec, source_dtype=indices.dtype, name=indices_path)[0]))
    # every check has passed before the first byte is written; each file then appears whole or not at all
    if table_on_terminal:
        from .render import render_matrix

        console = stdout_console(color)
        console.print(render_matrix(result, title="result", precision=spec.precision, width=console.width, color=colour_on(console)))
    else:
        for n in notes:
            note(quiet, n)
    for path, writer in writers:
        io.write_output(path, writer)


def _format(output: str, to: Optional[str]) -> str:
    from .pipeline import resolve_format

    try:
        return resolve_format(output, to)
    except io.OutputError as exc:
        raise click.UsageError(str(exc)) from None


@main.command(context_settings=CONTEXT)
@click.option("--debug", is_flag=True, hidden=True)
def filters(debug):
    """List the named 3x3 filters and their weights (for --conv)."""
    from .filters import FILTER_ALIASES, FILTERS
    from .render import render_filters

    stdout_console().print(render_filters(FILTERS, FILTER_ALIASES))



def color_option(fn):
    return click.option("--color/--no-color", default=None, help="Force colour on or off [default: when the stream is a terminal and NO_COLOR is unset].")(fn)


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


def _one_matrix(loaded, channel, layout, quiet):
    """The input with its channels last, or one channel of it (a single channel squeezed to 2-D); notes said."""
    from .pipeline import PoolSpec, select_channels, to_hwc

    spec = PoolSpec(channel=channel, layout=layout)
    loaded, notes = to_hwc(loaded, spec)
    for n in notes:
        note(quiet, n)
    return select_channels(loaded, spec)


@main.command(context_settings=CONTEXT)
@click.argument("input_path", metavar="[INPUT]", required=False)
@click.option("--precision", type=click.IntRange(0, 17), default=None, help="Decimals [default: the fewest that show every value, up to 4; exponents for tiny or huge values].")
@click.option("--channel", type=CHANNEL_RANGE, default=None, help="Show channel N only [default: each channel].")
@layout_option
@click.option("--max-rows", type=click.IntRange(2, MAX_DIM), default=32, show_default=True, help="Rows shown before eliding the middle.")
@click.option("--max-cols", type=click.IntRange(2, MAX_DIM), default=None, help="Columns shown [default: as many as fit the width].")
@color_option
@common_options
def show(input_path, precision, channel, layout, max_rows, max_cols, color, max_pixels, quiet, debug):
    """Show an image or matrix as a heat-map table with row and column indices."""
    from .render import render_matrix

    source = resolve_input(input_path)
    loaded = io.read_input(source, max_pixels=max_pixels)
    for n in loaded.notes:
        note(quiet, n)
    arr = _one_matrix(loaded, channel, layout, quiet)
    console = stdout_console(color)
    console.print(
        render_matrix(
            arr, title=os.path.basename(loaded.name), precision=precision, max_rows=max_rows, max_cols=max_cols,
            width=console.width, color=colour_on(console),
        )
    )


EXPLAIN_LIMIT = 16


@main.command(context_settings=CONTEXT)
@click.argument("input_path", metavar="[INPUT]", required=False)
@pooling_options
@click.option("--region", type=RegionType(), default=None, help="Explain only these rows and columns, e.g. 0:8,0:8.")
@click.option("--channel", type=CHANNEL_RANGE, default=None, help="Channel N of a colour input.")
@layout_option
@click.option("--precision", type=click.IntRange(0, 17), default=None, help="Decimals shown.")
@click.option("--step", is_flag=True, help="On a terminal, wait for a key between windows (q stops).")
@color_option
@common_options
@click.pass_context
def explain(ctx, input_path, region, channel, layout, precision, step, color, max_pixels, quiet, debug, **params):
    """Walk through pooling a small matrix (up to 16x16), one window at a time.

    Each step shows the input with the window marked, the reduction written
    out, and the output filling up. For max and min, the end shows every
    winning cell.
    """
    from .engine import window_cells
    from .pipeline import apply_pool, check_result_size
    from .render import explain_steps, render_winners

    spec = make_spec(ctx, dict(params, max_pixels=max_pixels))
    source = resolve_input(input_path)
    loaded = io.read_input(source, max_pixels=max_pixels)
    for n in loaded.notes:
        note(quiet, n)
    arr = _one_matrix(loaded, channel, layout, quiet)
    if arr.ndim == 3:
        raise click.UsageError(f"{loaded.name} has {arr.shape[2]} channels; explain walks one: add --channel N")
    origin = (0, 0)
    if region is not None:
        origin = tuple(sl.indices(n)[0] for sl, n in zip(region, arr.shape))
        arr = arr[region]
        if arr.size == 0:
            raise click.UsageError("--region selects no cells of the input")
    h, w = arr.shape
    if h > EXPLAIN_LIMIT or w > EXPLAIN_LIMIT:
        raise click.UsageError(
            f"{loaded.name} is {h}x{w}; explain walks every window, so it takes up to {EXPLAIN_LIMIT}x{EXPLAIN_LIMIT}: "
            f"pick a part with --region, e.g. --region 0:8,0:8"
        )
    check_result_size(arr.shape, spec, loaded.name)
    indices = reduction(spec.mode).indices
    out, idx = apply_pool(arr, spec, indices=True) if indices else (apply_pool(arr, spec), None)
    rows, cols = window_cells(arr.shape, **spec.pool_kwargs_for_cells())
    console = stdout_console(color)
    colour = colour_on(console)
    interactive = step and sys.stdin.isatty() and sys.stdout.isatty()
    for n, view in enumerate(explain_steps(arr, out, rows, cols, spec.mode, norm_type=spec.norm_type, precision=precision, color=colour, origin=origin)):
        if n and interactive:
            click.echo("press a key for the next window, q to stop", err=True)
            if click.getchar() in ("q", "Q", "\x03"):
                return
        console.print(view)
    if idx is not None:
        console.print(render_winners(arr, idx, precision=precision, color=colour, title=f"every window's {spec.mode}, marked"))


@main.command(context_settings=CONTEXT)
@click.argument("layers", nargs=-1, required=True)
@color_option
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
def summary(layers, color, debug):
    """Output shapes and parameter counts through a stack of layers, like Keras model.summary().

    \b
    One layer per argument, or several separated by ';':
      input HxWxC               the input shape (first)
      dense N                   N units on the last axis
      conv N KxK [same|valid] [stride=S] [dilation=D] [nobias]
      maxpool K [stride=S] [same|valid|padding=P] [dilation=D] [ceil]
      avgpool K ...             as maxpool
      globalmaxpool  globalavgpool  flatten  relu  dropout  batchnorm

    \b
    Example (the tutorial's model):
      poolcli summary "input 20x20x3; dense 16; conv 32 3x3 same; maxpool 2 stride=2 valid; conv 64 5x5 same; flatten; dense 2"
    """
    from .layers import LayerError, summarise
    from .render import render_summary

    try:
        input_shape, rows = summarise(layers)
    except LayerError as exc:
        raise click.UsageError(str(exc)) from None
    stdout_console(color).print(render_summary(rows, input_shape))


@main.command(context_settings=CONTEXT)
@click.option("--steps", type=click.IntRange(0, MAX_DIM), default=4, show_default=True, help="Explain steps to show.")
@color_option
@click.option("--debug", is_flag=True, hidden=True)
def demo(steps, color, debug):
    """The tutorial's worked example: a 26x26 convolution output max-pooled 2x2, stride 2, to 13x13."""
    from importlib.resources import files

    import numpy as np

    from .engine import pool2d, window_cells
    from .render import explain_steps, render_matrix

    data = files("poolcli") / "data"
    conv, _ = io.parse_matrix(data.joinpath("seven_conv_26x26.txt").read_bytes(), "seven_conv_26x26.txt")
    expected, _ = io.parse_matrix(data.joinpath("seven_maxpool_13x13.txt").read_bytes(), "seven_maxpool_13x13.txt")
    console = stdout_console(color)
    colour = colour_on(console)
    say = lambda text: console.print(text, highlight=False, markup=False)  # noqa: E731
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


@main.command(context_settings=CONTEXT)
@click.argument("input_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("output_dir", type=click.Path(file_okay=False))
@click.option("--glob", "globs", multiple=True, metavar="PATTERN", help="Files to take (repeatable) [default: every image type Pillow opens].")
@click.option("-r", "--recursive", is_flag=True, help="Walk subfolders too, mirrored under OUTPUT_DIR.")
@click.option("-j", "--jobs", type=click.IntRange(1, MAX_JOBS), default=None, help="Worker processes [default: the number of cores].")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None, help="Write one JSON line per file (input, output, status, error, ms).")
@click.option("--fail-fast", is_flag=True, help="Stop at the first file that fails.")
@click.option("--skip-existing", is_flag=True, help="Skip files whose output exists and is newer (resume a run).")
@click.option("--shard", type=ShardType(), default=None, help="Process only share I of N of the sorted files (I from 0).")
@click.option("--dask", "dask_address", metavar="ADDRESS", default=None, help="Run on a Dask distributed scheduler, e.g. tcp://host:8786.")
@click.option("--dask-timeout", type=click.FloatRange(0, 3600, min_open=True), default=10.0, show_default=True, metavar="SECONDS", help="How long to try to reach the --dask scheduler.")
@pooling_options
@filter_options
@channel_options
@output_options
@common_options
@click.pass_context
def batch(ctx, input_dir, output_dir, globs, recursive, jobs, report_path, fail_fast, skip_existing, shard, dask_address, dask_timeout, to, quiet, debug, **params):
    """Pool every image in INPUT_DIR into OUTPUT_DIR, in parallel.

    Each output keeps its input's relative path and name, in the input's
    format unless --to says otherwise. A file that fails is reported and the
    run goes on (exit 1 at the end). Ctrl-C or SIGTERM lets the files in
    progress finish, reports them and stops (exit 130); a second stops at once.
    """
    from functools import partial

    from .batch import plan_tasks, run_batch

    spec = make_spec(ctx, params)
    if to is not None:
        check_output_options(ctx, {to.lower()})  # without --to each output takes its input's format, so any may act
    if given(ctx, "dask_timeout") and not dask_address:
        raise click.UsageError("--dask-timeout applies to --dask only")
    if jobs is not None and dask_address:
        raise click.UsageError("-j/--jobs sets the local worker processes; with --dask the cluster's workers run the files: drop -j")
    if io.same_file(input_dir, output_dir):
        raise click.UsageError("OUTPUT_DIR is INPUT_DIR; inputs are never overwritten: choose another folder")
    if report_path:
        io.check_destination(report_path)  # before the output folder is made
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"{output_dir}: cannot create the output folder ({exc.strerror})") from None
    jobs = jobs or os.cpu_count() or 1
    plan = partial(plan_tasks, input_dir, output_dir, globs=globs, recursive=recursive, to=to and to.lower(), shard=shard or (0, 1))

    console = stderr_console()
    show_progress = not quiet and console.is_terminal
    report = open(report_path, "w", encoding="utf-8") if report_path else None
    progress = None
    failures = 0
    said = set()

    def on_outcome(o):
        nonlocal failures
        if report:
            report.write(o.report_line() + "\n")
            report.flush()
        if o.status == "failed":
            failures += 1
            console.print(f"poolcli: {o.input}: {o.error}", highlight=False, markup=False, soft_wrap=True)
        elif not quiet:
            for n in o.notes:
                # the lossy-format note would repeat for every file: it is said once
                key = n.split(": ", 1)[-1] if "write .png for exact values" in n else n
                if key not in said:
                    said.add(key)
                    console.print(f"poolcli: {n}", highlight=False, markup=False, soft_wrap=True)
        if progress is not None:
            task = progress.tasks[0]
            rate = f"{task.completed / task.elapsed:.1f} files/s" if task.elapsed else ""
            progress.update(bar, advance=1, failed=failures, rate=rate)

    def on_total(n):
        if progress is not None:
            progress.update(bar, total=n)

    try:
        if show_progress:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            progress = Progress(
                TextColumn("pooling"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TextColumn("eta"), TimeRemainingColumn(),
                TextColumn("{task.fields[failed]} failed"), console=console, transient=True,
            )
            progress.start()
            bar = progress.add_task("pool", total=None, failed=0, rate="")
        stats = run_batch(
            plan(), spec, jobs=jobs, skip_existing=skip_existing, fail_fast=fail_fast,
            on_outcome=on_outcome, on_total=on_total, recount=plan if progress is not None else None, dask_address=dask_address, dask_timeout=dask_timeout,
        )
    finally:
        if progress is not None:
            progress.stop()
        if report:
            report.close()
    if stats.processed + stats.skipped + stats.failed == 0 and not stats.interrupted:
        what = ", ".join(globs) if globs else "image files"
        note(quiet, f"no files to pool in {input_dir} (looked for {what}{'' if recursive else '; -r for subfolders'})")
    if not quiet or stats.interrupted or stats.failed:
        console.print(f"poolcli: {stats.line()}", highlight=False, markup=False, soft_wrap=True)
    if stats.interrupted:
        ctx.exit(130)
    if stats.failed:
        ctx.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
