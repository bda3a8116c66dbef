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
from typing import Any, Callable

import numpy as np

from . import formats
from .engine import conv2d, output_shape, pool2d, reduction
from .filters import is_filter_name, parse_filter
from .formats.errors import InputError
from .formats.files import Loaded, read_input, write_output
from .formats.images import gray
from .plan import OutputPlan, plan_outputs, resolve_format
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
    "load_filter",
    "plan_outputs",
    "run",
]


@dataclass(frozen=True)
class Note:
    """Something the user should know about a run: a value changed, a guess made.

    ``kind`` says what it is about, so that callers can de-duplicate without reading the text:
    "input" (how the input was read), "layout" (how its axes were taken), "precision" (values rounded on
    the way), "values" (values changed to fit the output), "format" (what the output format does to any
    values: the same for every file of a batch).
    """

    where: str  # the file or stream it is about: a path, "<stdin>", "<stdout>"
    text: str
    kind: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}" if self.where else self.text

    @classmethod
    def about(cls, where: str, line: str, kind: str) -> Note:
        """The note ``line`` says about ``where`` (a line such as ``"a.png: text"``, as the readers give them)."""
        prefix = where + ": "
        return cls(where, line[len(prefix) :], kind) if line.startswith(prefix) else cls("", line, kind)


