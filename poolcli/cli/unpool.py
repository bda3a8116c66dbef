"""`poolcli unpool`: max pooling undone from its indices (PyTorch MaxUnpool1d/2d/3d), each value back at its cell."""

from __future__ import annotations

import math
import sys
from typing import Any

import click

from .. import formats
from .options import (
    color_option,
    command,
    common_options,
    given,
    layout_option,
    output_options,
    output_path_option,
)
from .spec import check_output_options
from .terminal import colour_on, note, stdout_console
from .types import MAX_DIM

__all__ = ["unpool"]


class DimsType(click.ParamType):
    """N, HxW or DxHxW: one to three ints in minimum..MAX_DIM."""

    name = "N|HxW|DxHxW"

    def __init__(self, minimum: int = 1):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            dims = formats.split_dims(value)
        except ValueError:
            dims = ()
        if not 1 <= len(dims) <= 3:
            self.fail(f"{value!r} is not N, HxW or DxHxW (for example 4x4)", param, ctx)
        if min(dims) < self.minimum or max(dims) > MAX_DIM:
            self.fail(f"each number must be {self.minimum} .. {MAX_DIM}, got {value}", param, ctx)
        return dims


@command()
@click.argument("values_path", metavar="VALUES")
@click.option(
    "--indices",
    "indices_path",
    required=True,
    metavar="PATH",
    help="The flat index of each value's cell, of the values' shape (as 'pool --indices' writes them).",
)
@click.option(
    "--shape",
    type=DimsType(),
    default=None,
    metavar="N|HxW|DxHxW",
    help="The output's shape, that of the input that was pooled: N for a signal, HxW for an image or matrix "
    "(its channels follow from VALUES), DxHxW for a volume.  [default: from -k]",
)
@click.option(
    "-k",
    "--size",
    type=DimsType(),
    default=None,
    metavar="K|HxW",
    help="Without --shape: the pool window, to work out the shape as PyTorch's MaxUnpool does: (n - 1) * s - 2p + k.",
)
@click.option("-s", "--stride", type=DimsType(), default=None, metavar="S|HxW", help="With -k.  [default: the size]")
@click.option("-p", "--padding", type=DimsType(minimum=0), default=None, metavar="P|PxQ", help="With -k.  [default: 0]")
@output_path_option
@output_options
@layout_option
@click.option(
    "--volume",
    is_flag=True,
    help="VALUES and --indices are a volume's, read as pool --volume reads them (a 4-D NPY holds channels, "
    "--layout chw first); written as NPY or multi-page TIFF. Implied by --shape DxHxW or -k DxHxW.",
)
@color_option("Colour in the table shown on a terminal [default: when the stream is a terminal].")
@common_options
@click.pass_context
def unpool(
    ctx: click.Context,
    values_path: str,
    indices_path: str,
    shape: tuple[int, ...] | None,
    size: tuple[int, ...] | None,
    stride: tuple[int, ...] | None,
    padding: tuple[int, ...] | None,
    output: str,
    to: str | None,
    layout: str | None,
    volume: bool,
    color: bool | None,
    max_pixels: int,
    quiet: bool,
    **params: Any,
) -> None:
    """Put each pooled value back at the cell its index names, zeros elsewhere (PyTorch MaxUnpool2d).

    VALUES and --indices are matrices in any format poolcli reads (CSV, NPY,
    JSON ...), of the same shape: a signal (1-D, a single row or column; its
    orientation is kept), an image or matrix (HxW, or HxWxC with indices per
    channel), or with --volume or --shape DxHxW a volume (read as pool
    --volume reads one: a 4-D NPY holds channels). Indices are flat, as PyTorch and
    'pool --indices' number cells: h * W + w. Where two values name the same
    cell, the last in row-major order stays, as in PyTorch.

    \b
    Example (the maxima back in place, zeros elsewhere):
      poolcli pool a.csv -k 2 --indices idx.csv -o v.csv
      poolcli unpool v.csv --indices idx.csv --shape 4x4
    """
    from ..pipeline import encode, plan_outputs, value_type
    from ..specs import OptionError, OutputSpec, PoolSpec

    if values_path == "-" and indices_path == "-":
        raise click.UsageError("VALUES and --indices cannot both be standard input; give a file for one")
    if shape is not None and (size, stride, padding) != (None, None, None):
        raise click.UsageError("--shape gives the output's shape; -k, -s and -p only work it out without it: drop them")
    if size is None and (stride, padding) != (None, None):
        raise click.UsageError("-s and -p work out the output's shape with -k; add -k K, or give --shape")
    if size is None and shape is None:
        raise click.UsageError(
            "give --shape (the shape of the input that was pooled), or -k K [-s S] [-p P] to work it out "
            "as PyTorch does: (n - 1) * s - 2p + k"
        )
    volume = volume or any(dims is not None and len(dims) == 3 for dims in (shape, size))
    if volume and any(dims is not None and len(dims) == 2 for dims in (shape, size)):
        raise click.UsageError("--volume takes --shape DxHxW (or -k K or DxHxW); HxW is an image's")
    output_spec = OutputSpec(
        **{f: params[f] for f in ("precision", "delimiter", "rescale", "compress_level", "quality")}
    )
    # a volume's spec: read as pool --volume reads one, and written as one (NPY or multi-page TIFF)
    spec = PoolSpec(output=output_spec, layout=layout, max_pixels=max_pixels, volume=volume)
    for path in (values_path, indices_path):
        if path != "-":
            try:
                plan = plan_outputs(path, output, spec, to=to, terminal=sys.stdout.isatty())
            except OptionError as exc:  # the messages name an input: say which
                raise click.UsageError(str(exc).replace("is the input", f"is {_role(path, values_path)}")) from None
    check_output_options(ctx, plan.formats)

    if given(ctx, "color") and plan.destination is not None:
        raise click.UsageError("--color/--no-color applies to the table shown on a terminal; drop it")
    if volume and plan.destination is None:
        raise click.UsageError("a volume is written, not shown as a table: give -o FILE.npy")
    values, indices, name = _read(values_path, indices_path, spec, quiet)
    result = unpool_arrays(
        values,
        indices,
        name,
        shape=shape,
        size=size,
        stride=stride,
        padding=padding,
        max_pixels=max_pixels,
        volume=volume,
    )
    if plan.destination is None:  # a terminal: the result is shown
        from ..render import render_matrix

        console = stdout_console(color)
        shown = result if result.ndim > 1 else result[None, :]
        console.print(
            render_matrix(
                shown, title="unpooled", precision=output_spec.precision, width=console.width, color=colour_on(console)
            )
        )
        return
    from ..formats.files import write_output

    where = "<stdout>" if plan.destination == "-" else plan.destination
    assert plan.fmt is not None
    write, notes = encode(result, plan.fmt, spec, source_dtype=value_type(values), name=where)
    for said in notes:
        note(quiet, said)
    write_output(plan.destination, write)


