"""The load -> channels -> filter -> pool -> encode path that `pool` and `batch` share.

A :class:`PoolSpec` holds every choice made on the command line; the functions
here apply it. No click, no printing: notes for the user are returned.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import numpy as np

from . import formats, io
from .engine import DEFAULT_SIZE, conv2d, output_shape, pool2d, reduction


@dataclass(frozen=True)
class PoolSpec:
    """Everything that decides what one input becomes."""

    size: Union[int, Tuple[int, int]] = DEFAULT_SIZE
    stride: Optional[Union[int, Tuple[int, int]]] = None
    padding: Union[str, int, Tuple[int, int]] = "valid"
    mode: str = "max"
    dilation: Union[int, Tuple[int, int]] = 1
    ceil_mode: bool = False
    count_pad: Optional[bool] = None
    output_size: Optional[Union[str, int, Tuple[int, int]]] = None
    norm_type: Optional[float] = None  # lp's p
    kernel: Optional[np.ndarray] = None
    conv_padding: str = "valid"
    relu: bool = False
    gray: bool = False
    channel: Optional[int] = None
    precision: Optional[int] = None
    delimiter: Optional[str] = None
    rescale: str = "auto"
    compress_level: int = 1
    quality: Optional[int] = None  # JPEG (default 95) and WebP (default lossless) output
    layout: Optional[str] = None  # "hwc" (channels last) or "chw"; None: hwc, with a note when an NPY array looks channels-first
    max_pixels: int = io.DEFAULT_MAX_PIXELS

    def pool_kwargs_for_cells(self) -> dict:
        """The window arguments of :func:`poolcli.window_cells`."""
        kwargs = self.pool_kwargs()
        kwargs.pop("mode")
        kwargs.pop("norm_type")
        return kwargs

    def pool_kwargs(self) -> dict:
        if self.output_size is not None:
            return dict(mode=self.mode, norm_type=self.norm_type, output_size=self.output_size)
        return dict(
            size=self.size,
            stride=self.stride,
            padding=self.padding,
            mode=self.mode,
            norm_type=self.norm_type,
            dilation=self.dilation,
            ceil_mode=self.ceil_mode,
            count_pad=self.count_pad,
        )


def prepare(loaded: io.Loaded, spec: PoolSpec) -> Tuple[np.ndarray, List[str]]:
    """Return the array to filter and pool, as (H, W[, C]), and notes; refuse a result larger than ``max_pixels``.

    Everything that depends only on shapes is checked here, before any
    filtering or pooling allocates.
    """
    loaded, notes = to_hwc(loaded, spec)
    arr = select_channels(loaded, spec)
    check_result_size(arr.shape, spec, loaded.name)
    note = _float64_note(arr, spec, loaded.name)
    return arr, notes + ([note] if note else [])


def _float64_note(arr: np.ndarray, spec: PoolSpec, name: str) -> Optional[str]:
    """Say so when 64-bit integers beyond 2**53 go through float64 (a filter, a sum or an average): they are rounded."""
    if arr.dtype not in (np.int64, np.uint64) or (spec.kernel is None and reduction(spec.mode).accumulate == "input"):
        return None
    big = 2**53
    if int(arr.max()) <= big and int(arr.min()) >= -big:
        return None
    what = "the filter" if spec.kernel is not None else f"{spec.mode} pooling"
    return f"{name}: 64-bit integers beyond 2**53 go through float64 in {what}, so results are rounded to 53 bits"


def to_hwc(loaded: io.Loaded, spec: PoolSpec) -> Tuple[io.Loaded, List[str]]:
    """Return the input with its channels last, as ``spec.layout`` says it holds them, and notes."""
    arr = loaded.array
    if spec.layout == "chw":
        if loaded.kind == "image":
            raise io.InputError(
                f"{loaded.name}: --layout chw applies to arrays (NPY); an image's pixels are always rows x columns x channels"
            )
        if arr.ndim == 3:
            return dataclasses.replace(loaded, array=np.moveaxis(arr, 0, -1)), []
        return loaded, []
    if spec.layout is None and loaded.kind == "npy" and arr.ndim == 3 and arr.shape[0] <= 4 < arr.shape[2]:
        h, w, c = arr.shape
        return loaded, [
            f"{loaded.name}: shape {arr.shape} is read as {c} channels of {h}x{w} (channels last); "
            f"if its channels come first, add --layout chw"
        ]
    return loaded, []


def check_result_size(shape: Tuple[int, ...], spec: PoolSpec, name: str) -> None:
    """Refuse, before any work, a padded input or a result of more than ``spec.max_pixels`` pixels (or cells).

    The padded size is worked out first, by arithmetic alone: a vast window
    or dilation must not allocate even while its shape is computed. Raises
    :class:`io.InputError` naming ``--max-pixels``, or ValueError as the
    pooling itself would for a window that does not fit.
    """
    h, w = shape[:2]
    if spec.kernel is not None:
        kh, kw = spec.kernel.shape
        if spec.conv_padding == "valid":
            h, w = h - kh + 1, w - kw + 1
        if h < 1 or w < 1:
            return  # the filter does not fit: conv2d says so
    if spec.output_size is None:
        ph, pw = _padded_extent(h, 0, spec), _padded_extent(w, 1, spec)
        if ph * pw > spec.max_pixels:
            raise io.InputError(
                f"{name}: with its padding the input spans {ph}x{pw} = {ph * pw:,} cells, more than --max-pixels "
                f"{spec.max_pixels:,}; use a smaller window, dilation or padding, or raise --max-pixels"
            )
    kwargs = spec.pool_kwargs_for_cells()
    kwargs.pop("count_pad", None)
    oh, ow = output_shape((h, w), **kwargs)
    if oh * ow > spec.max_pixels:
        raise io.InputError(
            f"{name}: the result would be {oh}x{ow} = {oh * ow:,} pixels, more than --max-pixels {spec.max_pixels:,}; "
            f"raise --max-pixels if this is meant"
        )


def _padded_extent(n: int, axis: int, spec: PoolSpec) -> int:
    """The cells the windows cover along one axis, padding included: the input and its padding, or the last window's reach."""
    def along(v):
        return v[axis] if isinstance(v, tuple) else v

    k = along(spec.size)
    s = k if spec.stride is None else along(spec.stride)
    e = along(spec.dilation) * (k - 1) + 1  # one window, from its first cell to its last
    if spec.padding == "same":
        return max(n, (-(-n // s) - 1) * s + e)  # Keras: ceil(n / s) windows
    p = 0 if spec.padding == "valid" else along(spec.padding)
    span = max(n + 2 * p - e, 0)
    last = -(-span // s) if spec.ceil_mode else span // s  # PyTorch: where the last window starts, in strides
    return max(n + 2 * p, last * s + e)


def value_type(loaded: io.Loaded) -> np.dtype:
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


def select_channels(loaded: io.Loaded, spec: PoolSpec) -> np.ndarray:
    """Return the array to work on: all channels, the gray conversion, or one channel."""
    arr = loaded.array
    if spec.gray:
        return io.gray(loaded)
    if spec.channel is not None:
        channels = 1 if arr.ndim == 2 else arr.shape[2]
        if not 0 <= spec.channel < channels:
            raise io.InputError(
                f"{loaded.name}: --channel {spec.channel} is out of range; the input has {channels} "
                f"channel{'s' if channels != 1 else ''} (0..{channels - 1})"
            )
        return arr if arr.ndim == 2 else arr[:, :, spec.channel]
    if arr.ndim == 3 and arr.shape[2] == 1:
        return arr[:, :, 0]
    return arr


def apply_filter(arr: np.ndarray, spec: PoolSpec) -> np.ndarray:
    """Return the input after the optional filter and ReLU."""
    if spec.kernel is None:
        return np.maximum(arr, 0) if spec.relu and arr.dtype.kind in "if" else arr
    out = conv2d(arr, spec.kernel, spec.conv_padding)
    if spec.relu:
        np.maximum(out, 0, out=out)
    return out


def apply_pool(arr: np.ndarray, spec: PoolSpec, indices: bool = False):
    """Return the pooled array (and the indices when asked)."""
    return pool2d(arr, return_indices=indices, **spec.pool_kwargs())


def resolve_format(output: str, to: Optional[str]) -> str:
    """Return the output format: ``to`` if given, else the extension's; CSV on stdout."""
    if to:
        return to.lower()
    if output == "-":
        return "csv"
    fmt = formats.format_for_path(output)
    if fmt is None:
        ext = os.path.splitext(output)[1] or "(none)"
        raise io.OutputError(
            f"{output}: unknown output extension {ext}; use one of "
            f"{', '.join('.' + f for f in formats.OUTPUT_FORMATS)} or choose with --to"
        )
    return fmt


def encode(result: np.ndarray, fmt: str, spec: PoolSpec, *, source_dtype, name: str) -> Tuple[formats.Write, List[str]]:
    """Check that ``result`` can be written as ``fmt``; return a function that writes it into a binary file, and notes.

    The format's writer, from the registry, gets the settings it declares (:attr:`formats.Writer.options`);
    a format with no writer is refused. Every refusal (channels a format cannot hold, alpha in JPEG ...)
    happens here, before any file is opened.
    """
    writer = formats.writer_for(fmt)
    if result.ndim == 3 and result.shape[2] == 1:
        result = result[:, :, 0]
    options = {option: getattr(spec, option) for option in writer.options}
    return writer.encoder()(result, writer, options, source_dtype=source_dtype, name=name)
