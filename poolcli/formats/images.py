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
from typing import Any, BinaryIO, Union

import numpy as np

from . import codecs, headers
from .tiffraw import read_tiff_raw
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
                header = _read_header(f)
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
        if header is not None and header.format == "PNG":
            return _read_png(data, name, max_pixels, header)
        return _decode_image(data, name, max_pixels, header)
    except headers.Damaged as exc:
        raise InputError(f"{name}: damaged or truncated image ({exc})") from None
    except headers.ImageError as exc:
        raise InputError(f"{name}: {exc}") from None


def _read_header(f: BinaryIO) -> headers.Header | None:
    with _PIL_LIMIT, warnings.catch_warnings():  # the filter is process-wide, as Pillow's limit is
        warnings.simplefilter("ignore")  # Pillow's TIFF tag parser remarks on odd tags: not the user's concern
        return headers.read_header(f)


#: 8-bit PNGs of at least this many pixels are decoded by libvips, when installed: faster than Pillow and the
#: second inflate of the check together, once the cost of importing it is paid
_VIPS_PNG_PIXELS = 1 << 22


def _read_png(data: Source, name: str, max_pixels: int, header: headers.Header) -> tuple[np.ndarray, list[str]]:
    """A PNG's pixels, checked whole first: Pillow cannot say that rows are missing.

    A large 8-bit grey or colour PNG without a palette or tRNS goes to libvips (the codecs extra) when it is
    installed: it refuses a damaged pixel stream itself (fail_on="error"), so the check here needs only the
    chunks' CRCs and IEND, and it decodes faster than Pillow. Both read such files to the same samples.
    """
    with open(data, "rb") if isinstance(data, str) else _io.BytesIO(data) as f:
        kinds, pixels = headers.check_png(f, max_pixels, inflate=False)
    plain = header.what in ("8-bit grey PNG", "8-bit grey+alpha PNG", "8-bit RGB PNG", "8-bit RGBA PNG")
    if plain and b"tRNS" not in kinds and pixels >= _VIPS_PNG_PIXELS and codecs.have_vips():
        try:
            arr, pages, _ = codecs.read_vips(data, header, max_pixels)
        except headers.Damaged:
            with open(data, "rb") if isinstance(data, str) else _io.BytesIO(data) as f:
                headers.check_png(f, max_pixels)  # names the fault, as for any PNG
            raise
        return arr, [f"{name}: PNG has {pages} frames; using the first"] if pages > 1 else []
    return _checked_while_decoded(data, name, max_pixels, header)


