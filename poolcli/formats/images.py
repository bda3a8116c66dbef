"""Reading images: the header decides the reader (Pillow, PGM/PPM/PAM as stored, or libvips); one channel by
Pillow's weights; Pillow's own sniffers and extensions for what the registry does not know by its magic.

Pillow reads what it reads exactly; samples Pillow would narrow go to libvips, or are refused when it is not
installed. A PNG is checked whole first: Pillow would fill rows missing from a short file with 0.
"""

from __future__ import annotations

import io as _io
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Union

import numpy as np

from . import codecs, headers
from .errors import InputError
from .files import Loaded, byte_limit, read_bytes

__all__ = ["gray", "load", "looks_like_image", "pillow_extensions"]

Source = Union[str, bytes]  # a path (Pillow reads the file itself) or the file's bytes


def looks_like_image(head: bytes) -> bool:
    """Whether one of Pillow's plugins claims ``head`` (the formats whose magic the registry does not test)."""
    from PIL import Image

    Image.preinit()
    Image.init()
    for plugin_id in Image.ID:
        accept = Image.OPEN[plugin_id][1]
        if accept is not None:
            try:
                if accept(head):
                    return True
            except Exception:  # a plugin's sniffer must not decide for us
                continue
    return False


def pillow_extensions() -> tuple[str, ...]:
    """The file extensions Pillow opens, lower case with the dot (its plugins add to the registry's own)."""
    from PIL import Image

    Image.init()
    return tuple(sorted({ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}))


#: Pillow's pixel limit and the warning filters are process-wide: one image opens at a time (threads of a Dask worker)
_PIL_LIMIT = threading.Lock()


