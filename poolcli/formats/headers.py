"""What an image file's header says its samples are, and whether a PNG is whole.

Pillow reads 16-bit colour PNG and PPM as 8 bits, int8 and uint32 TIFF with the wrong sign, most TIFFs
that are neither 8-bit nor single-channel not at all, and it writes no 16-bit or float colour image. So the
header is read first (:func:`read_header`) and decides the reader (:attr:`Header.reader`):

- ``pillow``: Pillow reads these samples exactly;
- ``pnm``: PGM/PPM/PAM, read with numpy (:mod:`.codecs`), samples as stored;
- ``vips``: libvips through pyvips (:mod:`.codecs`), the optional extra ``codecs``
  (``pip install 'poolcli[codecs]'``); without it the file is refused, never truncated;
- ``tiff``: TIFF samples libvips does not read (float64, 64-bit integers), and big-endian compressed int16,
  int32 and float32 samples, which Pillow 13 byte-swaps wrongly: read with numpy (:mod:`.tiffraw`) when
  uncompressed or deflate; big-endian ones in other compressions go to libvips;
- ``none``: no reader here holds these samples (complex TIFF, 16-bit SGI).

Errors are :class:`ImageError` without the file's name: the caller adds it.
"""

from __future__ import annotations

import re
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

__all__ = [
    "INSTALL_HINT",
    "Damaged",
    "Header",
    "ImageError",
    "check_png",
    "read_header",
    "stored_as_is",
    "too_many_pixels",
]

INSTALL_HINT = "pip install 'poolcli[codecs]'"


class ImageError(ValueError):
    """An image that cannot be read or written exactly; the message leaves out the file's name."""


class Damaged(ImageError):
    """A file cut short or corrupt; the message says where."""


def too_many_pixels(max_pixels: int) -> str:
    return f"image has more than {max_pixels:,} pixels; pass --max-pixels N to allow it (a guard against decompression bombs)"


def stored_as_is(space: str, channels: str) -> str:
    """The note on an image whose colour space is kept as stored."""
    return (
        f"is in {space}: {channels} are pooled as stored, not converted to RGB; an image written from them "
        f"holds the same numbers as its own channels"
    )


# --------------------------------------------------------------------------- headers

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG colour type -> (channels, name)
_PNG_COLOURS = {0: (1, "grey"), 2: (3, "RGB"), 3: (1, "palette"), 4: (2, "grey+alpha"), 6: (4, "RGBA")}
#: TIFF SampleFormat -> numpy kind; 4 ("void") is read as unsigned, as libtiff does
_TIFF_KINDS = {1: "u", 2: "i", 3: "f", 4: "u", 5: "c", 6: "c"}
#: single-channel sample types that Pillow reads exactly (multi-channel only at 8 bits)
_PILLOW_GREY = {"PNG": {"uint16"}, "TIFF": {"uint16", "int16", "int32", "float32"}, "JPEG2000": {"uint16"}}
#: sample types libvips reads (float16 comes back as float32), in the formats it reads
_VIPS_TYPES = {"uint8", "int8", "uint16", "int16", "uint32", "int32", "float16", "float32"}
_VIPS_FORMATS = {"PNG", "TIFF", "JPEG2000", "HEIF"}
#: TIFF compressions :mod:`.tiffraw` reads: none and deflate
_NUMPY_COMPRESSIONS = (1, 8, 32946)


