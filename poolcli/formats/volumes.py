"""Volumes (D, H, W[, C]): read from a 3-D/4-D NPY, a multi-page TIFF or a folder of slices; written as NPY or a
multi-page TIFF (one page per slice).

The pages of a TIFF and the slices of a folder must agree in size and type; the first that does not is named.
``max_pixels`` counts every cell of the volume (D x H x W), and is checked before a page past it is decoded.
"""

from __future__ import annotations

import io as _io
import os
import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from . import sniff
from .errors import InputError, OutputError
from .files import Loaded, byte_limit, peek, read_bytes, read_input
from .npy import _read_npy

if TYPE_CHECKING:  # pragma: no cover
    from . import Write, Writer

__all__ = ["encode_npy", "encode_tiff", "input_size", "load_npy", "load_tiff", "read_volume", "slice_names"]

Source = Union[str, bytes]

#: Pillow's modes of 8-bit samples: a page in one of these whose file declares wider samples was narrowed.
_EIGHT_BIT_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB")


def read_volume(source: str, *, max_pixels: int) -> Loaded:
    """Return the volume held by ``source``: a folder of slices, or a file (``-`` for stdin) whose reader reads volumes.

    Raises :class:`InputError` naming the source, and the page or slice at fault.
    """
    if source != "-" and os.path.isdir(source):
        return _read_folder(source, max_pixels)
    name = "<stdin>" if source == "-" else source
    head = peek(source)
    data: Source = source
    if not head:
        data = read_bytes(source, limit=byte_limit(max_pixels))
        if not data:
            raise InputError(f"{name}: is empty")
        head = data[:64]
    reader = sniff(head)
    if not reader.volume:
        raise InputError(f"{name}: a {reader.name} input holds no volume; {_READ_FROM}")
    if isinstance(data, str) and not reader.streams:
        data = read_bytes(source, limit=byte_limit(max_pixels))
    array, notes = reader.volume_loader()(data, name, max_pixels)
    return Loaded(array, reader.name, name, notes)


_READ_FROM = "--volume reads a 3-D or 4-D NPY, a multi-page TIFF or a folder of slices"


def input_size(source: str) -> int:
    """The bytes a run reads from ``source``: a file's size, or every slice's in a folder."""
    if os.path.isdir(source):
        return sum(os.path.getsize(os.path.join(source, n)) for n in slice_names(source))
    return os.path.getsize(source)


