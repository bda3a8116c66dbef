"""Writing images: a result's values become pixels by fixed rules (said in a note), then Pillow, the 16-bit PNG
writer or libvips encodes them. Which sample types each format holds is the registry's (:attr:`Writer.dtypes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import Write, Writer, writer_for
from .errors import OutputError
from . import codecs
from .headers import ImageError

__all__ = ["DEFAULT_JPEG_QUALITY", "ROUNDED", "encode", "image_bits", "image_writer", "to_image_array", "to_tiff_array"]

#: The note for values rounded to whole pixel values (also said by the pipeline when it pools them whole).
ROUNDED = "values rounded half up to integers"


def to_image_array(
    arr: np.ndarray, *, bits: int, rescale: str = "auto", source_dtype: Any = None
) -> tuple[np.ndarray, str | None]:
    """Return ``arr`` as pixels of ``bits`` bits (8, 16, or 32 for float32), and a note when values changed.

    The input's type (``source_dtype``, by default ``arr``'s) says what a value means, whatever the
    pooling or filter made of it: integers are pixel values; uint16 written as 8 bits is scaled by the
    fixed x*255/65535 (as ImageMagick does); float data spans 0..1 (scikit-image's and ImageMagick's
    convention), so it is scaled by 255 or 65535. Scaled values are rounded half up. Values that still do
    not fit: ``auto`` stretches the smallest to 0 and the largest to the top, ``clip`` clips them;
    ``minmax`` always stretches. Values never wrap around; NaN becomes 0. Float32 pixels keep every
    value float32 holds. The note says whenever a value was scaled, rounded, clipped or stretched.
    """
    if bits == 32:
        return _to_float32(arr)
    source = np.dtype(arr.dtype if source_dtype is None else source_dtype)
    top = (1 << bits) - 1
    target = np.uint8 if bits == 8 else np.uint16
    if source.kind == "f":
        unit, scaled = "0..1", f"float values 0..1 scaled to 0..{top} (x*{top}, rounded half up)"
    elif source == np.uint16 and bits == 8:
        unit, scaled = "0..65535", "16-bit values scaled to 8 bits (x*255/65535, rounded half up)"
    else:
        unit, scaled = f"0..{top}", None
    if arr.dtype.kind in "iub" and rescale != "minmax" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if scaled is None and lo >= 0 and hi <= top:
            return arr.astype(target, copy=False), None
        if source == np.uint16 and bits == 8 and lo >= 0 and hi <= 65535:
            return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8), scaled  # exact in integers
    a, note = _nan_as_zero(arr)
    if source.kind == "f":
        a *= top
    elif scaled is not None:
        a /= 257
    if rescale != "minmax":
        r = round_half_up(a)
        fits = bool(np.isfinite(r).all() and r.min() >= 0 and r.max() <= top)
        if fits or rescale == "clip":
            rounded = bool((r != a).any())
            if not fits:
                r = np.clip(r, 0, top)
                note = _join(note, f"values outside {unit} clipped")
            if scaled is not None:
                note = _join(note, scaled)
            elif rounded:
                note = _join(note, ROUNDED)
            return r.astype(target), note
    finite = a[np.isfinite(a)]
    low = float(finite.min()) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 0.0
    if rescale == "auto":
        unscale = 1 / top if source.kind == "f" else 257 if scaled is not None else 1
        note = _join(
            note,
            f"values span {low * unscale + 0.0:g}..{high * unscale + 0.0:g}, beyond {unit}; stretched to 0..{top} (--rescale clip to clip instead)",
        )
    a = np.clip(a, low, high)
    scaled_to_top = np.zeros_like(a) if high == low else (a - low) * (top / (high - low))
    return round_half_up(scaled_to_top).astype(target), note


def _nan_as_zero(arr: np.ndarray) -> tuple[np.ndarray, str | None]:
    """``arr`` as float64 with NaN written as 0 (a pixel has no NaN), and a note when there was one."""
    a = arr.astype(np.float64)
    nan = np.isnan(a)
    if not nan.any():
        return a, None
    a[nan] = 0
    return a, f"{int(nan.sum())} NaN values written as 0"


def round_half_up(a: np.ndarray) -> np.ndarray:
    """``a`` rounded to whole numbers, halves up, exactly: ``floor(a + 0.5)`` is wrong for 0.49999999999999994
    (the sum rounds to 1) and past 2**52; a float minus its floor is exact, so comparing that is not."""
    with np.errstate(invalid="ignore"):  # inf - inf: an infinity stays one
        r = np.floor(a)
        r += (a - r) >= 0.5
    return r


def _to_float32(arr: np.ndarray) -> tuple[np.ndarray, str | None]:
    with np.errstate(over="ignore"):  # beyond float32's range: inf, and said below
        out = arr.astype(np.float32)
    if (arr.dtype.itemsize <= 2 and arr.dtype.kind == "f") or arr.dtype == np.float32:
        return out, None  # float16 and float32 values are all float32 values
    with np.errstate(invalid="ignore"):
        kept = (out == arr) | (np.isnan(out) & np.isnan(arr))
    if kept.all():
        return out, None
    beyond = int((np.isinf(out) & np.isfinite(arr)).sum())
    rounded = int(kept.size - kept.sum()) - beyond
    said = [f"{rounded} of {kept.size} values rounded to the nearest float32"] if rounded else []
    said += [f"{beyond} of {kept.size} values beyond float32's range became infinite"] if beyond else []
    return out, "; ".join(
        said
    ) + " (TIFF floats are written as float32, which Pillow and libvips read; write .npy to keep float64)"


def to_tiff_array(arr: np.ndarray, *, rescale: str = "auto", source_dtype: Any = None) -> tuple[np.ndarray, str | None]:
    """Return ``arr`` in the sample type a TIFF holds it in, and a note when values changed.

    Integer results of a type TIFF holds (8, 16, 32 bits, signed or not) are written as they are; float
    results of integer input are rounded half up into the input's type (8-bit input: uint8; 64-bit integers:
    int32 or uint32 where every value fits); float input gives float32. Values that do not fit the type
    follow ``rescale`` as for any image, over the type's range.
    """
    source = np.dtype(arr.dtype if source_dtype is None else source_dtype)
    if source.kind == "f" or arr.dtype == np.float32:  # float32 results of integers: asked for (--dtype float32)
        return _to_float32(arr)
    own = np.dtype(np.uint8) if arr.dtype == np.bool_ else arr.dtype
    target = own if own.name in codecs.TIFF_TYPES else np.dtype(np.uint8) if source == np.bool_ else source
    if target.name not in codecs.TIFF_TYPES:  # 64-bit integers: the 32-bit type that holds them, if one does
        lo, hi = (float(np.nanmin(arr)), float(np.nanmax(arr))) if arr.size else (0.0, 0.0)
        fits = [t for t in (np.int32, np.uint32) if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max]
        target = np.dtype(fits[0]) if fits else np.dtype(np.int32)
    if target in (np.uint8, np.uint16):
        return to_image_array(arr, bits=8 * target.itemsize, rescale=rescale, source_dtype=target)
    return _round_into(arr, target, rescale)


def _round_into(arr: np.ndarray, target: np.dtype, rescale: str) -> tuple[np.ndarray, str | None]:
    """``arr`` as integers of ``target`` (rounded half up), clipped or stretched over its range when they do not fit."""
    lo, hi = int(np.iinfo(target).min), int(np.iinfo(target).max)
    unit = f"the {target.name} range {lo}..{hi}"
    if arr.dtype.kind in "iub" and rescale != "minmax" and arr.size:
        if lo <= int(arr.min()) and int(arr.max()) <= hi:
            return arr.astype(target), None
        if rescale == "clip":
            return np.clip(arr, lo, hi).astype(target), f"values outside {unit} clipped"
    a, note = _nan_as_zero(arr)
    if rescale != "minmax":
        r = round_half_up(a)
        fits = bool(np.isfinite(r).all() and r.min() >= lo and r.max() <= hi)
        if fits or rescale == "clip":
            if not fits:
                note = _join(note, f"values outside {unit} clipped")
            elif bool((r != a).any()):
                note = _join(note, ROUNDED)
            return np.clip(r, lo, hi).astype(target), note
    finite = a[np.isfinite(a)]
    low = float(finite.min()) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 0.0
    if rescale == "auto":
        note = _join(
            note,
            f"values span {low + 0.0:g}..{high + 0.0:g}, beyond {unit}; stretched to {lo}..{hi} (--rescale clip to clip instead)",
        )
    a = np.clip(a, low, high)
    stretched = np.full_like(a, lo) if high == low else lo + (a - low) * ((hi - lo) / (high - low))
    return np.clip(round_half_up(stretched), lo, hi).astype(target), note


def _join(a: str | None, b: str) -> str:
    return b if a is None else f"{a}; {b}"


def image_bits(fmt: str, source_dtype: Any) -> int:
    """The sample size for writing a result whose input had ``source_dtype``, as ``fmt`` holds it.

    32 (float32) for float data where the format holds float32 (TIFF); 16 for integer data wider than
    8 bits where it holds uint16 (PNG, TIFF); else 8.
    """
    source = np.dtype(source_dtype)
    holds = writer_for(fmt).dtypes
    if source.kind == "f" and "float32" in holds:
        return 32
    if source.kind in "iu" and source.itemsize >= 2 and "uint16" in holds:
        return 16
    return 8


#: JPEG's quality when --quality is not given; WebP is then lossless
DEFAULT_JPEG_QUALITY = 95


def image_writer(
    pixels: np.ndarray, fmt: str, *, compress_level: int = 1, quality: int | None = None, name: str = "output"
) -> Write:
    """Check that ``pixels`` (H x W or H x W x 1..4) fit ``fmt``; return a function that writes them.

    uint8 goes everywhere; uint16 to PNG and TIFF; float32 to TIFF. ``quality`` (1..100) applies to JPEG
    (default 95) and WebP (default: lossless, exact even under transparent pixels). Every check and any
    encoding through libvips happens here, before a file is opened; the returned writer streams the
    encoded image into a binary file.
    """
    from PIL import Image

    writer = writer_for(fmt)
    pil_format = writer.codec
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if pixels.ndim == 3 and channels == 1:
        pixels = pixels[:, :, 0]
    if channels not in (1, 2, 3, 4):
        raise OutputError(f"{name}: {channels} channels cannot be written as an image; use .npy or --channel")
    if pil_format == "JPEG" and channels in (2, 4):
        raise OutputError(f"{name}: JPEG has no alpha channel; write .png, or take --channel/--gray first")
    if pil_format == "BMP" and channels in (2, 4):
        raise OutputError(
            f"{name}: BMP keeps no alpha channel (Pillow writes one that no reader sees); write .png, or take --channel/--gray first"
        )
    if quality is not None and not 1 <= quality <= 100:
        raise OutputError(f"{name}: quality must be 1..100, got {quality}")
    if pixels.dtype.name not in writer.dtypes:
        raise OutputError(f"{name}: {pil_format} cannot hold {pixels.dtype} samples")
    if pil_format == "TIFF":
        try:
            return codecs.tiff_writer(pixels)
        except ImageError as exc:
            raise OutputError(f"{name}: {exc}") from None
    if pil_format == "PNG":
        return codecs.png_writer(pixels, compress_level)
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]  # the formats left hold uint8 only
    im = Image.fromarray(np.ascontiguousarray(pixels), mode=mode) if channels > 1 else Image.fromarray(pixels)
    if pil_format == "GIF" and im.mode == "LA":
        im = im.convert("RGBA")
    kwargs: dict = {}
    if pil_format == "JPEG":
        kwargs["quality"] = DEFAULT_JPEG_QUALITY if quality is None else quality
    elif pil_format == "WEBP":
        # exact: lossless WebP otherwise drops the colour of fully transparent pixels
        kwargs.update(dict(lossless=True, exact=True) if quality is None else dict(quality=quality))
    return lambda f: im.save(f, format=pil_format, **kwargs)


def encode(
    result: np.ndarray, writer: Writer, options: Mapping[str, Any], *, source_dtype: Any, name: str
) -> tuple[Write, list[tuple[str, str]]]:
    """The writer of the registry: ``result`` as pixels of the depth ``writer`` holds for ``source_dtype``'s
    values, and notes (line, kind) for every value changed (scaled, rounded, clipped, stretched: "values") or
    approximated by the format ("format").
    """
    rescale = options.get("rescale", "auto")
    if writer.codec == "TIFF":
        pixels, note = to_tiff_array(result, rescale=rescale, source_dtype=source_dtype)
    else:
        bits = image_bits(writer.name, source_dtype)
        pixels, note = to_image_array(result, bits=bits, rescale=rescale, source_dtype=source_dtype)
    notes = [(f"{name}: {note}", "values")] if note else []
    quality = options.get("quality")
    if writer.lossy:
        lossy = f"{writer.label} is lossy, so the written values are approximate; write .png for exact values"
        notes.append((f"{name}: {lossy}", "format"))
    elif writer.codec == "WEBP" and quality is not None:
        lossy = "WebP with --quality is lossy, so the written values are approximate; leave it out for lossless WebP"
        notes.append((f"{name}: {lossy}", "format"))
    elif writer.codec == "GIF" and pixels.ndim == 3 and pixels.shape[2] > 1:
        notes.append((f"{name}: GIF holds 256 colours, so colour values change; write .png for exact values", "format"))
    write = image_writer(
        pixels, writer.name, compress_level=options.get("compress_level", 1), quality=quality, name=name
    )
    return write, notes
