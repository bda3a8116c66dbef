"""NPY arrays: read as stored (native byte order, bool as 0/1), written with np.save; never a pickle."""

from __future__ import annotations

import io as _io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from . import Write, Writer

__all__ = ["encode", "in_layout", "load"]

#: NPY element types that hold no plain numbers, by numpy's kind code
_NPY_REFUSED = {
    "c": "complex",
    "M": "datetime",
    "m": "timedelta",
    "U": "text",
    "S": "bytes",
    "V": "raw bytes (void)",
    "O": "Python objects",
}


def _native(arr: np.ndarray, name: str) -> np.ndarray:
    """Return a loaded NPY array in the native-order type the engine takes, or refuse its type in one line.

    Byte order changes no value, so it is converted without a note; bool becomes uint8 0/1 (the same
    numbers, in a type every filter and image writer takes).
    """
    dt = arr.dtype
    if dt.names is not None:
        fields = ", ".join(dt.names[:4]) + (", ..." if len(dt.names) > 4 else "")
        raise InputError(
            f"{name}: NPY dtype is a structured record (fields {fields}), not supported; "
            f"poolcli reads bool, integer and float arrays"
        )
    if dt.kind in _NPY_REFUSED or (dt.kind == "f" and dt.itemsize > 8):
        what = _NPY_REFUSED.get(dt.kind, "extended precision")
        spelled = dt.str if dt.kind in "USV" else dt.name
        hint = "; convert it to float64 first" if dt.kind == "f" else ""
        raise InputError(
            f"{name}: NPY dtype {spelled} ({what}) is not supported; poolcli reads bool, integer and float arrays{hint}"
        )
    if dt.kind == "b":
        return arr.astype(np.uint8)
    if not dt.isnative:
        # np.load gives a fresh, writable array: swap it in place rather than hold a second copy
        return arr.byteswap(inplace=True).view(dt.newbyteorder("="))
    return arr


def _read_npy(data: bytes, name: str, volume: bool = False) -> np.ndarray:
    """Return the 1-D, 2-D or 3-D array of an NPY file (3-D or 4-D for a ``volume``), in native byte order (bool as uint8)."""
    try:
        arr = np.load(_io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise InputError(f"{name}: NPY holds Python objects; refused (it would need unpickling)") from None
        raise InputError(f"{name}: truncated or damaged NPY file ({exc})") from None
    except MemoryError:
        raise
    except Exception as exc:
        raise InputError(f"{name}: truncated or damaged NPY file ({type(exc).__name__}: {exc})") from None
    arr = _native(arr, name)
    if arr.ndim not in ((3, 4) if volume else (1, 2, 3)):
        reads = (
            "a volume as 3-D (D, H, W) or 4-D (D, H, W, C)"
            if volume
            else "1-D (a signal), 2-D (H, W) or 3-D (H, W, C), and with --volume 3-D or 4-D volumes"
        )
        raise InputError(f"{name}: NPY array is {arr.ndim}-D with shape {arr.shape}; poolcli reads {reads}")
    if 0 in arr.shape:
        raise InputError(f"{name}: NPY array is empty (shape {arr.shape})")
    return arr


def load(data: bytes, name: str, max_pixels: int) -> tuple[np.ndarray, list[str]]:
    """The reader of the registry: the array of an NPY file, and no notes (its values are taken as stored)."""
    return _read_npy(data, name), []


def in_layout(result: np.ndarray, layout: str | None) -> np.ndarray:
    """A (H, W, C) result in the layout its input had: (C, H, W) for ``--layout chw``."""
    return np.moveaxis(result, -1, 0) if layout == "chw" and result.ndim == 3 else result


def encode(
    result: np.ndarray, writer: Writer, options: Mapping[str, Any], *, source_dtype: np.dtype, name: str
) -> tuple[Write, list[tuple[str, str]]]:
    """The writer of the registry: ``result`` as stored, in the input's layout; any dtype, so no notes.

    Always in C order, whatever order the engine's result has in memory (a Fortran-order input can give a
    Fortran-order result), so that the same values are the same file, streamed or not.
    """
    arr = np.ascontiguousarray(in_layout(result, options.get("layout")))
    return (lambda f: np.save(f, arr, allow_pickle=False)), []
