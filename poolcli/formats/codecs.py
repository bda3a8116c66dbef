"""The codecs poolcli keeps itself: PGM/PPM/PAM as stored, PNG and TIFF out, and libvips.

``pnm``, PNG and TIFF writing need nothing but numpy and zlib; ``vips`` is libvips through pyvips, the optional
extra ``codecs`` (``pip install 'poolcli[codecs]'``): without it the file is refused, never truncated. Errors are
:class:`ImageError` without the file's name: the caller adds it.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import IO, Any, Callable

import numpy as np

from .headers import (
    INSTALL_HINT,
    PNG_SIGNATURE,
    Damaged,
    Header,
    ImageError,
    stored_as_is,
    too_many_pixels,
)

__all__ = [
    "PNG_BLOCK_ROWS",
    "TIFF_TYPES",
    "PngRows",
    "have_vips",
    "png_writer",
    "pnm_header",
    "pnm_notes",
    "read_pnm",
    "read_vips",
    "tiff_writer",
]


# --------------------------------------------------------------------------- PGM, PPM, PAM

_PNM_CHANNELS = {b"P2": 1, b"P3": 3, b"P5": 1, b"P6": 3}
_PNM_NAMES = {b"P2": "PGM", b"P3": "PPM", b"P5": "PGM", b"P6": "PPM", b"P7": "PAM"}
_PNM_TOKEN = re.compile(rb"(?:\s|#[^\n]*(?:\n|$))*(\d+)")


def read_pnm(data: bytes, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    """The samples of a PGM, PPM (plain or raw) or PAM file as stored (uint8 up to maxval 255, else uint16), and notes.

    maxval is not applied: a 10-bit PGM (maxval 1023) reads as 0..1023, with a note, where Pillow and
    ImageMagick would scale it to 0..65535. Raises :class:`Damaged` for a damaged or short file.
    """
    magic = data[:2]
    name, width, height, channels, maxval, start = pnm_header(data, max_pixels)
    count = width * height * channels
    dtype = np.dtype(np.uint8 if maxval < 256 else np.uint16)
    if magic in (b"P2", b"P3"):
        tokens = re.sub(rb"#[^\n]*", b"", data[start:]).split()
        if len(tokens) < count:
            raise Damaged(f"{name}: {len(tokens):,} of {count:,} samples")
        try:
            samples = np.array(tokens[:count], dtype=np.int64)
        except (ValueError, OverflowError):
            raise Damaged(f"{name}: a sample is not a number") from None
    else:
        size = count * dtype.itemsize
        if len(data) - start < size:
            raise Damaged(f"{name}: {len(data) - start:,} of {size:,} bytes of pixel data")
        samples = np.frombuffer(data, dtype=dtype.newbyteorder(">"), count=count, offset=start)
    if int(samples.max()) > maxval or int(samples.min()) < 0:
        bad = int(samples.max()) if int(samples.max()) > maxval else int(samples.min())
        raise Damaged(f"{name}: a sample is {bad}, outside its 0..{maxval}")
    arr = samples.astype(dtype).reshape((height, width, channels) if channels > 1 else (height, width))
    return arr, pnm_notes(name, maxval)


def pnm_header(data: bytes, max_pixels: int) -> tuple[str, int, int, int, int, int]:
    """What the header at the start of ``data`` says: the format's name (PGM, PPM, PAM), width, height,
    channels, maxval, and where the samples start. Raises :class:`Damaged` or :class:`ImageError`."""
    magic = data[:2]
    if magic == b"P7":
        width, height, channels, maxval, start = _pam_header(data)
    else:
        values, pos = [], 2
        for _ in range(3):
            m = _PNM_TOKEN.match(data, pos)
            if m is None:
                raise Damaged(f"{_PNM_NAMES[magic]}: unreadable header")
            values.append(int(m.group(1)))
            pos = m.end()
        width, height, maxval = values
        channels = _PNM_CHANNELS[magic]
        start = pos + 1  # one whitespace character ends the header
    name = _PNM_NAMES[magic]
    if not 0 < maxval < 65536 or width == 0 or height == 0 or not 1 <= channels <= 4:
        raise Damaged(f"{name}: header says {width}x{height}, {channels} channels, maxval {maxval}")
    if width * height > max_pixels:
        raise ImageError(too_many_pixels(max_pixels))
    return name, width, height, channels, maxval, start


def pnm_notes(name: str, maxval: int) -> list[str]:
    """What is said of a PGM/PPM/PAM's samples: read as stored when maxval is not a full 8 or 16 bits."""
    if maxval in (255, 65535):
        return []
    top = 255 if maxval < 256 else 65535
    return [f"{name} maxval is {maxval}: samples read as stored (0..{maxval}), not scaled to 0..{top}"]


