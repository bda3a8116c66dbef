"""`pool`'s options for fractional max pooling (PyTorch FractionalMaxPool2d, Graham 2014), and the spec they make.

Its own options rather than a switch on --output-size: --output-size means adaptive pooling in pool, batch
and explain, and an option whose windows change with another flag would pool adaptively, without a word,
whenever the flag is forgotten.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar

import click

from ..engine.reductions import reduction
from ..specs import FractionalSpec, PoolSpec
from .options import given
from .types import PairType

__all__ = ["fractional_options", "fractional_spec"]

F = TypeVar("F", bound=Callable[..., Any])

#: The window options fractional max pooling does not take: it places its windows itself.
OTHER_WINDOWS = {
    "stride": "-s",
    "padding": "-p",
    "dilation": "-d",
    "ceil_mode": "--ceil-mode",
    "count_pad": "--count-pad",
    "output_size": "--output-size",
}


class RatioType(click.ParamType):
    """R, RxR or RxRxR (a volume's): numbers strictly between 0 and 1."""

    name = "R|RxR|RxRxR"

    def convert(self, value, param, ctx):
        if isinstance(value, (float, tuple)):
            return value
        try:
            ratios = tuple(float(v) for v in str(value).lower().replace("×", "x").split("x"))
        except ValueError:
            ratios = ()
        if len(ratios) not in (1, 2, 3):
            self.fail(f"{value!r} is not R, RxR or RxRxR (for example 0.7 or 0.5x0.75)", param, ctx)
        if not all(0 < r < 1 for r in ratios):
            self.fail(f"each ratio must lie between 0 and 1 (exclusive), got {value}", param, ctx)
        return ratios[0] if len(ratios) == 1 else ratios


def fractional_options(fn: F) -> F:
    """--output-ratio --fractional-size --seed: for pool."""
    for option in reversed(
        [
            click.option(
                "--output-ratio",
                type=RatioType(),
                default=None,
                metavar="R|RxR|RxRxR",
                help="Fractional max pooling (PyTorch FractionalMaxPool2d/3d) to int(n * R) per axis, 0 < R < 1, "
                "with -k windows placed pseudo-randomly (RxRxR with --volume).",
            ),
            click.option(
                "--fractional-size",
                type=PairType(),
                default=None,
                metavar="N|HxW|DxHxW",
                help="Fractional max pooling to HxW (DxHxW with --volume; PyTorch's output_size; needs "
                "output + k - 1 <= input).",
            ),
            click.option(
                "--seed",
                type=click.IntRange(0, 2**64 - 1),  # numpy takes any; 64 bits are plenty
                default=None,
                metavar="N",
                help="Fractional: the seed of numpy's default_rng that draws the windows' samples. The same seed "
                "gives the same windows (numpy's draws, not torch's).  [default: a fresh seed, said on stderr]",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def fractional_spec(ctx: click.Context, spec: PoolSpec, params: dict[str, Any], say: Callable[[str], None]) -> PoolSpec:
    """``spec`` with its fractional windows, if asked; options that do not go with them are usage errors.

    Without --seed a seed is drawn, and said (through ``say``), so that a result can be made again.
    """
    ratio, size, seed = params.get("output_ratio"), params.get("fractional_size"), params.get("seed")
    if ratio is None and size is None:
        if seed is not None:
            raise click.UsageError(
                "--seed draws the windows of fractional max pooling; add --output-ratio or --fractional-size"
            )
        return spec
    if ratio is not None and size is not None:
        raise click.UsageError("--output-ratio and --fractional-size both set the output's size; give one")
    flag = "--output-ratio" if ratio is not None else "--fractional-size"
    value = ratio if ratio is not None else size
    given_axes = len(value) if isinstance(value, tuple) else 1
    volume = params.get("volume", False)
    if given_axes == 3 and not volume:
        raise click.UsageError(f"{flag} with three numbers is for a volume; add --volume")
    if given_axes == 2 and volume:
        raise click.UsageError(f"{flag} with two numbers is for an image; a volume takes one number or three (DxHxW)")
    mode = reduction(params["mode"]).name
    if mode != "max":
        raise click.UsageError(f"{flag} is fractional max pooling; drop -m {mode}")
    others = [shown for name, shown in OTHER_WINDOWS.items() if given(ctx, name)]
    if others:
        raise click.UsageError(f"{flag} places its windows itself (of size -k); drop {', '.join(others)}")
    if given(ctx, "dtype"):
        raise click.UsageError(f"{flag} is max pooling, whose result keeps the input's type; drop --dtype")
    if seed is None:
        import secrets

        seed = secrets.randbelow(2**32)
        say(f"fractional max pooling drew its windows with --seed {seed}; give it again for the same windows")
    fractional = FractionalSpec(output_size=size, output_ratio=ratio, seed=seed)
    return dataclasses.replace(spec, window=dataclasses.replace(spec.window, fractional=fractional))
