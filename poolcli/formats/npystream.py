"""NPY files read a band of rows at a time, through a memory map: only the band is ever in memory.

Every layout NumPy writes is taken (either byte order, C or Fortran order, bool); each band is converted
as :mod:`.npy` converts a whole array. The pages of the map a band was read from are let go once it has
been copied, so the process's resident memory stays that of a band (a map's pages count in it).
"""

from __future__ import annotations

import mmap
from contextlib import suppress
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import numpy as np

from .npy import _native

__all__ = ["NpyBands", "open_npy"]

_PAGE = mmap.ALLOCATIONGRANULARITY
#: Bands read through a non-contiguous view (Fortran order, channels first) before the whole map is let go
_RELEASE_EVERY = 64


class NpyBands:
    """The rows of an NPY file's array (``array``, a read-only view that may be replaced by one of its own
    views, such as its channels moved last), given as native-order copies of ``band_bytes`` or so each."""

    def __init__(self, name: str, array: np.ndarray, mapped: mmap.mmap, band_bytes: int) -> None:
        self.name, self.array, self.map, self.band_bytes = name, array, mapped, band_bytes
        self.notes: list[str] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        arr = self.array
        row_bytes = max(1, arr[:1].nbytes)
        rows = max(1, self.band_bytes // row_bytes)
        base = np.frombuffer(self.map, np.uint8).ctypes.data
        for n, i in enumerate(range(0, len(arr), rows)):
            view = arr[i : i + rows]
            band = _native(np.array(view), self.name)
            if view.flags.c_contiguous:
                self._release(view.ctypes.data - base, view.ctypes.data - base + view.nbytes)
            elif n % _RELEASE_EVERY == _RELEASE_EVERY - 1:
                self._release(0, len(self.map))
            yield band

    def _release(self, start: int, stop: int) -> None:
        start -= start % _PAGE
        if stop > start:
            self.map.madvise(mmap.MADV_DONTNEED, start, min(stop, len(self.map)) - start)

    def __enter__(self) -> NpyBands:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.array = np.empty(0)  # the views go before the map can close
        with suppress(BufferError):  # a view still held elsewhere: the map closes when it goes
            self.map.close()


def open_npy(path: str, *, band_bytes: int) -> NpyBands | None:
    """The bands of the NPY file ``path``, or None where only the whole reader can say what it holds (a
    damaged file, Python objects, a type or number of axes refused): it then says what is wrong."""
    try:
        meta = np.load(path, mmap_mode="r", allow_pickle=False)
        shape, dtype, offset = meta.shape, meta.dtype, meta.offset
        fortran = meta.flags.f_contiguous and not meta.flags.c_contiguous
        del meta
        if len(shape) not in (2, 3) or 0 in shape:
            return None
        _native(np.empty((0,), dtype), path)  # refuses the types the whole reader refuses
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        array: Any = np.ndarray(shape, dtype, buffer=mapped, offset=offset, order="F" if fortran else "C")
    except (ValueError, OSError, TypeError):
        return None
    return NpyBands(path, array, mapped, band_bytes)