def _pam_header(data: bytes) -> tuple[int, int, int, int, int]:
    end = data.find(b"ENDHDR\n")
    if end < 0:
        raise Damaged("PAM: no ENDHDR in its header")
    fields = {}
    for line in data[3:end].splitlines():
        parts = line.split(None, 1)
        if parts and not parts[0].startswith(b"#") and len(parts) == 2:
            fields[parts[0].upper()] = parts[1].strip()
    try:
        width, height, depth, maxval = (int(fields[k]) for k in (b"WIDTH", b"HEIGHT", b"DEPTH", b"MAXVAL"))
    except (KeyError, ValueError):
        raise Damaged("PAM: its header lacks WIDTH, HEIGHT, DEPTH or MAXVAL") from None
    return width, height, depth, maxval, end + 7


# --------------------------------------------------------------------------- PNG out

_PNG_COLOUR_OF = {1: 0, 2: 4, 3: 2, 4: 6}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def png_writer(pixels: np.ndarray, compress_level: int) -> Callable[[IO[bytes]], None]:
    """A function writing uint8 or uint16 ``pixels`` (H x W or H x W x 1..4) as an 8- or 16-bit PNG.

    Every row uses PNG's "up" filter (the difference from the row above, one numpy subtraction a block of
    rows), which compresses smooth images about as well as choosing a filter per row, as Pillow and libpng
    do, at a fraction of the time; Pillow also writes no 16-bit colour PNG.
    """

    def write(f: IO[bytes]) -> None:
        rows = PngRows(f, pixels.shape[1:], len(pixels), pixels.dtype, compress_level)
        for r0 in range(0, len(pixels), PNG_BLOCK_ROWS):
            rows.add(pixels[r0 : r0 + PNG_BLOCK_ROWS])
        rows.end()

    return write


#: rows a PNG's encoder filters and compresses at once: the bytes written depend on it
PNG_BLOCK_ROWS = 256


class PngRows:
    """A PNG written block by block: :func:`png_writer`'s encoder, for rows that come a block at a time.

    The file is the same byte for byte when the blocks are :data:`PNG_BLOCK_ROWS` rows each (the last may be
    shorter) and ``height`` rows in all; the header goes out at once.
    """

    def __init__(self, f: IO[bytes], row_shape: tuple[int, ...], height: int, dtype: np.dtype, level: int) -> None:
        width = row_shape[0]
        channels = 1 if len(row_shape) == 1 else row_shape[1]
        self.f, self.size = f, dtype.itemsize
        ihdr = struct.pack(">IIBBBBB", width, height, 8 * self.size, _PNG_COLOUR_OF[channels], 0, 0, 0)
        f.write(PNG_SIGNATURE + _png_chunk(b"IHDR", ihdr))
        self.row_bytes = width * channels * self.size
        self.deflate = zlib.compressobj(level)
        self.above = np.zeros((1, self.row_bytes), dtype=np.uint8)
        self.filtered = np.empty((PNG_BLOCK_ROWS, self.row_bytes + 1), dtype=np.uint8)
        self.filtered[:, 0] = 2  # "up"

    def add(self, block: np.ndarray) -> None:
        """Filter and compress up to :data:`PNG_BLOCK_ROWS` rows, writing what the compressor gives."""
        if self.size > 1:
            block = block.astype(">u2")  # PNG's samples are big-endian
        rows = np.ascontiguousarray(block).view(np.uint8).reshape(-1, self.row_bytes)
        out = self.filtered[: rows.shape[0]]
        np.subtract(rows[:1], self.above, out=out[:1, 1:])  # wraps mod 256, as PNG asks
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
        self.above = rows[-1:].copy()
        data = self.deflate.compress(out.data)
        if data:
            self.f.write(_png_chunk(b"IDAT", data))

    def end(self) -> None:
        self.f.write(_png_chunk(b"IDAT", self.deflate.flush()) + _png_chunk(b"IEND", b""))