def _role(path: str, values_path: str) -> str:
    return "VALUES" if path == values_path else "the --indices file"


def _read(values_path: str, indices_path: str, spec: Any, quiet: bool) -> tuple[Any, Any, tuple[str, str]]:
    """The values and indices as loaded, channels last as --layout says, their notes said.

    For a volume, a folder or a file whose format holds volumes (NPY, TIFF) is read as ``pool --volume`` reads
    it (a 4-D NPY, every page of a TIFF); any other (a 3-D JSON) as it is.
    """
    import os

    from ..formats.files import peek, read_input
    from ..formats.volumes import read_volume
    from ..pipeline import to_hwc

    loaded = []
    for path in (values_path, indices_path):
        as_volume = spec.volume and (path == "-" or os.path.isdir(path) or formats.sniff(peek(path)).volume)
        got = (read_volume if as_volume else read_input)(path, max_pixels=spec.max_pixels)
        got, layout_notes = to_hwc(got, spec)
        for said in [*got.notes, *layout_notes]:
            note(quiet, said)
        loaded.append(got)
    return loaded[0], loaded[1], (loaded[0].name, loaded[1].name)


def unpool_arrays(
    values: Any,
    indices: Any,
    names: tuple[str, str],
    *,
    shape: tuple[int, ...] | None,
    size: tuple[int, ...] | None,
    stride: tuple[int, ...] | None,
    padding: tuple[int, ...] | None,
    max_pixels: int,
    volume: bool = False,
) -> Any:
    """The unpooled array of the loaded ``values`` and ``indices``; an InputError names the file and cell at fault."""
    import numpy as np

    from ..engine import unpool as engine_unpool
    from ..formats.errors import InputError

    v, idx = values.array, indices.array
    v_name, idx_name = names
    if v.shape != idx.shape:
        raise InputError(
            f"{idx_name}: holds {_dims(idx.shape)} indices but {v_name} holds {_dims(v.shape)} values; "
            f"each value needs its index (as 'pool --indices' writes them)"
        )
    ndim, signal = _spatial(v.shape, shape, size, volume)
    # a signal in a row is pooled along it, and unpooled likewise: the row stays a row
    spatial_in = (v.size,) if signal else v.shape[:ndim]
    if shape is None:
        assert size is not None
        out_shape = tuple(
            (n - 1) * s - 2 * p + k
            for n, k, s, p in zip(
                spatial_in,
                _each(size, ndim, "-k"),
                _each(stride or size, ndim, "-s"),
                _each(padding or (0,), ndim, "-p"),
            )
        )
        if min(out_shape) < 1:
            raise InputError(
                f"{v_name}: -k/-s/-p give an output of {_dims(out_shape)}, which holds no cell; give --shape"
            )
    else:
        out_shape = shape
    cells = math.prod(out_shape)
    if cells * math.prod(v.shape[ndim:] if not signal else ()) > max_pixels:
        raise InputError(
            f"{v_name}: the result would be {_dims(out_shape)} = {cells:,} cells, more than --max-pixels {max_pixels:,}"
        )
    _check_whole(idx, idx_name)
    bad = (idx < 0) | (idx >= cells)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{idx_name}: cell [{', '.join(map(str, at))}] holds index {_shown(idx[at])}, outside the {_dims(out_shape)} "
            f"output (indices 0 .. {cells - 1}); is {'--shape' if shape else '-k'} the shape of the input that was pooled?"
            + (" (values of a volume: add --volume)" if ndim == 2 and v.ndim == 3 else "")
        )
    idx = idx.astype(np.int64, copy=False)
    if signal:
        flat = engine_unpool(v.reshape(-1), idx.reshape(-1), out_shape, ndim=1)
        return flat if v.ndim == 1 else flat[None, :]
    return engine_unpool(v, idx, out_shape, ndim=ndim)


