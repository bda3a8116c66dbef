"""One run: load -> channels -> filter -> pool -> encode -> write, for `pool`, batch's workers and Dask alike.

:func:`run` does it all and returns a :class:`Result`; :func:`plan_outputs` (from
:mod:`poolcli.plan`) checks where the outputs go before anything is read. A
:class:`PoolSpec` holds every choice made on the command line. No click, no
printing: notes for the user are returned as :class:`Note` records.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass
from typing import Any, Callable, TypeVar, cast

import numpy as np

from . import formats
from .engine import conv2d, pool, reduction
from .engine.pooling import pool_rounded
from .filters import is_filter_name, parse_filter
from .formats.errors import InputError
from .formats.files import Loaded, read_input, write_output
from .formats.images import gray
from .formats.volumes import input_size, read_volume
from .encoding import dtype_notes, encode, image_rounding, rounding_notes
from .notes import Note
from .plan import OutputPlan, plan_outputs, resolve_format
from .shapes import WHAT, check_result_size, spatial_ndim
from .specs import FilterSpec, OptionError, OutputSpec, PoolSpec, WindowSpec

__all__ = [
    "FilterSpec",
    "Note",
    "OptionError",
    "OutputPlan",
    "OutputSpec",
    "PoolSpec",
    "Result",
    "WindowSpec",
    "check_result_size",
    "load_filter",
    "plan_outputs",
    "run",
]


@dataclass
class Result:
    """What a run made: the values (and indices), the notes, and the bytes read and written."""

    values: np.ndarray
    indices: np.ndarray | None
    notes: list[Note]
    bytes_in: int | None  # the input file's size; None for standard input
    bytes_out: int  # every byte written: the output and the indices


F = TypeVar("F", bound=Callable[..., Any])


def _naming_the_input(run: F) -> F:
    """``run`` whose engine errors (a window that does not fit, NaN for an integer dtype) name the input, as the
    readers' errors do; InputError, OutputError and the like name what they are about already."""

    @functools.wraps(run)
    def named(source: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return run(source, *args, **kwargs)
        except ValueError as exc:
            if type(exc) is not ValueError:
                raise
            raise InputError(f"{'<stdin>' if source == '-' else source}: {exc}") from None

    return cast(F, named)


@_naming_the_input
def run(
    source: str,
    destination: str | None,
    spec: PoolSpec,
    *,
    fmt: str | None = None,
    indices: str | None = None,
    indices_fmt: str | None = None,
    make_folders: bool = False,
    on_note: Callable[[Note], None] | None = None,
    on_pooled: Callable[[np.ndarray, np.ndarray], None] | None = None,
    keep_values: bool = True,
    on_bands: Callable[[str, np.ndarray], None] | None = None,
) -> Result:
    """Pool ``source`` (a path or ``-``) as ``spec`` says and write the result to ``destination``.

    ``destination`` is a path, ``-`` (stdout), or None to write nothing (the
    values are returned, say to be shown). ``fmt`` is the output format
    (default: the destination's extension; CSV on stdout); ``indices`` a path
    (or ``-``) for the chosen cells' flat indices, in ``indices_fmt`` (default:
    from its extension). ``make_folders`` creates the destination's folder.
    ``on_note`` is called with each note as it arises (also returned);
    ``on_pooled`` with the array pooled (after the filter) and the result,
    before anything is encoded. ``keep_values=False`` lets a text or NPY
    input that is written somewhere be pooled band by band, each row written
    as soon as it is made (:mod:`poolcli.stream`): the values and indices then
    come back as empty arrays of the result's type and row shape. ``on_bands``
    lets a run with ``on_pooled`` stream all the same: a streamed run calls it
    instead, with ("pooled", rows) for each band of the array pooled and
    ("result", rows) for each band of the result, in order.

    Every check has passed before the first byte is written; each file
    then appears whole or not at all. Raises :class:`InputError`,
    :class:`OutputError` (ValueErrors, each naming its file) or OSError.
    """
    notes: list[Note] = []

    def say(new: list[Note]) -> None:
        notes.extend(new)
        if on_note is not None:
            for n in new:
                on_note(n)

    from .stream import try_stream  # text and NPY band by band, where the run allows it

    streamed = None
    if destination is not None and not keep_values and (on_pooled is None or on_bands is not None):
        fmt = fmt or resolve_format(destination, None)
        streamed = try_stream(
            source,
            destination,
            spec,
            fmt=fmt,
            indices=indices,
            indices_fmt=indices_fmt,
            make_folders=make_folders,
            say=say,
            watch=on_bands,
        )
    if isinstance(streamed, Result):
        return dataclasses.replace(streamed, notes=notes)
    if streamed is not None:
        loaded = streamed
    elif spec.volume:
        loaded = read_volume(source, max_pixels=spec.max_pixels)
    else:
        loaded = read_input(source, max_pixels=spec.max_pixels)
    bytes_in = None if source == "-" else input_size(source)
    arr, prepared = prepare(loaded, spec)
    say([Note.about(loaded.name, n, "input") for n in loaded.notes] + prepared)
    ndim = spatial_ndim(arr.shape, spec)
    pooled = apply_filter(arr, spec.filter)
    # values kept or shown are the float average, as before; written only, they may be pooled as integers
    rounded = None
    if destination is not None and not keep_values and on_pooled is None:
        out_fmt = fmt or resolve_format(destination, None)
        rounded = image_rounding(spec, out_fmt, value_type(loaded), pooled.dtype)
    values, idx = (
        apply_pool(pooled, spec.window, indices=True, ndim=ndim)
        if indices is not None
        else (apply_pool(pooled, spec.window, ndim=ndim, rounded=rounded), None)
    )
    say(dtype_notes(loaded.name, pooled.dtype, spec.window))
    if on_pooled is not None:
        on_pooled(pooled, values)
    writes: list[tuple[str, formats.Write]] = []
    encoded: list[Note] = []
    if destination is not None:
        name = "<stdout>" if destination == "-" else destination
        write, encoded = encode(
            values, fmt or resolve_format(destination, None), spec, source_dtype=value_type(loaded), name=name
        )
        encoded = rounding_notes(name, rounded) + encoded
        writes.append((destination, write))
    if idx is not None and indices is not None:
        idx_fmt = indices_fmt or (formats.format_for_path(indices) if indices != "-" else None) or "csv"
        writes.append((indices, encode(idx, idx_fmt, spec, source_dtype=idx.dtype, name=indices)[0]))
    say(encoded)
    bytes_out = 0
    for path, write in writes:
        if make_folders and path != "-":
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        bytes_out += write_output(path, write)
    return Result(values, idx, notes, bytes_in, bytes_out)


def load_filter(text: str) -> np.ndarray:
    """The kernel ``text`` names: a filter's name, else a text matrix file, else inline weights ("1,2;3,4").

    Raises :class:`poolcli.filters.FilterError` for weights that cannot be read, :class:`InputError`
    for a file that holds no 2-D matrix.
    """
    if not is_filter_name(text) and os.path.isfile(text):
        loaded = read_input(text)
        if loaded.array.ndim != 2:
            raise InputError(f"{text}: a filter must be a 2-D matrix, got shape {loaded.array.shape}")
        return loaded.array.astype(float)
    return parse_filter(text)


# --------------------------------------------------------------------------- the steps


def prepare(loaded: Loaded, spec: PoolSpec) -> tuple[np.ndarray, list[Note]]:
    """Return the array to filter and pool, as (H, W[, C]), and notes; refuse a result larger than ``max_pixels``.

    Everything that depends only on shapes is checked here, before any
    filtering or pooling allocates.
    """
    loaded, notes = to_hwc(loaded, spec)
    arr = select_channels(loaded, spec)
    ndim = spatial_ndim(arr.shape, spec)
    if arr.ndim == 1 and spec.window.axes() > 1:
        raise InputError(f"{loaded.name}: a 1-D signal takes windows of one number (-k 4), not pairs")
    if spec.window.fractional is not None and ndim == 1:
        raise InputError(
            f"{loaded.name}: fractional max pooling takes an image or a volume, not a signal (PyTorch has none)"
        )
    if spec.filter.kernel is not None and (arr.ndim == 1 or spec.volume):
        raise InputError(f"{loaded.name}: a filter (-c) acts on 2-D inputs; this is a {WHAT[ndim]}")
    check_result_size(arr.shape, spec, loaded.name, ndim)
    note = _float64_note(arr, spec, loaded.name, loaded.kind)
    return arr, notes + ([note] if note else [])


def _float64_note(arr: np.ndarray, spec: PoolSpec, name: str, kind: str = "npy") -> Note | None:
    """Say so when 64-bit integers beyond 2**53 go through float64 (a filter, a sum or an average): they are rounded.

    Text is read as float64: whole numbers of 2**53 or more written in text may have been rounded on reading.
    """
    if kind == "text" and arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            big = np.abs(arr) >= 2.0**53
        if big.any() and bool(np.isfinite(arr[big]).any()):
            return Note(
                name,
                "text is read as float64, whose whole numbers from 2**53 on are 2 or more apart: integers written "
                "with more digits are rounded to the nearest float64 (write NPY or JSON to keep 64-bit integers)",
                "precision",
            )
        return None
    filtered = spec.filter.kernel is not None
    if arr.dtype not in (np.int64, np.uint64) or (not filtered and reduction(spec.window.mode).accumulate == "input"):
        return None
    big = 2**53
    if int(arr.max()) <= big and int(arr.min()) >= -big:
        return None
    what = "the filter" if filtered else f"{spec.window.mode} pooling"
    return Note(
        name,
        f"64-bit integers beyond 2**53 go through float64 in {what}, so results are rounded to 53 bits",
        "precision",
    )


def to_hwc(loaded: Loaded, spec: PoolSpec) -> tuple[Loaded, list[Note]]:
    """Return the input with its channels last, as ``spec.layout`` says it holds them, and notes."""
    arr = loaded.array
    if spec.layout == "chw" and loaded.kind == "image":
        raise InputError(
            f"{loaded.name}: --layout chw applies to arrays (NPY); an image's pixels are always rows x columns x channels"
        )
    if spec.layout == "chw":
        with_channels = 4 if spec.volume else 3  # a volume's readers give (D, H, W) or (C, D, H, W)
        if arr.ndim != with_channels:
            held = "(C, D, H, W)" if spec.volume else "(C, H, W)"
            raise InputError(
                f"{loaded.name}: --layout chw puts a first axis of channels last, and this {arr.ndim}-D input has none "
                f"(that would be {held}); drop --layout"
            )
        return dataclasses.replace(loaded, array=np.moveaxis(arr, 0, -1)), []
    if (
        spec.layout is None
        and not spec.volume
        and loaded.kind == "npy"
        and arr.ndim == 3
        and arr.shape[0] <= 4 < arr.shape[2]
    ):
        h, w, c = arr.shape
        text = f"shape {arr.shape} is read as {c} channels of {h}x{w} (channels last); if its channels come first, add --layout chw"
        return loaded, [Note(loaded.name, text, "layout")]
    return loaded, []


def value_type(loaded: Loaded) -> np.dtype:
    """The type whose rules decide how the input's values become pixels.

    Arrays and images have their own. Text and JSON declare none, so their values decide: whole numbers within
    0..255 are 8-bit values, within 0..65535 16-bit values, other whole numbers int64; values with
    fractions are float data (0..1 the full range) when they all lie within 0..1, else 8- or 16-bit values
    by the same ranges (an average of 8-bit pixels sent through a CSV pipe); anything else float data. So
    an image sent through a CSV pipe comes back as the same pixels.
    """
    arr = loaded.array
    if formats.reader_named(loaded.kind).typed or arr.dtype.kind not in "iuf":
        return arr.dtype
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return arr.dtype
    lo, hi = float(finite.min()), float(finite.max())
    whole = finite.size == arr.size and bool((finite == np.round(finite)).all())
    if not whole and lo >= 0 and hi <= 1:
        return arr.dtype
    for candidate in (np.uint8, np.uint16):
        if lo >= 0 and hi <= np.iinfo(candidate).max:
            return np.dtype(candidate)
    return np.dtype(np.int64) if whole else arr.dtype


def select_channels(loaded: Loaded, spec: PoolSpec) -> np.ndarray:
    """Return the array to work on: all channels, the gray conversion, or one channel (channels are last)."""
    arr = loaded.array
    spatial = 3 if spec.volume else min(arr.ndim, 2)
    channels = arr.shape[spatial] if arr.ndim > spatial else 1
    if spec.gray:
        if arr.ndim == spatial:
            return arr
        if spec.volume:  # slice by slice, by the same weights as an image
            return np.stack([gray(dataclasses.replace(loaded, array=part)) for part in arr])
        return gray(loaded)
    if spec.channel is not None:
        if not 0 <= spec.channel < channels:
            raise InputError(
                f"{loaded.name}: --channel {spec.channel} is out of range; the input has {channels} "
                f"channel{'s' if channels != 1 else ''} (0..{channels - 1})"
            )
        return arr if arr.ndim == spatial else arr[..., spec.channel]
    if arr.ndim > spatial and channels == 1:
        return arr[..., 0]
    return arr


def apply_filter(arr: np.ndarray, spec: FilterSpec) -> np.ndarray:
    """Return the input after the optional filter and ReLU."""
    if spec.kernel is None:
        return np.maximum(arr, 0) if spec.relu and arr.dtype.kind in "if" else arr
    out = conv2d(arr, np.array(spec.kernel), spec.padding)
    if spec.relu:
        np.maximum(out, 0, out=out)
    return out


def apply_pool(
    arr: np.ndarray, spec: WindowSpec, indices: bool = False, ndim: int = 2, rounded: list[bool] | None = None
) -> Any:
    """Return the pooled array (and the indices when asked, as a pair), pooled along its first ``ndim`` axes.

    A signal (``ndim`` 1) given as a row (1, N[, C]) or a column (N, 1[, C]) is pooled along its length and
    returned in the same orientation; its indices, counted along it, are those of the row or column too.
    With ``rounded`` (from :func:`image_rounding`) an average comes back in the input's integer type, rounded
    half up, and True is appended to ``rounded`` when a value was rounded.
    """
    pooler: Callable[..., Any] = pool if rounded is None else functools.partial(_pool_rounded, rounded=rounded)
    if spec.fractional is not None:
        from .engine import fractional_max_pool2d, fractional_max_pool3d

        f = spec.fractional
        fractional: Any = fractional_max_pool3d if ndim == 3 else fractional_max_pool2d  # the spec holds either's sizes
        return fractional(arr, spec.size, f.output_size, f.output_ratio, seed=f.seed, return_indices=indices)
    if ndim == 1 and arr.ndim >= 2:
        row = arr.shape[0] == 1
        got = pooler(arr[0] if row else arr[:, 0], ndim=1, return_indices=indices, **spec.pool_kwargs())
        parts: tuple[np.ndarray, ...] = got if isinstance(got, tuple) else (got,)
        back = tuple(part[np.newaxis] if row else part[:, np.newaxis] for part in parts)
        return back if indices else back[0]
    return pooler(arr, ndim=ndim, return_indices=indices, **spec.pool_kwargs())


def _pool_rounded(arr: np.ndarray, *, rounded: list[bool], **kwargs: Any) -> np.ndarray:
    """:func:`pool_rounded` with ``pool``'s arguments, its answer kept in ``rounded``."""
    values, inexact = pool_rounded(arr, **kwargs)
    if inexact and not rounded:
        rounded.append(True)
    return values