@dataclass
class Result:
    """What a run made: the values (and indices), the notes, and the bytes read and written."""

    values: np.ndarray
    indices: np.ndarray | None
    notes: list[Note]
    bytes_in: int | None  # the input file's size; None for standard input
    bytes_out: int  # every byte written: the output and the indices


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
    come back as empty arrays of the result's type and row shape.

    Every check has passed before the first byte is written; each file
    then appears whole or not at all. Raises :class:`InputError`,
    :class:`OutputError` (ValueErrors) or OSError.
    """
    notes: list[Note] = []

    def say(new: list[Note]) -> None:
        notes.extend(new)
        if on_note is not None:
            for n in new:
                on_note(n)

    from .stream import try_stream  # text and NPY band by band, where the run allows it

    streamed = None
    if destination is not None and not keep_values and on_pooled is None:
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
        )
    if isinstance(streamed, Result):
        return dataclasses.replace(streamed, notes=notes)
    loaded = streamed or read_input(source, max_pixels=spec.max_pixels)
    bytes_in = None if source == "-" else os.path.getsize(source)
    arr, prepared = prepare(loaded, spec)
    say([Note.about(loaded.name, n, "input") for n in loaded.notes] + prepared)
    pooled = apply_filter(arr, spec.filter)
    values, idx = (
        apply_pool(pooled, spec.window, indices=True)
        if indices is not None
        else (apply_pool(pooled, spec.window), None)
    )
    if on_pooled is not None:
        on_pooled(pooled, values)
    writes: list[tuple[str, formats.Write]] = []
    encoded: list[Note] = []
    if destination is not None:
        name = "<stdout>" if destination == "-" else destination
        write, encoded = encode(
            values, fmt or resolve_format(destination, None), spec, source_dtype=value_type(loaded), name=name
        )
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
    check_result_size(arr.shape, spec, loaded.name)
    note = _float64_note(arr, spec, loaded.name)
    return arr, notes + ([note] if note else [])


def _float64_note(arr: np.ndarray, spec: PoolSpec, name: str) -> Note | None:
    """Say so when 64-bit integers beyond 2**53 go through float64 (a filter, a sum or an average): they are rounded."""
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
    if spec.layout == "chw":
        if loaded.kind == "image":
            raise InputError(
                f"{loaded.name}: --layout chw applies to arrays (NPY); an image's pixels are always rows x columns x channels"
            )
        if arr.ndim == 3:
            return dataclasses.replace(loaded, array=np.moveaxis(arr, 0, -1)), []
        return loaded, []
    if spec.layout is None and loaded.kind == "npy" and arr.ndim == 3 and arr.shape[0] <= 4 < arr.shape[2]:
        h, w, c = arr.shape
        text = f"shape {arr.shape} is read as {c} channels of {h}x{w} (channels last); if its channels come first, add --layout chw"
        return loaded, [Note(loaded.name, text, "layout")]
    return loaded, []


def check_result_size(shape: tuple[int, ...], spec: PoolSpec, name: str) -> None:
    """Refuse, before any work, a padded input or a result of more than ``spec.max_pixels`` pixels (or cells).

    The padded size is worked out first, by arithmetic alone: a vast window
    or dilation must not allocate even while its shape is computed. Raises
    :class:`InputError` naming ``--max-pixels``, or ValueError as the
    pooling itself would for a window that does not fit.
    """
    h, w = shape[:2]
    window = spec.window
    if spec.filter.kernel is not None:
        kh, kw = spec.filter.shape
        if spec.filter.padding == "valid":
            h, w = h - kh + 1, w - kw + 1
        if h < 1 or w < 1:
            return  # the filter does not fit: conv2d says so
    if window.output_size is None:
        ph, pw = _padded_extent(h, 0, window), _padded_extent(w, 1, window)
        if ph * pw > spec.max_pixels:
            raise InputError(
                f"{name}: with its padding the input spans {ph}x{pw} = {ph * pw:,} cells, more than --max-pixels "
                f"{spec.max_pixels:,}; use a smaller window, dilation or padding, or raise --max-pixels"
            )
    oh, ow = output_shape((h, w), **window.shape_kwargs())
    if oh * ow > spec.max_pixels:
        raise InputError(
            f"{name}: the result would be {oh}x{ow} = {oh * ow:,} pixels, more than --max-pixels {spec.max_pixels:,}; "
            f"raise --max-pixels if this is meant"
        )


def _padded_extent(n: int, axis: int, spec: WindowSpec) -> int:
    """The cells the windows cover along one axis, padding included: the input and its padding, or the last window's reach."""

    def along(v: Any) -> int:
        return int(v[axis] if isinstance(v, tuple) else v)

    k = along(spec.size)
    s = k if spec.stride is None else along(spec.stride)
    e = along(spec.dilation) * (k - 1) + 1  # one window, from its first cell to its last
    if spec.padding == "same":
        return max(n, (-(-n // s) - 1) * s + e)  # Keras: ceil(n / s) windows
    p = 0 if spec.padding == "valid" else along(spec.padding)
    span = max(n + 2 * p - e, 0)
    last = -(-span // s) if spec.ceil_mode else span // s  # PyTorch: where the last window starts, in strides
    return max(n + 2 * p, last * s + e)


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
    """Return the array to work on: all channels, the gray conversion, or one channel."""
    arr = loaded.array
    if spec.gray:
        return gray(loaded)
    if spec.channel is not None:
        channels = 1 if arr.ndim == 2 else arr.shape[2]
        if not 0 <= spec.channel < channels:
            raise InputError(
                f"{loaded.name}: --channel {spec.channel} is out of range; the input has {channels} "
                f"channel{'s' if channels != 1 else ''} (0..{channels - 1})"
            )
        return arr if arr.ndim == 2 else arr[:, :, spec.channel]
    if arr.ndim == 3 and arr.shape[2] == 1:
        return arr[:, :, 0]
    return arr


def apply_filter(arr: np.ndarray, spec: FilterSpec) -> np.ndarray:
    """Return the input after the optional filter and ReLU."""
    if spec.kernel is None:
        return np.maximum(arr, 0) if spec.relu and arr.dtype.kind in "if" else arr
    out = conv2d(arr, np.array(spec.kernel), spec.padding)
    if spec.relu:
        np.maximum(out, 0, out=out)
    return out


def apply_pool(arr: np.ndarray, spec: WindowSpec, indices: bool = False) -> Any:
    """Return the pooled array (and the indices when asked, as a pair)."""
    return pool2d(arr, return_indices=indices, **spec.pool_kwargs())


def encode(
    result: np.ndarray, fmt: str, spec: PoolSpec, *, source_dtype: Any, name: str
) -> tuple[formats.Write, list[Note]]:
    """Check that ``result`` can be written as ``fmt``; return a function that writes it into a binary file, and notes.

    The format's writer, from the registry, gets the settings it declares (:attr:`formats.Writer.options`);
    a format with no writer is refused. Every refusal (channels a format cannot hold, alpha in JPEG ...)
    happens here, before any file is opened. A note the writer gives whatever the values ("JPEG is lossy")
    is of kind "format"; one about these values ("rounded half up") of kind "values".
    """
    writer = formats.writer_for(fmt)
    if result.ndim == 3 and result.shape[2] == 1:
        result = result[:, :, 0]
    settings = {**vars(spec.output), "layout": spec.layout}
    options = tuple((option, settings[option]) for option in writer.options)
    write, lines = writer.encoder()(result, writer, dict(options), source_dtype=source_dtype, name=name)
    if not lines:
        return write, []
    notes = [Note.about(name, line, "values") for line in lines]
    anyway = _said_anyway(writer, options, result.shape[2:])
    return write, [dataclasses.replace(n, kind="format") if n.text in anyway else n for n in notes]


@functools.lru_cache(maxsize=64)
def _said_anyway(
    writer: formats.Writer, options: tuple[tuple[str, Any], ...], channels: tuple[int, ...]
) -> frozenset[str]:
    """What ``writer`` says about its format: the texts of its notes for 8-bit zeros, which need no change.

    The writers return their notes as text. One they give for 8-bit zeros (with the result's channels) is
    about the format itself (JPEG is lossy, GIF holds 256 colours) and the same for every file; one they do
    not is about these values or their type (rounded, 16-bit scaled to 8): it is never said only once.
    """
    zeros = np.zeros((1, 1) + channels, np.uint8)
    try:
        lines = writer.encoder()(zeros, writer, dict(options), source_dtype=zeros.dtype, name="<probe>")[1]
    except ValueError:  # a writer that takes no 8-bit values says nothing about its format: every note is said
        return frozenset()
    return frozenset(Note.about("<probe>", line, "").text for line in lines)