def _spatial(
    shape: tuple[int, ...], given: tuple[int, ...] | None, size: tuple[int, ...] | None, volume: bool = False
) -> tuple[int, bool]:
    """How many spatial axes lead the values, and whether they are a signal held in a single row (or column).

    --volume says 3; else --shape says it by its length; else -k when it is HxW or DxHxW; else the values: 1-D, a single row or a
    single column is a signal, a 2-D or 3-D array an image (HxW or HxWxC). With --shape N, values of NxC
    are a signal per channel (a column is one channel: the same cells).
    """
    from ..formats.errors import InputError

    ndim = (
        3 if volume else len(given) if given is not None else (len(size) if size is not None and len(size) > 1 else 0)
    )
    row = len(shape) == 1 or (len(shape) == 2 and shape[0] == 1)
    if ndim == 0:
        ndim = 1 if row or (len(shape) == 2 and shape[1] == 1) else 2
    if ndim == 1 and row:
        return 1, True
    if not ndim <= len(shape) <= ndim + 1:
        what = {1: "N or NxC", 2: "HxW or HxWxC", 3: "DxHxW or DxHxWxC"}[ndim]
        raise InputError(f"the values are {_dims(shape)}; a {ndim}-D output needs values of {what}")
    return ndim, False


def _each(dims: tuple[int, ...], ndim: int, flag: str) -> tuple[int, ...]:
    if len(dims) == 1:
        return dims * ndim
    if len(dims) != ndim:
        from ..specs import OptionError

        raise OptionError(
            f"{flag} {'x'.join(map(str, dims))} has {len(dims)} numbers; the values have {ndim} spatial axes"
        )
    return dims


def _check_whole(idx: Any, name: str) -> None:
    """Refuse, by file and cell, indices that are not whole numbers (text and JSON hold numbers as floats)."""
    import numpy as np

    from ..formats.errors import InputError

    if idx.dtype.kind in "iu":
        return
    if idx.dtype.kind != "f":
        raise InputError(f"{name}: indices must be integers, got {idx.dtype}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(idx) | (idx != np.round(idx))
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{name}: cell [{', '.join(map(str, at))}] holds {float(idx[at])!r}, not a whole number: indices are integers"
        )


def _shown(index: Any) -> str:
    """An index as its file gave it: an integer, or a float past 2**53 as the float it was read as (not a made-up integer)."""
    if index.dtype.kind == "f" and abs(float(index)) >= 2**53:
        return f"{float(index)!r} (as read: text holds numbers as float64, whole only below 2**53)"
    return str(int(index))


def _dims(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))
