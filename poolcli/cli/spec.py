"""The spec of a run from the parsed options, refusing options that contradict each other or would do nothing."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import click

from .. import formats
from ..engine.reductions import Reduction, reduction
from ..specs import FilterSpec, OutputSpec, PoolSpec, WindowSpec
from .options import given, modes_with

__all__ = ["check_output_options", "make_spec"]

#: The option that sets each window argument, as messages name it.
WINDOW_FLAGS = {
    "size": "-k",
    "stride": "-s",
    "padding": "-p",
    "dilation": "-d",
    "ceil_mode": "--ceil-mode",
    "count_pad": "--count-pad/--no-count-pad",
    "output_size": "--output-size",
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _each(value: Any, axes: int) -> tuple[Any, ...]:
    """An option's value for each axis: a tuple as given, an int repeated."""
    return value if isinstance(value, tuple) else (value,) * axes


def make_spec(ctx: click.Context, params: dict[str, Any]) -> PoolSpec:
    """Build the PoolSpec from parsed options, refusing options that contradict each other or would do nothing."""
    rec = reduction(params["mode"])
    _check_axes(params)
    _check_mode_options(ctx, params, rec)
    _check_windows(ctx, params, rec)
    conv = params.get("conv")
    if conv is not None and not conv.strip():
        raise click.BadParameter(
            "is empty; give a filter name (see 'poolcli filters'), weights such as '0,-1,0;-1,5,-1;0,-1,0', or a matrix file",
            ctx=ctx,
            param_hint="'-c' / '--conv'",
        )
    if given(ctx, "conv_padding") and conv is None:
        raise click.UsageError("--conv-padding applies to a filter; add -c FILTER, or drop --conv-padding")
    if params.get("gray") and params.get("channel") is not None:
        raise click.UsageError("--gray and --channel both choose the channel; give one")
    parts = dict(
        window=_record(WindowSpec, params),
        filter=_record(
            FilterSpec, dict(params, kernel=load_kernel(conv) if conv is not None else None), padding="conv_padding"
        ),
        output=_record(OutputSpec, params),
    )
    return _record(PoolSpec, {**params, **parts})


def _record(cls: Any, params: dict[str, Any], **options: str) -> Any:
    """A spec record from the options that set its fields (each named as its field, unless ``options`` renames
    it); a field whose option the command does not take keeps the record's default."""
    names = {f.name: options.get(f.name, f.name) for f in dataclasses.fields(cls)}
    return cls(**{name: params[option] for name, option in names.items() if option in params})


def _check_axes(params: dict[str, Any]) -> None:
    """Refuse a window written for a volume (DxHxW) without --volume, or for an image (HxW) with it."""
    volume = params.get("volume", False)
    for name in ("size", "stride", "padding", "dilation", "output_size"):
        value = params.get(name)
        if not isinstance(value, tuple):
            continue
        shown = "x".join(map(str, value))
        if len(value) == 3 and not volume:
            raise click.UsageError(
                f"{WINDOW_FLAGS[name]} {shown} is for a volume (depth x rows x columns); add --volume "
                f"(a 3-D or 4-D NPY, a multi-page TIFF or a folder of slices)"
            )
        if len(value) == 2 and volume:
            raise click.UsageError(f"{WINDOW_FLAGS[name]} {shown} is for an image; a volume takes one number or DxHxW")
    if volume and params.get("conv") is not None:
        raise click.UsageError("-c filters 2-D images; a volume (--volume) takes no filter")


def _check_mode_options(ctx: click.Context, params: dict[str, Any], rec: Reduction) -> None:
    """Refuse --norm-type without a mode that takes it, a mode without its --norm-type, and window options it does not take."""
    if rec.parameter == "norm_type" and params.get("norm_type") is None:
        raise click.UsageError(f"--mode {rec.name} needs --norm-type P, the p of (sum of x**p) ** (1/p)")
    if rec.parameter != "norm_type" and given(ctx, "norm_type"):
        raise click.UsageError(f"--norm-type applies to --mode {modes_with(lambda r: r.parameter == 'norm_type')} only")
    for name in ("padding", "dilation", "output_size"):
        if name not in rec.window_args and given(ctx, name):
            takes = [WINDOW_FLAGS[n] for n in ("size", "stride") + rec.window_args]
            raise click.UsageError(
                f"{WINDOW_FLAGS[name]} does not apply to --mode {rec.name}, which takes {', '.join(takes[:-1])} and {takes[-1]} "
                f"only; drop {WINDOW_FLAGS[name]}"
            )


