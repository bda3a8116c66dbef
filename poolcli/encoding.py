"""The result to its output format: the writer from the registry, the type whose rules write it, and the
notes of what --dtype and the image writers do to the values."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import formats
from .engine import reduction
from .formats.errors import OutputError
from .formats.imagewrite import ROUNDED, image_bits
from .notes import Note
from .specs import PoolSpec, WindowSpec

__all__ = ["dtype_notes", "encode", "encode_volume", "image_rounding", "rounding_notes", "written_type"]


def image_rounding(spec: PoolSpec, fmt: str, source: np.dtype, pooled: np.dtype) -> list[bool] | None:
    """An empty list where an average of 8- or 16-bit values is written as PNG or TIFF pixels of the same depth,
    for :func:`apply_pool` to say in whether it rounded a value; None elsewhere.

    The writer would round the float64 average half up into the input's type: the engine's ``dtype="same"``
    is that (the exact average rounded half up, from integer sums), without the float64 array and the
    writer's passes over it. The bytes are the same: a quotient of integers (of fewer than 2**40 cells) is a
    whole number, or lies on a half, exactly when its float64 value does. The writer's note that values were
    rounded is said by :func:`rounding_notes` from the list.
    """
    window = spec.window
    if spec.volume or window.dtype is not None or window.fractional is not None or spec.output.rescale == "minmax":
        return None
    if reduction(window.mode).finish != "divide" or pooled != source or pooled not in (np.uint8, np.uint16):
        return None
    codec = formats.writer_for(fmt).codec
    if codec == "TIFF" or (codec == "PNG" and image_bits(fmt, source) == 8 * source.itemsize):
        return []
    return None


def rounding_notes(name: str, rounded: list[bool] | None) -> list[Note]:
    """The note the image writer gives when it rounds averages (see :func:`image_rounding`)."""
    return [Note(name, ROUNDED, "values")] if rounded else []


def dtype_notes(name: str, source: np.dtype, window: WindowSpec) -> list[Note]:
    """What --dtype does to the values, when it can change them: rounded half up, saturated, or narrowed."""
    if window.dtype is None:
        return []
    target = source if window.dtype == "same" else np.dtype(window.dtype)
    natural = source if reduction(window.mode).accumulate == "input" or source.kind == "f" else np.dtype(np.float64)
    if target.kind in "iu":
        info = np.iinfo(target)
        changes = natural.kind == "f" or not (np.iinfo(natural).min >= info.min and np.iinfo(natural).max <= info.max)
        text = f"--dtype {target}: results rounded half up and saturated to {info.min}..{info.max}"
    else:  # a float holds every integer up to 2**(its mantissa's bits) and every narrower float
        if natural.kind in "iub":
            info = np.iinfo(np.uint8 if natural.kind == "b" else natural)
            changes = max(-int(info.min), int(info.max)) > 2 ** (np.finfo(target).nmant + 1)
        else:
            changes = natural.itemsize > target.itemsize
        text = f"--dtype {target}: results rounded to the nearest {target}"
    return [Note(name, text, "precision")] if changes else []


def encode(
    result: np.ndarray, fmt: str, spec: PoolSpec, *, source_dtype: Any, name: str
) -> tuple[formats.Write, list[Note]]:
    """Check that ``result`` can be written as ``fmt``; return a function that writes it into a binary file, and notes.

    The format's writer, from the registry, gets the settings it declares (:attr:`formats.Writer.options`);
    a format with no writer is refused. Every refusal (channels a format cannot hold, alpha in JPEG ...)
    happens here, before any file is opened. The writer says the kind of each note: "format" for what the
    format does to any values ("JPEG is lossy"), "values" for these values ("rounded half up").
    """
    writer = formats.writer_for(fmt)
    source_dtype = written_type(spec, writer, source_dtype)
    if spec.volume:
        return encode_volume(result, writer, spec, source_dtype=source_dtype, name=name)
    if result.ndim == 1 and writer.kind != "npy":
        result = result[np.newaxis]  # a 1-D signal is written as one row: read back, a row is a signal again
    if result.ndim == 3 and result.shape[2] == 1:
        result = result[:, :, 0]
    settings = {**vars(spec.output), "layout": spec.layout}
    options = tuple((option, settings[option]) for option in writer.options)
    write, lines = writer.encoder()(result, writer, dict(options), source_dtype=source_dtype, name=name)
    return write, [Note.about(name, line, kind) for line, kind in lines]


def written_type(spec: PoolSpec, writer: formats.Writer, source_dtype: Any) -> Any:
    """The type whose rules write the result: a --dtype asked for, where the format can hold it as asked.

    An integer type is written by its own range (--dtype uint16 gives a 16-bit PNG of the values, not 8-bit
    pixels); a float type goes to TIFF as its float samples. Otherwise the input's values keep their meaning
    (a float64 average of 8-bit pixels written to PNG is 8-bit pixels again, rounded half up).
    """
    asked = spec.window.dtype
    if asked is None or asked == "same":
        return source_dtype
    asked_type = np.dtype(asked)
    return asked_type if asked_type.kind in "iu" or writer.codec == "TIFF" else source_dtype


def encode_volume(
    result: np.ndarray, writer: formats.Writer, spec: PoolSpec, *, source_dtype: Any, name: str
) -> tuple[formats.Write, list[Note]]:
    """A volume's encoder from the registry (:attr:`formats.Writer.volume`); a format that holds none is refused."""
    if not writer.volume:
        raise OutputError(f"{name}: {writer.label} holds one image, not a volume; {formats.volume_formats()}")
    settings = {**vars(spec.output), "layout": spec.layout}
    options = {option: settings[option] for option in writer.options}
    write, lines = writer.volume_encoder()(result, writer, options, source_dtype=source_dtype, name=name)
    return write, [Note.about(name, line, "values") for line in lines]