def _checked_while_decoded(
    data: Source, name: str, max_pixels: int, header: headers.Header
) -> tuple[np.ndarray, list[str]]:
    """Decode a PNG while another thread checks it whole (:func:`headers.check_png`); the check's verdict wins.

    The check inflates the pixel data once more, since Pillow cannot say that rows are missing; zlib and
    Pillow's decoder both release the GIL, so on a second core the check costs little time.
    """
    failed: list[BaseException] = []

    def check() -> None:
        try:
            with open(data, "rb") if isinstance(data, str) else _io.BytesIO(data) as f:
                headers.check_png(f, max_pixels)
        except OSError as exc:
            failed.append(InputError(f"{name}: cannot read: {exc.strerror or exc}"))
        except Exception as exc:  # Damaged, ImageError: load names the file
            failed.append(exc)

    checker = threading.Thread(target=check, name="poolcli-png-check", daemon=True)
    checker.start()
    try:
        decoded = _decode_image(data, name, max_pixels, header)
    except (ValueError, OSError):
        checker.join()
        if failed:
            raise failed[0] from None  # a damaged file: the check names the fault better than the decoder
        raise
    checker.join()
    if failed:
        raise failed[0]
    return decoded


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
        arr, pages, said = codecs.read_vips(data, header, max_pixels)
        notes += [n for n in (header.note, said and f"{header.format} {said}") if n]
        if pages > 1:
            notes.append(f"{header.format} has {pages} frames; using the first")
    elif header.reader == "tiff":
        arr, pages = read_tiff_raw(data, max_pixels)
        if pages > 1:
            notes.append(f"TIFF has {pages} frames; using the first")
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
        with opened, _c_stderr(printed) if opened.format == "TIFF" else nullcontext(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reading tags lazily, Pillow warns again; fd 2 is libtiff's here
            fmt = opened.format
            n_frames = getattr(opened, "n_frames", 1)
            im: Image.Image = opened
            if im.getexif().get(0x0112, 1) != 1:  # only then: exif_transpose copies the whole image
                im = ImageOps.exif_transpose(im)
            im.load()
            arr, said = _image_to_array(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{name}: {headers.too_many_pixels(max_pixels)}") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image Pillow can read") from None
    except MemoryError:
        raise
    except Exception as exc:
        libtiff = "".join(printed).split("\n")[0].strip()
        why = f"libtiff: {libtiff}" if libtiff else f"{type(exc).__name__}: {exc}"
        raise InputError(f"{name}: damaged or truncated image ({why})") from None
    if (
        header is not None
        and arr.dtype != header.dtype
        and arr.dtype.kind in "iu"
        and header.dtype.kind in "iu"
        and not said
    ):
        arr = arr.astype(header.dtype)  # Pillow's 32-bit mode I holding the file's int16 / uint16 samples
    notes = [f"{name}: {fmt} {said}"] if said else []
    if header is not None and header.format == "TIFF" and (1 if arr.ndim == 2 else arr.shape[2]) < header.channels:
        # Pillow drops an extra sample it cannot name (RGBX, grey + an unspecified channel): libvips keeps it
        arr, _, said = codecs.read_vips(data, header, max_pixels)
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


#: what the colour spaces kept as stored are, for the note that says so
_STORED = {
    "CMYK": "its C, M, Y, K channels",
    "YCbCr": "its Y, Cb, Cr channels",
    "LAB": "its L*, a*, b* channels (a* and b* signed, -128..127)",
    "HSV": "its H, S, V channels",
    "RGBa": "its R, G, B channels premultiplied by alpha, and alpha",
    "La": "its grey channel premultiplied by alpha, and alpha",
}


#: the colour spaces kept as stored whose channels are not R, G, B (premultiplied RGBa still is)
_NOT_RGB = ("CMYK", "YCbCr", "LAB", "HSV")


def _image_to_array(im: Any) -> tuple[np.ndarray, str | None]:
    """The pixels of a Pillow image, and what to tell about a colour space kept as stored (None for grey or RGB).

    CMYK, YCbCr, CIELab and premultiplied alpha are pooled channel by channel as the file stores them, never
    converted: a conversion to RGB would need a colour profile the file may not have, and change every value.
    """
    mode = im.mode
    if mode in _STORED:
        said = headers.stored_as_is(mode, _STORED[mode])
        arr = _pixels(im)
        if mode == "LAB":  # TIFF stores a* and b* as signed bytes; Pillow hands them over unsigned
            arr = arr.astype(np.int16)
            arr[:, :, 1:] = arr[:, :, 1:].astype(np.uint8).view(np.int8)
        return arr, said
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
    elif mode == "RGBX":  # the fourth byte is padding (a 32-bit BMP without alpha)
        im = im.convert("RGB")
    elif mode.startswith("I;16"):
        return _pixels(im).astype(np.uint16, copy=False), None
    return _pixels(im), None


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
    """Return one channel by Pillow's "L" weights (ITU-R 601-2), exactly as Pillow converts 8-bit images.

    Float input gives its own type (float16: float32), other integers float64.
    """
    arr = loaded.array
    if arr.ndim == 2:
        return arr
    space = next((s for s in _NOT_RGB for n in loaded.notes if f" is in {s}: " in n), None)
    if space is not None:  # the weights are for R, G and B: on C, M, Y they would make up values
        raise InputError(f"{loaded.name}: --gray weighs R, G and B, and this image is in {space}; take --channel N")
    if arr.shape[2] in (1, 2):  # L or LA: the luminance is the first channel
        return arr[:, :, 0]
    if arr.dtype == np.uint8 and arr.shape[2] in (3, 4):
        from PIL import Image

        return np.asarray(Image.fromarray(np.ascontiguousarray(arr[:, :, :3]), mode="RGB").convert("L"))
    rgb = arr[:, :, :3].astype(np.float64)
    out = rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114
    # float input keeps its type, as pooling keeps it: the weighted sum rounded once to float32 (float16 too)
    return out.astype(np.result_type(arr.dtype, np.float32)) if arr.dtype.kind == "f" else out