def _check_windows(ctx: click.Context, params: dict[str, Any], rec: Reduction) -> None:
    """Refuse window options that contradict each other, or that would change nothing."""
    output_size = params.get("output_size")
    volume = params.get("volume", False)
    axes = 3 if volume else 2  # a signal's ints are checked as an image's: they act alike on every axis
    if output_size is not None:
        window = [
            _flag(n) for n in ("ceil_mode", "count_pad", "dilation", "padding", "size", "stride") if given(ctx, n)
        ]
        if window:
            raise click.UsageError(f"--output-size sets the windows itself; drop {', '.join(window)}")
        # one number is N along every axis: N cells for a signal, N x N for an image (checked once it is read)
        dims = (1,) if output_size == "global" else _each(output_size, 3 if volume else 1)
        max_pixels = params["max_pixels"]
        if math.prod(dims) > max_pixels:
            what = "pixels" if len(dims) == 2 else "cells" if len(dims) == 3 else "cells or more"
            raise click.UsageError(
                f"--output-size {'x'.join(map(str, dims))} is {math.prod(dims):,} {what}, "
                f"more than --max-pixels {max_pixels:,}; raise --max-pixels if this is meant"
            )
        return
    padding = params["padding"]
    size = _each(params["size"], axes)
    if given(ctx, "count_pad"):
        flag = "--count-pad" if params["count_pad"] else "--no-count-pad"
        if "count_pad" not in rec.window_args:
            raise click.UsageError(
                f"--count-pad/--no-count-pad applies to --mode {modes_with(lambda r: 'count_pad' in r.window_args)} only"
            )
        if padding == "same":
            raise click.UsageError(f"{flag} cannot be used with -p same: Keras never counts its padding")
        if padding == "valid" or set(_each(padding, axes)) == {0}:
            raise click.UsageError(
                f"{flag} says whether padded cells count; there is no padding (add -p P, or drop {flag})"
            )
    if given(ctx, "ceil_mode"):
        if padding == "same":
            raise click.UsageError("--ceil-mode does nothing with -p same, whose output is already ceil(n/s); drop one")
        stride = _each(params["stride"] or params["size"], axes)
        if set(stride) == {1}:
            raise click.UsageError("--ceil-mode does nothing with stride 1: every window already fits; drop it")
    dilation = _each(params["dilation"], axes)
    if set(dilation) != {1} and all(d == 1 or k == 1 for d, k in zip(dilation, size)):
        raise click.UsageError(
            f"-d {_shown(dilation)} does nothing with -k {_shown(size)}: dilation spaces the cells of a window, "
            f"and this one has a single cell along each axis it would space; drop -d"
        )
    _check_engine_takes(ctx, params, axes)


def _check_engine_takes(ctx: click.Context, params: dict[str, Any], axes: int) -> None:
    """Refuse, before any input is read, window options the engine would refuse whatever the input's size.

    The engine checks its arguments with the input's shape; on a shape every window fits (each side the
    padded reach of two strides beyond one window), only a conflict of the options themselves is left.
    """
    from ..engine import output_shape

    window = _record(WindowSpec, params)
    reach = [
        d * (k - 1) + 1 + 2 * p + 2 * s
        for k, s, d, p in zip(
            _each(window.size, axes),
            _each(window.stride or window.size, axes),
            _each(window.dilation, axes),
            (0,) * axes if isinstance(window.padding, str) else _each(window.padding, axes),
        )
    ]
    try:
        output_shape(tuple(reach), **window.shape_kwargs(), ndim=axes)
    except ValueError as exc:
        flags = [
            f"{WINDOW_FLAGS[n]} {_value(params[n])}" for n in ("size", "stride", "padding", "dilation") if given(ctx, n)
        ]
        flags += ["--ceil-mode"] if params.get("ceil_mode") else []
        raise click.UsageError(f"{' '.join(flags)}: {exc}") from None


def _value(value: Any) -> str:
    return value if isinstance(value, str) else _shown(value if isinstance(value, tuple) else (value,))


def _shown(dims: tuple[int, ...]) -> str:
    return str(dims[0]) if len(set(dims)) == 1 else "x".join(map(str, dims))


#: The output formats each output option acts on ("table": the result pool shows on a terminal), as messages name them.
OUTPUT_OPTION_FORMATS = {
    name: (formats.formats_taking(name) + (("table",) if name == "precision" else ()), formats.option_scope(name))
    for name in formats.OUTPUT_OPTIONS
}


def check_output_options(ctx: click.Context, written: set[str]) -> None:
    """Refuse an output option given for outputs it does not act on; ``written`` holds the formats written."""
    for name, (acts_on, what) in OUTPUT_OPTION_FORMATS.items():
        if given(ctx, name) and not set(written) & set(acts_on):
            shown = ", ".join(
                "the table shown on this terminal" if f == "table" else f.upper() for f in sorted(written)
            )
            raise click.UsageError(f"{_flag(name)} applies to {what}, not {shown}; drop it")


def load_kernel(text: str) -> Any:
    """The kernel -c names; weights that cannot be read are a usage error of -c."""
    from ..filters import FilterError
    from ..pipeline import load_filter

    try:
        return load_filter(text)
    except FilterError as exc:
        raise click.BadParameter(str(exc), param_hint="'-c' / '--conv'") from None