def load_npy(data: bytes, name: str, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    """The volume reader of NPY: a 3-D (D, H, W) or 4-D array as stored, and no notes."""
    return _read_npy(data, name, volume=True), []


def load_tiff(data: Source, name: str, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    """The volume reader of images: the pages of a TIFF stacked as (D, H, W[, C]), in their sample type, and no notes."""
    from PIL import Image, UnidentifiedImageError

    from . import headers
    from .images import _image_to_array

    try:
        with _io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb") as f:
            header = headers.read_header(f)
    except headers.ImageError as exc:
        raise InputError(f"{name}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if header is not None and header.format == "TIFF" and header.reader != "pillow":
        return _by_vips(data, header, name, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's remarks on odd tags are not the user's concern
            opened = Image.open(_io.BytesIO(data) if isinstance(data, bytes) else data)
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image Pillow can read") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    with opened as im:
        if im.format != "TIFF":
            raise InputError(f"{name}: a {im.format} image holds no volume; {_READ_FROM}")
        if header is not None and len(im.getbands()) < header.channels:
            return _by_vips(data, header, name, max_pixels)  # an extra sample Pillow drops (RGBX, grey + one)
        pages: list[np.ndarray] = []
        notes: list[str] = []
        first = (im.size, im.mode)
        depth = getattr(im, "n_frames", 1)
        for d in range(depth):
            try:
                im.seek(d)
                if (im.size, im.mode) != first:
                    raise InputError(
                        f"{name}: page {d} is {_page(im.size, im.mode)}, page 0 {_page(*first)}; "
                        f"a volume's pages must agree in size and mode"
                    )
                bits = im.tag_v2.get(258, (8,))
                if max(bits if isinstance(bits, tuple) else (bits,)) > 8 and im.mode in _EIGHT_BIT_MODES:
                    raise InputError(
                        f"{name}: page {d} holds {max(bits)}-bit {im.mode} samples, which Pillow narrows to 8 bits; "
                        f"convert the volume to NPY"
                    )
                _check_cells(name, depth, im.size[1], im.size[0], max_pixels)
                im.load()
                if im.mode.startswith("I;16") and im.mode.endswith("S"):
                    pages.append(np.asarray(im))
                else:
                    page, said = _image_to_array(im)
                    if header is not None and not said and page.dtype != header.dtype and page.dtype.kind in "iu":
                        page = page.astype(header.dtype)  # Pillow's 32-bit mode I holding the file's int16 samples
                    pages.append(page)
                    if said and not notes:  # every page has the first one's mode
                        notes.append(f"{name}: TIFF {said}")
            except InputError:
                raise
            except MemoryError:
                raise
            except Exception as exc:
                raise InputError(
                    f"{name}: page {d}: damaged or truncated image ({type(exc).__name__}: {exc})"
                ) from None
    return np.stack(pages), notes


def _by_vips(data: Source, header: Any, name: str, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    """Every page by libvips: the samples Pillow reads inexactly (uint32, int8, 16-bit colour, an extra channel);
    by numpy those libvips does not read (float64, 64-bit integers)."""
    from . import codecs, headers

    try:
        if header.reader in ("tiff", "none"):  # numpy reads them, or says why not
            from .tiffraw import read_tiff_raw

            return read_tiff_raw(data, max_pixels, all_pages=True)[0], []
        arr, _, said = codecs.read_vips(data, header, max_pixels, all_pages=True)
    except headers.ImageError as exc:
        raise InputError(f"{name}: {exc}") from None
    return arr, [f"{name}: TIFF {said}"] if said else []


def _page(size: tuple[int, int], mode: str) -> str:
    return f"{size[1]}x{size[0]} mode {mode}"


def _check_cells(name: str, depth: int, h: int, w: int, max_pixels: int) -> None:
    if depth * h * w > max_pixels:
        raise InputError(
            f"{name}: the volume holds {depth}x{h}x{w} = {depth * h * w:,} cells, more than --max-pixels "
            f"{max_pixels:,}; raise --max-pixels if this input is meant"
        )


def _natural(name: str) -> list[Any]:
    """Sort key: runs of digits compare as numbers, so slice2 comes before slice10."""
    return [(0, int(part), part) if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def slice_names(folder: str) -> list[str]:
    """The slices of a folder: its files that are not hidden, in natural order of their names."""
    try:
        names = [n for n in os.listdir(folder) if not n.startswith(".")]
    except OSError as exc:
        raise InputError(f"{folder}: cannot read the folder ({exc.strerror or exc})") from None
    return sorted((n for n in names if os.path.isfile(os.path.join(folder, n))), key=_natural)


def _read_folder(folder: str, max_pixels: int) -> Loaded:
    """A folder's slices stacked into a volume; every slice the same shape, type and format as the first."""
    names = slice_names(folder)
    if not names:
        raise InputError(f"{folder}: the folder holds no slices (files)")
    slices: list[np.ndarray] = []
    notes: list[str] = []
    first: Loaded | None = None
    for n in names:
        path = os.path.join(folder, n)
        part = read_input(path, max_pixels=max_pixels)
        if part.array.ndim not in (2, 3):
            raise InputError(f"{path}: a slice is 2-D (H, W) or 3-D (H, W, C), not {part.array.ndim}-D")
        if first is None:
            first = part
        elif (part.array.shape, part.array.dtype, part.kind) != (first.array.shape, first.array.dtype, first.kind):
            raise InputError(
                f"{path}: slice is {_slice(part)}, the first ({names[0]}) {_slice(first)}; "
                f"a volume's slices must agree in shape, type and format"
            )
        _check_cells(folder, len(names), part.array.shape[0], part.array.shape[1], max_pixels)
        slices.append(part.array)
        notes += part.notes
    assert first is not None
    return Loaded(np.stack(slices), first.kind, folder, notes)  # text slices: their values decide the type together


def _slice(part: Loaded) -> str:
    return f"{'x'.join(map(str, part.array.shape))} {part.array.dtype} ({part.kind})"


def encode_npy(
    result: np.ndarray, writer: Writer, options: Mapping[str, Any], *, source_dtype: Any, name: str
) -> tuple[Write, list[str]]:
    """The volume writer of NPY: as stored; with ``--layout chw`` a 4-D result has its channels first again."""
    arr = np.moveaxis(result, -1, 0) if options.get("layout") == "chw" and result.ndim == 4 else result
    return (lambda f: np.save(f, arr, allow_pickle=False)), []


def encode_tiff(
    result: np.ndarray, writer: Writer, options: Mapping[str, Any], *, source_dtype: Any, name: str
) -> tuple[Write, list[str]]:
    """The volume writer of TIFF: one page per slice, its values made pixels by the rules of 2-D images, and notes.

    The whole volume is converted at once by the rules of a 2-D TIFF (integers in their own type, averages
    rounded into the input's), so that every page follows the same rule (one stretch for all).
    """
    from .codecs import tiff_writer
    from .imagewrite import to_tiff_array

    pixels, note = to_tiff_array(result, rescale=options.get("rescale", "auto"), source_dtype=source_dtype)
    channels = 1 if pixels.ndim == 3 else pixels.shape[3]
    if pixels.ndim == 4 and channels == 1:
        pixels = pixels[..., 0]
    if channels not in (1, 2, 3, 4):
        raise OutputError(f"{name}: {channels} channels cannot be written as TIFF pages; use .npy or --channel")
    return tiff_writer(pixels, pages=True), [f"{name}: {note}"] if note else []
