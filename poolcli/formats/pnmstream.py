"""Large binary PGM, PPM and PAM files read a band of rows at a time: their samples lie in the file as rows.

The samples are those :func:`.codecs.read_pnm` gives (as stored, uint8 up to maxval 255, else uint16) with its
notes; only raw files (P5, P6, P7) are taken, plain ones (P2, P3) are text and read whole. Where the header is
damaged, the file short, larger than the byte limit or past ``max_pixels``, None is returned and the whole
path says so; a sample above maxval, found on the way, is refused with the whole path's message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO

import numpy as np

from . import codecs, headers
from .files import byte_limit

__all__ = ["PnmBands", "open_pnm"]

#: bytes read for the header: a PAM's lines or a PNM's comments longer than this are read whole
_HEAD_BYTES = 1 << 16


class PnmBands:
    """The rows of a raw PGM/PPM/PAM, as arrays of ``band_bytes`` or so each."""

    def __init__(self, path: str, shape: tuple[int, ...], maxval: int, start: int, notes: list[str], max_pixels: int):
        self.name = self.path = path
        self.shape, self.maxval, self.start, self.notes, self.max_pixels = shape, maxval, start, notes, max_pixels
        self.dtype = np.dtype(np.uint8 if maxval < 256 else np.uint16)
        self.band_bytes = 1 << 20
        self.f: BinaryIO | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        assert self.f is not None
        row = int(np.prod(self.shape[1:]))
        rows = max(1, self.band_bytes // (row * self.dtype.itemsize))
        self.f.seek(self.start)
        for y in range(0, self.shape[0], rows):
            n = min(rows, self.shape[0] - y)
            band = np.fromfile(self.f, self.dtype.newbyteorder(">"), count=n * row)
            if self.maxval != (1 << 8 * self.dtype.itemsize) - 1 and int(band.max()) > self.maxval:
                self._refuse()
            yield band.astype(self.dtype).reshape((n,) + self.shape[1:])

    def _refuse(self) -> None:
        """Raise the whole path's error: it names the largest sample of the file."""
        from .images import load

        load(self.path, self.name, self.max_pixels)
        raise AssertionError("the whole path read a file with a sample past its maxval")  # pragma: no cover

    def __enter__(self) -> PnmBands:
        self.f = open(self.path, "rb")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.f is not None:
            self.f.close()


def open_pnm(path: str, max_pixels: int, band_bytes: int, stream_pixels: int) -> PnmBands | None:
    """The bands of a raw PGM/PPM/PAM of at least ``stream_pixels`` pixels at ``path``, or None where it is to
    be read whole (see the module's text)."""
    size = os.path.getsize(path)
    if size > byte_limit(max_pixels):
        return None
    with open(path, "rb") as f:
        header = headers.read_header(f)
        f.seek(0)
        head = f.read(_HEAD_BYTES)
    if header is None or header.format != "PNM" or head[:2] not in (b"P5", b"P6", b"P7"):
        return None  # plain PGM/PPM are text
    try:
        name, width, height, channels, maxval, start = codecs.pnm_header(head, max_pixels)
    except headers.ImageError:
        return None
    itemsize = 1 if maxval < 256 else 2
    if width * height < stream_pixels or start > len(head) or size - start < width * height * channels * itemsize:
        return None
    shape = (height, width) + ((channels,) if channels > 1 else ())
    bands = PnmBands(path, shape, maxval, start, [f"{path}: {n}" for n in codecs.pnm_notes(name, maxval)], max_pixels)
    bands.band_bytes = band_bytes
    return bands