@dataclass(frozen=True)
class Header:
    """The sample type and channel count a file's header declares."""

    format: str  # "PNG", "PNM", "TIFF", "JPEG2000", "HEIF", "SGI"
    channels: int
    dtype: np.dtype
    what: str  # for messages: "16-bit RGB PNG"
    note: str = ""  # what the reader other than Pillow does to the samples, if anything
    #: a TIFF's compression scheme and whether its samples are big-endian (Pillow misreads some of those)
    compression: int = 1
    big_endian: bool = False
    #: each channel in a plane of its own: "" (no), "rgb" (RGB strips libvips reads), "other" (libvips misreads
    #: the strips of other planes, 16-bit float RGB too, and refuses tiles of any)
    planar: str = ""

    @property
    def reader(self) -> str:
        """``pillow``, ``pnm``, ``vips``, ``tiff`` or ``none``: which reader gives these samples exactly."""
        if self.format == "PNM":
            return "pnm"
        swapped = self.big_endian and self.compression != 1 and self.dtype.name in ("int16", "int32", "float32")
        if self.format == "TIFF" and self.channels == 1 and swapped:  # Pillow swaps their bytes once too often
            return "tiff" if self.compression in _NUMPY_COMPRESSIONS else "vips"
        if self.planar == "other":  # Pillow, libvips or both misread these planes: numpy reads them, or none
            return "tiff" if self.compression in _NUMPY_COMPRESSIONS else "none"
        if self.dtype == np.uint8 and self.channels <= 4:
            return "pillow"
        if self.channels == 1 and self.dtype.name in _PILLOW_GREY.get(self.format, ()):
            return "pillow"
        if self.dtype.name in _VIPS_TYPES and self.format in _VIPS_FORMATS:
            return "vips"
        return "tiff" if self.format == "TIFF" and self.dtype.kind in "iuf" else "none"


def read_header(f: BinaryIO) -> Header | None:
    """The header facts of a PNG, PGM/PPM/PAM, TIFF, JPEG 2000, AVIF/HEIF or SGI file (None for other formats).

    ``f`` is a seekable binary file positioned anywhere. Raises :class:`Damaged` when the header
    already shows the file is cut short (a TIFF strip past the end of the file).
    """
    f.seek(0)
    head = f.read(64)
    if head.startswith(PNG_SIGNATURE) and head[12:16] == b"IHDR" and len(head) >= 26:
        depth, colour = head[24], head[25]
        channels, kind = _PNG_COLOURS.get(colour, (1, "unknown"))
        return Header("PNG", channels, np.dtype(np.uint16 if depth == 16 else np.uint8), f"{depth}-bit {kind} PNG")
    if re.match(rb"P[2356]\s|P7\n", head):
        return Header("PNM", 0, np.dtype(np.uint8), "PNM")  # read_pnm parses the rest
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff_header(f, head)
    if head.startswith(b"\xff\x4f\xff\x51") or head[4:8] == b"jP  ":
        return _jpeg2000_header(f)
    if head[4:8] == b"ftyp":
        return _heif_header(f)
    if head[:2] == b"\x01\xda" and len(head) >= 12 and head[3] == 2:  # SGI with 2 bytes a sample
        channels = struct.unpack(">H", head[10:12])[0] if head[5] == 3 else 1
        return Header("SGI", channels, np.dtype(np.uint16), "16-bit SGI image")
    return None


def _tiff_header(f: BinaryIO, head: bytes) -> Header | None:
    from PIL import TiffImagePlugin

    ifh = head[:16] if head[2:4] in (b"+\x00", b"\x00+") else head[:8]  # BigTIFF's header is 16 bytes
    try:
        ifd = TiffImagePlugin.ImageFileDirectory_v2(ifh)
        f.seek(ifd.next)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's remarks on odd tags ("Corrupt EXIF data"): not the user's
            ifd.load(f)
        ends = [o + c for o, c in zip(ifd.get(273) or ifd.get(324) or (), ifd.get(279) or ifd.get(325) or ())]
        bits = ifd.get(258) or (1,)
        channels = int(ifd.get(277, len(bits)))
        kind = _TIFF_KINDS.get((ifd.get(339) or (1,))[0], "u")
        # bilevel, 4-bit and 5-6-5 samples: Pillow widens them to 8 bits
        dtype = np.dtype(np.uint8) if len(set(bits)) != 1 or bits[0] < 8 else np.dtype(f"{kind}{bits[0] // 8}")
        if dtype.itemsize * 8 != bits[0] and bits[0] >= 8:
            return None  # 12- or 24-bit samples: Pillow's own open says what it makes of them
        compression = int(ifd.get(259, 1))
        planar = ""
        if int(ifd.get(284, 1)) == 2 and channels > 1:
            rgb = int(ifd.get(262, 1)) == 2 and 322 not in ifd and dtype != np.float16
            planar = "rgb" if rgb else "other"
    except Exception:
        return None
    size = f.seek(0, 2)
    if ends and max(ends) > size:
        raise Damaged(f"TIFF: its pixel data runs to byte {max(ends):,} and the file has {size:,}")
    if compression in (8, 32946):
        try:
            _check_deflate(f, ifd, channels, bits[0])
        except Damaged:
            raise
        except (ValueError, TypeError) as exc:  # tags of the wrong type: a string where a number belongs
            raise Damaged(f"TIFF: its strip or tile tags make no sense ({exc})") from None
    plural = "s" if channels > 1 else ""
    what = f"TIFF with {channels} {dtype.name} sample{plural} per pixel"
    return Header(
        "TIFF",
        channels,
        dtype,
        what,
        compression=compression,
        big_endian=head[:2] == b"MM",
        planar=planar,
    )


