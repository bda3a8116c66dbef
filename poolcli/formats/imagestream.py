"""Large PNGs and TIFFs decoded a band of rows at a time by libvips (the codecs extra): only a band is in memory.

libvips decodes a PNG's rows, and a TIFF's strips or rows of tiles, in order when the file is opened for
sequential access, so the rows are handed on as they come and the decoded image is never held whole. Only
the files whose values and notes are certainly those :mod:`.images` gives are taken:

- PNG: 8- and 16-bit grey, grey+alpha, RGB and RGBA, not interlaced (the last pass would be needed for the
  first row), without a palette or tRNS (Pillow expands those), one frame and no EXIF turn. The file is
  checked as :mod:`.images` checks it: chunk CRCs and IEND first, and libvips fails on a damaged pixel
  stream (``fail_on="error"``).
- TIFF: one page of grey, grey+alpha, RGB or RGBA (alpha not premultiplied), in strips or tiles, samples of
  8, 16 or 32 bits (integers or floats, as :mod:`.headers` reads their type), uncompressed or compressed
  losslessly (LZW, deflate, PackBits): libtiff decodes those to the same samples for Pillow and libvips.
  Not a palette, CMYK, Lab or YCbCr (JPEG-compressed), not white-is-zero, separate planes, an orientation
  other than the first or more pages: the whole path reads and notes those as it does.

Anything else returns None and is read whole. A file that fails while its rows are read is refused with the
whole path's own message (a TIFF libtiff only warns about while decoding, which Pillow reads, is refused).
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import numpy as np

from . import codecs, headers
from .errors import InputError

__all__ = ["STREAM_PIXELS", "VipsBands", "open_png", "open_tiff"]

#: PNGs of fewer pixels are read whole: decoded whole they take little memory, and faster
STREAM_PIXELS = 1 << 24
#: IHDR colour types taken (grey, RGB, grey+alpha, RGBA: not the palette's 3)
_COLOURS = (0, 2, 4, 6)


class VipsBands:
    """The rows of an image opened by libvips for sequential access, as arrays of ``band_bytes`` or so each."""

    def __init__(self, name: str, path: str, image: Any, header: headers.Header, max_pixels: int, band_bytes: int):
        self.name, self.path, self.image, self.header = name, path, image, header
        self.max_pixels, self.band_bytes = max_pixels, band_bytes
        self.notes: list[str] = []
        self.shape = (image.height, image.width) + ((image.bands,) if image.bands > 1 else ())

    def __iter__(self) -> Iterator[np.ndarray]:
        import pyvips  # type: ignore[import-untyped,import-not-found,unused-ignore]

        im = self.image
        decoded = np.dtype(np.float32) if self.header.dtype == np.float16 else self.header.dtype  # libvips widens
        region = pyvips.Region.new(im)  # a fetch reads the rows in order; a crop's pipeline may read ahead
        rows = max(1, self.band_bytes // (im.width * im.bands * decoded.itemsize))
        for y in range(0, im.height, rows):
            n = min(rows, im.height - y)
            try:
                data = region.fetch(0, y, im.width, n)
            except pyvips.Error as exc:  # the pixel stream is damaged
                raise self._damaged(exc) from None
            # half floats: each came from one, so this is exact (as the whole path does it)
            yield np.frombuffer(data, decoded).reshape((n,) + self.shape[1:]).astype(self.header.dtype, copy=False)

    def _damaged(self, exc: Exception) -> InputError:
        """The error the whole path gives: the check of a PNG's pixel data names the fault, else libvips does;
        a TIFF is read by the whole path, whose error is the one given."""
        why = f"{self.header.what}; libvips: {codecs._vips_message(exc)}"
        try:
            if self.header.format == "PNG":
                with open(self.path, "rb") as f:
                    headers.check_png(f, self.max_pixels)
            else:
                from .images import load

                self.image = None
                load(self.path, self.name, self.max_pixels)
        except headers.Damaged as found:
            why = str(found)
        except InputError as whole:
            return whole
        return InputError(f"{self.name}: damaged or truncated image ({why})")

    def __enter__(self) -> VipsBands:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.image = None  # libvips closes the file when the last reference goes


def open_png(path: str, max_pixels: int, band_bytes: int) -> VipsBands | None:
    """The bands of a large PNG at ``path``, or None where it is to be read whole (see the module's text).

    Raises :class:`InputError` for a file whose chunks are damaged or whose pixels exceed ``max_pixels``,
    as the whole path does.
    """
    if not codecs.have_vips():
        return None
    with open(path, "rb") as f:
        head = f.read(33)
        if not head.startswith(headers.PNG_SIGNATURE) or len(head) < 33:
            return None  # before read_header, which raises for some other formats: the whole path says that
        header = headers.read_header(f)
        if header is None or header.format != "PNG":
            return None
        width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
        if width * height < STREAM_PIXELS or depth not in (8, 16) or colour not in _COLOURS or head[28] != 0:
            return None  # small (decoded whole it takes little memory), 1/2/4-bit, a palette, or interlaced
        try:
            kinds, _ = headers.check_png(f, max_pixels, inflate=False)
        except headers.Damaged as exc:
            raise InputError(f"{path}: damaged or truncated image ({exc})") from None
        except headers.ImageError as exc:
            raise InputError(f"{path}: {exc}") from None
    if b"tRNS" in kinds or b"eXIf" in kinds or b"acTL" in kinds:
        return None  # Pillow's transparency; an EXIF turn; an animation (the whole path notes its frames)
    import pyvips  # type: ignore[import-untyped,import-not-found,unused-ignore]

    try:
        image = pyvips.Image.new_from_file(path, access="sequential", fail_on="error", revalidate=True)
    except pyvips.Error:
        return None  # the whole path says what is wrong
    if image.interpretation not in ("b-w", "grey16", "srgb", "rgb16") or image.bands != header.channels:
        return None
    return VipsBands(path, path, image, header, max_pixels, band_bytes)


#: TIFF Compression values decoded losslessly by libtiff (none, LZW, deflate twice, PackBits): the same samples
#: whichever library calls it
_LOSSLESS = (1, 5, 8, 32946, 32773)
#: libvips' band formats as numpy's types (float16 read as float32)
_VIPS_TYPES = {
    "uchar": "uint8",
    "char": "int8",
    "ushort": "uint16",
    "short": "int16",
    "uint": "uint32",
    "int": "int32",
    "float": "float32",
}


def open_tiff(path: str, max_pixels: int, band_bytes: int) -> VipsBands | None:
    """The bands of a large TIFF at ``path``, or None where it is to be read whole (see the module's text).

    Raises :class:`InputError` for a file whose header shows damage or whose pixels exceed ``max_pixels``,
    as the whole path does.
    """
    if not codecs.have_vips():
        return None
    from .images import _read_header

    with open(path, "rb") as f:
        try:
            header = _read_header(f)  # checks strips against the file's size, and deflate's data
        except headers.Damaged as exc:
            raise InputError(f"{path}: damaged or truncated image ({exc})") from None
        if header is None or header.format != "TIFF" or header.reader in ("none", "tiff"):  # numpy reads "tiff"
            return None
        ifd = _first_ifd(f)
    if ifd is None or ifd.next or not _plain(ifd, header):
        return None
    width, height = int(ifd.get(256, 0)), int(ifd.get(257, 0))
    if width * height > max_pixels:
        raise InputError(f"{path}: {headers.too_many_pixels(max_pixels)}")
    if width * height < STREAM_PIXELS:
        return None
    import pyvips  # type: ignore[import-untyped,import-not-found,unused-ignore]

    # libvips hears libtiff's errors as warnings: they fail the read, as Pillow and the whole path's libvips fail
    try:
        image = pyvips.Image.new_from_file(path, access="sequential", fail_on="warning", revalidate=True)
    except pyvips.Error:
        return None  # the whole path says what is wrong
    decoded = "float32" if header.dtype == np.float16 else header.dtype.name  # libvips widens half floats
    if (
        image.interpretation not in ("b-w", "grey16", "srgb", "rgb16", "scrgb", "multiband")  # read_vips' own
        or (image.width, image.height, image.bands) != (width, height, header.channels)
        or _VIPS_TYPES.get(image.format) != decoded
        or (image.get_typeof("n-pages") and image.get("n-pages") != 1)
    ):
        return None
    return VipsBands(path, path, image, header, max_pixels, band_bytes)


def _first_ifd(f: Any) -> Any:
    from PIL import TiffImagePlugin

    from .images import _PIL_LIMIT

    f.seek(0)
    head = f.read(8)
    if head[2:4] in (b"+\x00", b"\x00+"):
        return None  # BigTIFF: Pillow reads it its own way
    try:
        with _PIL_LIMIT, warnings.catch_warnings():  # the filter is process-wide: as images reads headers
            warnings.simplefilter("ignore")  # Pillow's remarks on odd tags: the whole path's to make or not
            ifd = TiffImagePlugin.ImageFileDirectory_v2(head)
            f.seek(ifd.next)
            ifd.load(f)
    except Exception:
        return None
    return ifd


def _plain(ifd: Any, header: headers.Header) -> bool:
    """Whether a TIFF's first page holds grey or RGB samples, with alpha if any, that Pillow and libvips
    read alike (see the module's text)."""
    bits = ifd.get(258) or (1,)
    photometric = ifd.get(262)
    extra = tuple(ifd.get(338) or ())
    channels = header.channels
    return (
        set(bits) == {header.dtype.itemsize * 8}
        and len(bits) == channels
        and ifd.get(259, 1) in _LOSSLESS
        and ifd.get(284, 1) == 1  # the samples of a pixel together
        and ifd.get(274, 1) == 1  # no turn
        and 320 not in ifd  # no colour map
        and (photometric, channels) in ((1, 1), (1, 2), (2, 3), (2, 4))
        and extra == (() if channels in (1, 3) else (2,))  # alpha, not premultiplied
    )