# --------------------------------------------------------------------------- TIFF

#: the sample types written to TIFF as they are; TIFF 6 names no 64-bit integers, and libvips reads no float64
TIFF_TYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32")
_TIFF_SAMPLE_FORMAT = {"u": 1, "i": 2, "f": 3}


def tiff_writer(pixels: np.ndarray, *, pages: bool = False) -> Callable[[IO[bytes]], None]:
    """A function writing ``pixels`` (H x W or H x W x 1..4, a type of :data:`TIFF_TYPES`) as an uncompressed TIFF.

    One strip, little-endian, the samples as they are: grey (with an alpha channel when there are 2) or RGB
    (with alpha when there are 4). numpy writes it, so no sample type or channel count needs libvips. With
    ``pages``, the first axis counts pages (a volume, D x H x W[ x C]): one IFD per page, in order.
    """
    stack = pixels if pages else pixels[np.newaxis]
    height, width = stack.shape[1:3]
    channels = 1 if stack.ndim == 3 else stack.shape[3]
    dtype = stack.dtype
    size = height * width * channels * dtype.itemsize  # one page
    if stack.size * dtype.itemsize > 0xFFFF_0000:
        raise ImageError(
            f"{stack.size * dtype.itemsize:,} bytes of pixels are more than a TIFF holds (4 GiB); write .npy"
        )
    bits = dtype.itemsize * 8
    little = stack.astype(dtype.newbyteorder("<"), copy=False)
    parts: list[bytes | np.ndarray] = [b"II*\0"]
    at = 8  # each page: its pixels, then its IFD and the IFD's arrays; the header points to the first IFD
    for d in range(len(stack)):
        data_at = at
        ifd_at = data_at + size + (size & 1)  # an IFD starts on a word boundary
        entries: list[tuple[int, int, int, object]] = [  # tag, type (3 SHORT, 4 LONG), count, value(s)
            (256, 4, 1, width),
            (257, 4, 1, height),
            (258, 3, channels, [bits] * channels),
            (259, 3, 1, 1),  # no compression
            (262, 3, 1, 2 if channels >= 3 else 1),  # RGB or grey (black is 0)
            (273, 4, 1, data_at),
            (277, 3, 1, channels),
            (278, 4, 1, height),
            (279, 4, 1, size),
            (284, 3, 1, 1),  # the samples of a pixel together
        ]
        if channels in (2, 4):
            entries.append((338, 3, 1, 2))  # the extra channel is alpha, not premultiplied
        entries.append((339, 3, channels, [_TIFF_SAMPLE_FORMAT[dtype.kind]] * channels))
        extra_at = ifd_at + 2 + 12 * len(entries) + 4
        table, extra = b"", b""
        for tag, kind, count, value in entries:
            values = value if isinstance(value, list) else [value]
            packed = struct.pack(f"<{count}{'H' if kind == 3 else 'I'}", *values)
            if len(packed) <= 4:
                table += struct.pack("<HHI", tag, kind, count) + packed.ljust(4, b"\0")
            else:
                table += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
                extra += packed
        extra += b"\0" * (len(extra) & 1)
        at = extra_at + len(extra)
        following = at + size + (size & 1) if d + 1 < len(stack) else 0  # the next page's IFD, after its pixels
        if d == 0:
            parts.append(struct.pack("<I", ifd_at))
        parts += [
            little[d],
            b"\0" * (size & 1),
            struct.pack("<H", len(entries)) + table + struct.pack("<I", following) + extra,
        ]

    def write(f: IO[bytes]) -> None:
        for part in parts:
            f.write(np.ascontiguousarray(part).data if isinstance(part, np.ndarray) else part)

    return write