def _check_deflate(f: BinaryIO, ifd: Any, channels: int, bits: int) -> None:
    """Raise :class:`Damaged` unless every deflate strip (or tile) inflates whole, its checksum holding, to the
    bytes its rows need (and no more than a full strip holds).

    libtiff stops inflating once it has the rows, so damage at the end of a strip, its checksum included, passes.
    """
    width, height = int(ifd.get(256, 0)), int(ifd.get(257, 0))
    planes = channels if ifd.get(284, 1) == 2 else 1
    per_pixel = channels // planes
    what = "tile" if 322 in ifd else "strip"
    if what == "tile":
        full = int(ifd.get(323, 0)) * ((int(ifd[322]) * per_pixel * bits + 7) // 8)
        sizes = [(full, full)] * len(ifd.get(324) or ())
    else:
        rows = min(int(ifd.get(278, height) or height), height) or 1
        row_bytes = (width * per_pixel * bits + 7) // 8
        sizes = [(min(rows, height - r) * row_bytes, rows * row_bytes) for r in range(0, height, rows)] * planes
    offsets = ifd.get(324) or ifd.get(273) or ()
    counts = ifd.get(325) or ifd.get(279) or ()
    for i, (offset, count, (need, full)) in enumerate(zip(offsets, counts, sizes)):
        f.seek(offset)
        inflater, got, left = zlib.decompressobj(), 0, count
        try:
            while left and not inflater.eof and got <= full:
                data = f.read(min(left, 1 << 20))
                left -= len(data)
                while data and not inflater.eof and got <= full:
                    got += len(inflater.decompress(data, 1 << 20))
                    data = inflater.unconsumed_tail
        except zlib.error as exc:
            raise Damaged(f"TIFF: its compressed {what} {i} is corrupt ({exc})") from None
        if got > full:
            raise Damaged(f"TIFF: its compressed {what} {i} holds more than its header allows")
        if got < need or not inflater.eof:
            short = f"{got:,} of {need:,} bytes" if got < need else "all its bytes, but not the zlib checksum"
            raise Damaged(f"TIFF: its compressed {what} {i} stops short ({short})")


def _jpeg2000_header(f: BinaryIO) -> Header | None:
    f.seek(0)
    data = f.read(4096)
    at = data.find(b"\xff\x4f\xff\x51")  # the codestream's SIZ marker, inside a JP2 box or at the start
    if at < 0 or len(data) < at + 43:
        return None
    channels = struct.unpack(">H", data[at + 40 : at + 42])[0]
    bits = (data[at + 42] & 0x7F) + 1
    return Header("JPEG2000", channels, np.dtype(np.uint16 if bits > 8 else np.uint8), f"{bits}-bit JPEG 2000")


def _heif_header(f: BinaryIO) -> Header | None:
    f.seek(0)
    data = f.read(1 << 16)
    at = data.find(b"pixi")  # its version and flags, the channel count, then each channel's bits
    if at < 0 or len(data) < at + 10 or data[at + 9] <= 8:
        return None
    bits = data[at + 9]
    note = f"its {bits}-bit samples are read as 16 bits (libvips scales them by {1 << (16 - bits)}, losslessly)"
    return Header("HEIF", data[at + 8], np.dtype(np.uint16), f"{bits}-bit AVIF/HEIF image", note)


# --------------------------------------------------------------------------- PNG integrity


def _png_expected_bytes(width: int, height: int, depth: int, colour: int, interlaced: bool) -> int:
    """The inflated size of the pixel data: each row (of each Adam7 pass) is a filter byte and its samples."""
    bits = depth * _PNG_COLOURS.get(colour, (1, ""))[0]
    if not interlaced:
        return height * (1 + (width * bits + 7) // 8)
    total = 0
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w > 0 and h > 0:
            total += h * (1 + (w * bits + 7) // 8)
    return total


def check_png(f: BinaryIO, max_pixels: int, *, inflate: bool = True) -> tuple[frozenset[bytes], int]:
    """Raise :class:`Damaged` unless every chunk's CRC holds, IEND ends the file, and (``inflate``) the pixel
    data inflates to exactly the size IHDR declares; return the kinds of chunk seen and the pixel count.

    Pillow (and libvips without its fail option) fills missing rows with 0 when the compressed stream
    ends early, and ignores CRCs; ImageMagick refuses such files ("Not enough image data"). libvips with
    its fail option refuses them itself, so a file it decodes needs only the rest (``inflate=False``).
    """
    f.seek(8)
    expected = None
    kinds: set[bytes] = set()
    pixels = 0
    inflater = zlib.decompressobj()
    inflated = 0
    corrupt = None
    while True:
        head = f.read(8)
        if len(head) < 8:
            raise Damaged("PNG: the file ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", head)
        kinds.add(kind)
        crc = zlib.crc32(kind)
        left = length
        while left:
            part = f.read(min(left, 1 << 20))
            if not part:
                raise Damaged(f"PNG: the file ends inside its {kind.decode('latin-1')} chunk")
            left -= len(part)
            crc = zlib.crc32(part, crc)
            if kind == b"IHDR" and expected is None and len(part) == 13:
                width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", part[:13])
                pixels = width * height
                if pixels > max_pixels:
                    raise ImageError(too_many_pixels(max_pixels))
                expected = _png_expected_bytes(width, height, depth, colour, interlace == 1)
            elif kind == b"IDAT" and inflate and expected is not None and corrupt is None:
                try:
                    inflated += _inflate_count(inflater, part, expected - inflated)
                except Damaged as exc:
                    corrupt = exc  # said after the CRC check: a wrong CRC names the fault better
                if inflated > expected:
                    raise Damaged("PNG: its pixel data is longer than its header says")
        stored = f.read(4)
        if len(stored) < 4:
            raise Damaged(f"PNG: the file ends inside its {kind.decode('latin-1')} chunk")
        if struct.unpack(">I", stored)[0] != crc:
            raise Damaged(f"PNG: the CRC of its {kind.decode('latin-1')} chunk does not match the data")
        if corrupt is not None:
            raise corrupt
        if kind == b"IEND":
            break
    if expected is None or not inflate:
        return frozenset(kinds), pixels  # no IHDR: Pillow refuses it with its own message
    if not inflater.eof:
        got = (
            f"{inflated:,} of {expected:,} bytes" if inflated < expected else "all its bytes, but not the zlib checksum"
        )
        raise Damaged(f"PNG: its compressed pixel data stops short ({got})")
    if inflated < expected:
        raise Damaged(
            f"PNG: its pixel data is {inflated:,} bytes where its header needs {expected:,}: rows are missing"
        )
    return frozenset(kinds), pixels


def _inflate_count(inflater: zlib._Decompress, data: bytes, room: int) -> int:
    """Inflate ``data`` a slice at a time, keeping nothing; return how many bytes came out (stopping once past ``room``)."""
    count = 0
    try:
        while data and not inflater.eof:
            out = inflater.decompress(data, 1 << 20)
            count += len(out)
            if count > room:
                return count  # more than the header allows: no need to inflate the rest
            data = inflater.unconsumed_tail
    except zlib.error as exc:
        raise Damaged(f"PNG: its compressed pixel data is corrupt ({exc})") from None
    return count