def load(data: Source, name: str, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    """The reader of the registry: an image's pixels in the sample type its file holds, and notes naming ``name``.

    uint8, uint16, int16, float32 ..., H x W or H x W x C, by the reader its header asks for: Pillow reads
    what it reads exactly; PGM/PPM/PAM are read as stored; samples Pillow would narrow (16-bit colour PNG,
    most TIFFs that are not 8-bit) go to libvips, or are refused when it is not installed. Raises
    :class:`InputError` naming ``name``.
    """
    try:
        try:
            with open(data, "rb") if isinstance(data, str) else _io.BytesIO(data) as f:
                with _PIL_LIMIT, warnings.catch_warnings():  # the filter is process-wide, as Pillow's limit is
                    warnings.simplefilter(
                        "ignore"
                    )  # Pillow's TIFF tag parser remarks on odd tags: not the user's concern
                    header = headers.read_header(f)
                if header is not None and header.format == "PNG":
                    headers.check_png(f, max_pixels)  # inflates the pixel data once more: Pillow cannot say
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
        return _decode_image(data, name, max_pixels, header)
    except headers.Damaged as exc:
        raise InputError(f"{name}: damaged or truncated image ({exc})") from None
    except headers.ImageError as exc:
        raise InputError(f"{name}: {exc}") from None


def _decode_image(
    data: Source, name: str, max_pixels: int, header: headers.Header | None
) -> tuple[np.ndarray, list[str]]:
    """The pixels of an image whose header said ``header`` (None: a format Pillow reads as it is)."""
    if header is None or header.reader == "pillow":
        return _read_with_pillow(data, name, max_pixels, header)
    notes: list[str] = []
    if header.reader == "pnm":
        raw = data if isinstance(data, bytes) else read_bytes(data, limit=byte_limit(max_pixels))
        arr, notes = codecs.read_pnm(raw, max_pixels)
    elif header.reader == "vips":
        arr, pages = codecs.read_vips(data, header, max_pixels)
        notes += [header.note] if header.note else []
        if pages > 1:
            notes.append(f"{header.format} has {pages} frames; using the first")
    else:
        raise headers.ImageError(
            f"a {header.what}: neither Pillow nor libvips reads its samples exactly; convert it to NPY, or to a 16-bit PNG or TIFF"
        )
    return arr, [f"{name}: {n}" for n in notes]


def _read_with_pillow(
    data: Source, name: str, max_pixels: int, header: headers.Header | None
) -> tuple[np.ndarray, list[str]]:
    """The image as Pillow decodes it, in the sample type its header declares when it has one of ours."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    printed: list[str] = []  # what libtiff said on file descriptor 2
    try:
        with _PIL_LIMIT:  # the limit and the warning filter are process-wide; Pillow checks them when opening
            old = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter(
                        "ignore"
                    )  # Pillow's remarks on odd metadata ("Corrupt EXIF data") are not the user's
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    opened = Image.open(_io.BytesIO(data) if isinstance(data, bytes) else data)
            finally:
                Image.MAX_IMAGE_PIXELS = old
        with opened, _c_stderr(printed) if opened.format == "TIFF" else nullcontext():
            fmt = opened.format
            n_frames = getattr(opened, "n_frames", 1)
            im: Image.Image = opened
            if im.getexif().get(0x0112, 1) != 1:  # only then: exif_transpose copies the whole image
                im = ImageOps.exif_transpose(im)
            im.load()
            arr = _image_to_array(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{name}: {headers.too_many_pixels(max_pixels)}") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image Pillow can read") from None
    except MemoryError:
        raise
    except Exception as exc:
        said = "".join(printed).split("\n")
        why = f"libtiff: {said[0].strip()}" if said[0].strip() else f"{type(exc).__name__}: {exc}"
        raise InputError(f"{name}: damaged or truncated image ({why})") from None
    if header is not None and arr.dtype != header.dtype and arr.dtype.kind in "iu" and header.dtype.kind in "iu":
        arr = arr.astype(header.dtype)  # Pillow's 32-bit mode I holding the file's int16 / uint16 samples
    notes = []
    if n_frames > 1:
        notes.append(
            f"{name}: {fmt} has {n_frames} frames; using the first{'; add --volume to read all its pages' if fmt == 'TIFF' else ''}"
        )
    if arr.shape[0] * arr.shape[1] > max_pixels:
        raise InputError(f"{name}: image has more than {max_pixels:,} pixels; pass --max-pixels N to allow it")
    return arr, notes


#: file descriptor 2 is the process's: one decoder at a time takes it over
_FD2 = threading.Lock()


@contextmanager
def _c_stderr(into: list[str]) -> Iterator[None]:
    """Collect into ``into`` what C code (libtiff) prints on stderr meanwhile, so that it never reaches the user.

    Pillow's libtiff decoder prints its errors there, beside the one line poolcli gives.
    """
    with _FD2, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            into.append(sink.read().decode("utf-8", "replace"))


def _image_to_array(im: Any) -> np.ndarray:
    mode = im.mode
    if mode == "1":
        im = im.convert("L")
    elif mode == "P":
        if "transparency" in im.info:
            im = im.convert("RGBA")
        else:
            pal = np.zeros((256, 3), dtype=np.uint8)  # indices past a short palette are black, as Pillow shows them
            given = np.array(im.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:256]
            pal[: len(given)] = given
            used = pal[np.flatnonzero(im.histogram()[:256])]
            # a gray palette (GIFs of gray images) reads back as one channel, as it was written
            im = im.convert("L" if (used[:, 0] == used[:, 1]).all() and (used[:, 1] == used[:, 2]).all() else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        im = im.convert("RGB")
    elif mode == "La":
        im = im.convert("LA")
    elif mode.startswith("I;16"):
        return _pixels(im).astype(np.uint16, copy=False)
    return _pixels(im)


#: Images with more pixels than this are converted a band of rows at a time.
_PIXEL_BAND_MIN = 1 << 22
_PIXEL_BAND_ROWS = 512


def _pixels(im: Any) -> np.ndarray:
    """The image's pixels as an array.

    np.asarray(im) goes through im.tobytes(), which holds the pixels twice
    more; a large image is copied band by band instead, so the peak is the
    decoded image plus the array.
    """
    w, h = im.size
    if w * h <= _PIXEL_BAND_MIN or h <= _PIXEL_BAND_ROWS:
        return np.asarray(im)
    first = np.asarray(im.crop((0, 0, w, _PIXEL_BAND_ROWS)))
    out = np.empty((h,) + first.shape[1:], dtype=first.dtype)
    out[:_PIXEL_BAND_ROWS] = first
    for r0 in range(_PIXEL_BAND_ROWS, h, _PIXEL_BAND_ROWS):
        r1 = min(r0 + _PIXEL_BAND_ROWS, h)
        out[r0:r1] = np.asarray(im.crop((0, r0, w, r1)))
    return out


def gray(loaded: Loaded) -> np.ndarray:
    """Return one channel by Pillow's "L" weights (ITU-R 601-2), exactly as Pillow converts 8-bit images."""
    arr = loaded.array
    if arr.ndim == 2:
        return arr
    if arr.shape[2] in (1, 2):  # L or LA: the luminance is the first channel
        return arr[:, :, 0]
    if arr.dtype == np.uint8 and arr.shape[2] in (3, 4):
        from PIL import Image

        return np.asarray(Image.fromarray(np.ascontiguousarray(arr[:, :, :3]), mode="RGB").convert("L"))
    rgb = arr[:, :, :3].astype(np.float64)
    return rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114