# --------------------------------------------------------------------------- libvips


def _pyvips(purpose: str) -> Any:
    """The pyvips module, or :class:`ImageError` naming the extra to install."""
    try:
        import pyvips  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except Exception:
        raise ImageError(f"{purpose} needs libvips, which is not installed: {INSTALL_HINT}") from None
    if not pyvips.at_least_libvips(8, 15):
        raise ImageError(f"{purpose} needs libvips 8.15 or newer: {INSTALL_HINT}")
    return pyvips


def have_vips() -> bool:
    """Whether libvips (8.15 or newer) is installed, through pyvips."""
    try:
        _pyvips("")
    except ImageError:
        return False
    return True


def _vips_message(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def read_vips(
    source: str | bytes, header: Header, max_pixels: int, *, all_pages: bool = False
) -> tuple[np.ndarray, int, str | None]:
    """The pixels of a path or bytes by libvips, turned as its EXIF orientation says, the page count, and a note
    when the colour space is kept as stored (CMYK).

    With ``all_pages``, every page (of one size, or libvips refuses) stacked on a first axis: (D, H, W[, C]).

    libvips fails on any decoder error (a short or damaged file), where by default it would return the
    rows it had, and on libtiff's warnings, which is how it hears a damaged TIFF strip.
    """
    pyvips = _pyvips(f"a {header.what}, which Pillow reads inexactly or not at all; reading it")
    # libvips hears libtiff's decode errors (a corrupt LZW strip) as warnings: for TIFF they fail the read too.
    # revalidate: never an earlier read of the same path
    options: dict[str, Any] = dict(fail_on="warning" if header.format == "TIFF" else "error", revalidate=True)
    if all_pages:
        options["n"] = -1
    try:
        if isinstance(source, bytes):
            im = pyvips.Image.new_from_buffer(source, "", **options)
        else:
            im = pyvips.Image.new_from_file(source, **options)
    except pyvips.Error as exc:
        if "known" in str(exc):  # "... is not a known file format": no loader for it in this libvips
            raise ImageError(
                f"a {header.what}: Pillow would not read it exactly and libvips here cannot read it"
            ) from None
        raise Damaged(f"{header.what}; libvips: {_vips_message(exc)}") from None
    if im.width * im.height > max_pixels:
        raise ImageError(too_many_pixels(max_pixels))
    said = None
    if im.interpretation == "cmyk":
        said = stored_as_is("CMYK", "its C, M, Y, K channels")
    elif im.interpretation not in ("b-w", "grey16", "srgb", "rgb16", "scrgb", "multiband"):
        raise ImageError(f"a {header.what} in {im.interpretation.upper()}: poolcli reads grey and RGB(A) images")
    pages = im.get("n-pages") if im.get_typeof("n-pages") else 1
    try:
        if im.get_typeof("orientation") and im.get("orientation") != 1:
            im = im.autorot()
        arr = im.numpy()
    except pyvips.Error as exc:
        raise Damaged(f"{header.what}; libvips: {_vips_message(exc)}") from None
    if header.dtype == np.float16 and arr.dtype == np.float32:
        arr = arr.astype(np.float16)  # libvips widens half floats; each came from one, so this is exact
    if all_pages:  # libvips stacks the pages one below the other
        height = im.get("page-height") if im.get_typeof("page-height") else im.height
        arr = arr.reshape((im.height // height, height, im.width) + ((im.bands,) if im.bands > 1 else ()))
    return arr, pages, said
