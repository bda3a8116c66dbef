"""Large PNGs decoded a band of rows at a time by libvips (the codecs extra): only a band is ever in memory.

libvips decodes a PNG's rows in order when it is opened for sequential access, so the rows are handed on as
they come and the decoded image is never held whole. Only the PNGs whose values and notes are certainly
those :mod:`.images` gives are taken: 8- and 16-bit grey, grey+alpha, RGB and RGBA, not interlaced (the
last pass would be needed for the first row), without a palette or tRNS (Pillow expands those), one frame
and no EXIF turn. Anything else returns None and is read whole. The file is checked as :mod:`.images`
checks it: chunk CRCs and IEND first, and libvips fails on a damaged pixel stream (``fail_on="error"``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import numpy as np

from . import codecs, headers
from .errors import InputError

__all__ = ["STREAM_PIXELS", "VipsBands", "open_png"]

#: PNGs of fewer pixels are read whole: decoded whole they take little memory, and faster
STREAM_PIXELS = 1 << 24
#: IHDR colour types taken (grey, RGB, grey+alpha, RGBA: not the palette's 3)
_COLOURS = (0, 2, 4, 6)


class VipsBands:
    """The rows of a PNG opened by libvips for sequential access, as arrays of ``band_bytes`` or so each."""

    def __init__(self, name: str, path: str, image: Any, header: headers.Header, max_pixels: int, band_bytes: int):
        self.name, self.path, self.image, self.header = name, path, image, header
        self.max_pixels, self.band_bytes = max_pixels, band_bytes
        self.notes: list[str] = []
        self.shape = (image.height, image.width) + ((image.bands,) if image.bands > 1 else ())

    def __iter__(self) -> Iterator[np.ndarray]:
        import pyvips  # type: ignore[import-untyped,import-not-found,unused-ignore]

        im = self.image
        region = pyvips.Region.new(im)  # a fetch reads the rows in order; a crop's pipeline may read ahead
        rows = max(1, self.band_bytes // (im.width * im.bands * self.header.dtype.itemsize))
        for y in range(0, im.height, rows):
            n = min(rows, im.height - y)
            try:
                data = region.fetch(0, y, im.width, n)
            except pyvips.Error as exc:  # the pixel stream is damaged
                raise self._damaged(exc) from None
            yield np.frombuffer(data, self.header.dtype).reshape((n,) + self.shape[1:])

    def _damaged(self, exc: Exception) -> InputError:
        """The error the whole path gives: the check of the pixel data names the fault, else libvips does."""
        try:
            with open(self.path, "rb") as f:
                headers.check_png(f, self.max_pixels)
            why = f"{self.header.what}; libvips: {codecs._vips_message(exc)}"
        except headers.Damaged as found:
            why = str(found)
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
