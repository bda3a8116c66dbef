"""TIFF samples that neither Pillow nor libvips reads exactly (float64, 64-bit integers), read here with numpy.

Uncompressed and deflate strips or tiles, chunky or planar, either byte order, with no predictor, the
horizontal predictor (integers) or the floating-point predictor (TIFF Technical Note 3): what numpy writers
such as tifffile, GDAL and ImageMagick produce for such data. Anything else (LZW, JPEG, ... compression) is
refused by name, with the way out.
"""

from __future__ import annotations

import io
import warnings
import zlib
from typing import Any, BinaryIO

import numpy as np

from .headers import Damaged, ImageError

__all__ = ["read_tiff_raw"]

_COMPRESSIONS = {1: "none", 8: "deflate", 32946: "deflate"}
_OTHERS = {5: "LZW", 7: "JPEG", 32773: "PackBits", 34925: "LZMA", 50000: "Zstandard"}
_KINDS = {1: "u", 2: "i", 3: "f"}


def read_tiff_raw(data: str | bytes, max_pixels: int, *, all_pages: bool = False) -> tuple[np.ndarray, int]:
    """The first page (or every page, stacked) as (H, W) or (H, W, C) in the samples' own type, native byte
    order; and the number of pages. Raises :class:`ImageError` for what it does not read, :class:`Damaged`
    for a strip that is cut short or corrupt."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's tag parser remarks on odd tags: not the user's concern
            return _read(data, max_pixels, all_pages)
    except (ImageError, MemoryError):  # Damaged is an ImageError
        raise
    except Exception as exc:  # a header that contradicts itself: Pillow's tag parser, numpy's reshapes
        raise Damaged(f"TIFF: {type(exc).__name__}: {exc}") from None


def _read(data: str | bytes, max_pixels: int, all_pages: bool) -> tuple[np.ndarray, int]:
    from PIL import TiffImagePlugin

    with open(data, "rb") if isinstance(data, str) else io.BytesIO(data) as f:
        head = f.read(16)
        if head[2:4] in (b"+\x00", b"\x00+"):
            raise ImageError("a BigTIFF of samples Pillow and libvips misread: not read; convert it to NPY")
        ifd = TiffImagePlugin.ImageFileDirectory_v2(head[:8])
        pages: list[np.ndarray] = []
        offset, seen = ifd.next, set()
        while offset and offset not in seen and (all_pages or not pages):
            seen.add(offset)
            f.seek(offset)
            ifd.load(f)
            page = _page(f, ifd, len(pages), max_pixels)
            if pages and (page.shape, page.dtype) != (pages[0].shape, pages[0].dtype):
                raise ImageError(
                    f"page {len(pages)} is {_what(page)}, page 0 {_what(pages[0])}; a volume's pages must agree"
                )
            pages.append(page)
            if sum(p.size for p in pages) > max_pixels:
                raise ImageError(f"more than --max-pixels {max_pixels:,} samples")
            offset = ifd.next
        if not pages:
            raise Damaged("TIFF: it has no image directory")
        count = len(seen) if all_pages else _count(f, ifd, seen)
    return (np.stack(pages) if all_pages else pages[0]), count


def _count(f: BinaryIO, ifd: Any, seen: set[int]) -> int:
    """The number of pages, following the chain of directories without reading their samples."""
    offset = ifd.next
    while offset and offset not in seen:
        seen.add(offset)
        f.seek(offset)
        ifd.load(f)
        offset = ifd.next
    return len(seen)


def _what(page: np.ndarray) -> str:
    return f"{'x'.join(map(str, page.shape))} {page.dtype.name}"


def _page(f: BinaryIO, ifd: Any, index: int, max_pixels: int) -> np.ndarray:
    width, height = int(ifd.get(256, 0)), int(ifd.get(257, 0))
    bits = ifd.get(258) or (1,)
    channels = int(ifd.get(277, len(bits)))
    kind = _KINDS.get((ifd.get(339) or (1,))[0])
    compression = int(ifd.get(259, 1))
    predictor = int(ifd.get(317, 1))
    where = f"page {index}: " if index else ""
    if kind is None or len(set(bits)) != 1 or bits[0] % 8 or bits[0] > 64:
        raise ImageError(f"{where}{bits[0]}-bit samples of this kind are not read; convert it to NPY")
    if compression not in _COMPRESSIONS:
        raise ImageError(
            f"{where}{bits[0]}-bit samples compressed with {_OTHERS.get(compression, f'scheme {compression}')}: "
            "only uncompressed and deflate TIFFs of them are read; convert it to NPY"
        )
    if predictor not in (1, 2, 3) or (predictor == 2 and kind == "f") or (predictor == 3 and kind != "f"):
        raise ImageError(f"{where}predictor {predictor} with {kind}{bits[0]} samples is not read; convert it to NPY")
    if width < 1 or height < 1 or channels < 1:
        raise Damaged(f"TIFF: {where}{width}x{height} with {channels} samples a pixel")
    if width * height * channels > max_pixels:
        raise ImageError(f"{width}x{height} with {channels} samples a pixel: more than --max-pixels {max_pixels:,}")
    order = ">" if ifd._endian == ">" else "<"
    dtype = np.dtype(f"{order}{kind}{bits[0] // 8}")
    planar = int(ifd.get(284, 1)) == 2 and channels > 1
    per_pixel = 1 if planar else channels
    tiled = 322 in ifd
    bw, bh = (int(ifd[322]), int(ifd[323])) if tiled else (width, min(int(ifd.get(278, height) or height), height) or 1)
    offsets = ifd.get(324 if tiled else 273) or ()
    counts = ifd.get(325 if tiled else 279) or ()
    if bw < 1 or bh < 1:
        raise Damaged(f"TIFF: {where}{'tiles' if tiled else 'strips'} of {bw}x{bh}")
    across, down = -(-width // bw), -(-height // bh)
    if across * bw * down * bh * channels > 2 * max_pixels + (1 << 20):  # tiles far wider than the image
        raise ImageError(f"{where}{bw}x{bh} tiles: more than --max-pixels {max_pixels:,} samples with their margins")
    if len(offsets) < across * down * (channels if planar else 1) or len(counts) < len(offsets):
        raise Damaged(f"TIFF: {where}names {len(offsets)} {'tiles' if tiled else 'strips'}, too few for its size")
    out = np.empty((channels if planar else 1, down * bh, across * bw, per_pixel), dtype.newbyteorder("="))
    for i, (start, size) in enumerate(zip(offsets, counts)):
        plane, at = divmod(i, across * down)
        if plane >= out.shape[0]:
            break
        row, col = divmod(at, across)
        rows = bh if tiled else min(bh, height - row * bh)
        f.seek(start)
        raw = f.read(size)
        if compression != 1:
            try:
                raw = zlib.decompress(raw)
            except zlib.error as exc:
                raise Damaged(
                    f"TIFF: {where}compressed {'tile' if tiled else 'strip'} {i} is corrupt ({exc})"
                ) from None
        need = rows * bw * per_pixel * dtype.itemsize
        if len(raw) < need:
            raise Damaged(f"TIFF: {where}{'tile' if tiled else 'strip'} {i} holds {len(raw):,} of {need:,} bytes")
        block = _undo_predictor(raw[:need], predictor, dtype, rows, bw, per_pixel)
        out[plane, row * bh : row * bh + rows, col * bw : (col + 1) * bw] = block
    pixels = out[:, :height, :width]
    pixels = np.moveaxis(pixels[..., 0], 0, -1) if planar else pixels[0]
    return np.ascontiguousarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def _undo_predictor(raw: bytes, predictor: int, dtype: np.dtype, rows: int, width: int, per_pixel: int) -> np.ndarray:
    """A block's values in native order, (rows, width, per_pixel), its predictor undone."""
    if predictor == 3:
        # each row holds byte differences (per sample of a pixel), then each value's bytes split into planes,
        # the most significant first, whatever the file's byte order
        diffs = np.frombuffer(raw, np.uint8).reshape(rows, -1, per_pixel)
        planes = diffs.cumsum(axis=1, dtype=np.uint8).reshape(rows, dtype.itemsize, width * per_pixel)
        big = np.ascontiguousarray(planes.transpose(0, 2, 1)).view(dtype.newbyteorder(">"))
        return big.astype(dtype.newbyteorder("=")).reshape(rows, width, per_pixel)
    values = np.frombuffer(raw, dtype).astype(dtype.newbyteorder("=")).reshape(rows, width, per_pixel)
    if predictor == 2:  # differences along each row, per sample, wrapping as the type does
        values = values.cumsum(axis=1, dtype=values.dtype)
    return values
