"""The optional accelerated path: OpenCV's fused kernels, used only where they give the numpy path's bits.

Installed with ``pip install 'poolcli[accel]'`` (opencv-python-headless);
without it, or switched off (:func:`set_accel`, or ``POOLCLI_ACCEL=0`` in the
environment), every result comes from the numpy passes, as it does for inputs
of fewer than :data:`MIN_CELLS` cells. Where it is used the
values are the same bit for bit, by construction and by test
(``tests/test_accel.py`` holds each case to the numpy path):

- max and min, stride 1, dilation 1, 2-D and HxWxC: ``cv2.dilate`` /
  ``cv2.erode`` with a rectangular kernel anchored at the padding before the
  input, the border filled with the mode's identity (padded cells never win),
  and only the windows the numpy path computes. For uint8, uint16, int16,
  float32 and float64 (and bool, as 0/1 bytes). Floats only when a check
  finds no NaN (OpenCV drops NaN where numpy propagates it) and no -0.0
  (which of +0.0 and -0.0 wins a tie is the ufunc's inner loop's choice, not
  a rule). An explicit padding of half an even window (output longer than
  the input) is left to numpy.
- avg of uint8, uint16 or int16 into an integer type that holds the input's
  range (``dtype="same"``), every window counting all its cells: windows
  tiling the input (k x k / k) by ``cv2.resize(INTER_AREA)``, stride-1
  windows by ``cv2.blur``, for the window sizes in :data:`_AREA` and
  :data:`_BLUR` only. Those were checked over every window sum the type can
  give (or, for the widest, every sum nearest a half): OpenCV rounds with
  float and fixed-point arithmetic, which is exact round-half-up there and
  nowhere else it was tried (a 4x4 average rounds halves to even; a 2x2
  blur, and a 15x15 one of 16-bit input, are off by one).
- conv2d of uint8, uint16 or int16 input with integer weights (after the
  common divisor is taken out) on up to 25 taps: ``cv2.filter2D`` into
  float64, whose products and sums are then exact integers, as the numpy
  path's are; the division by the divisor stays numpy's. Not for float
  input (OpenCV sums in another order, so the last bits differ) nor larger
  kernels (from 50 taps OpenCV convolves through a DFT, which rounds).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from .banded import full_windows, neutral
from .reductions import Reduction
from .threads import _THREAD_MIN_ELEMENTS, get_threads, threads_pay
from .windows import AxisPlan

__all__ = ["get_accel", "set_accel"]

Array = npt.NDArray[Any]

#: The types cv2.dilate/erode take and return unchanged (int8, int32, float16 are refused by OpenCV).
_MORPH = frozenset(np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.float32, np.float64))
#: Square windows k x k / k that cv2.resize(INTER_AREA) averages exactly rounded half up, by input type.
_AREA = {np.dtype(np.uint8): (2, 3, 5, 7), np.dtype(np.uint16): (2, 3), np.dtype(np.int16): (2, 3)}
#: Square stride-1 windows that cv2.blur averages exactly rounded half up, by input type.
_BLUR = {np.dtype(np.uint8): (3, 5, 7, 9, 11, 13, 15), np.dtype(np.uint16): (3, 5, 7), np.dtype(np.int16): (3, 5, 7)}
#: The integer types cv2.filter2D takes; and the most taps it applies directly (it switches to a DFT at 50).
_FILTER = frozenset(np.dtype(t) for t in (np.uint8, np.uint16, np.int16))
_MAX_TAPS = 25
#: Interleaved channels handed to OpenCV: its filters refuse some counts above 4 (an assertion, by shape: 129
#: channels of a 5x5 image), and its area resize of 2 channels rounds 2x2 averages half to even
_MAX_CHANNELS = 4
_AVG_CHANNELS = 4
_AREA_CHANNELS = (1, 3, 4)
#: Inputs of fewer cells stay with numpy: it takes them in a millisecond or two, less than importing OpenCV
#: costs a process (30-60 ms here), so a command on a small image starts as fast as without the extra
MIN_CELLS = 1 << 18

_setting: bool | None = None  # None: the environment decides
_module: Any = False  # the cv2 module once imported, None when absent; False before the first try


def set_accel(on: bool | None) -> None:
    """Use OpenCV's kernels where they give the numpy path's exact values (True), or never (False).

    None (the start) means on unless the environment sets ``POOLCLI_ACCEL=0``
    (or ``false``, ``no``, ``off``).
    Either way nothing changes but the time: the accelerated path is used
    only where its results are the numpy path's bit for bit, and only when
    OpenCV is installed (``pip install 'poolcli[accel]'``).

    >>> set_accel(False); get_accel()
    False
    >>> set_accel(None)
    """
    global _setting
    if on is not None and not isinstance(on, bool):
        raise ValueError(f"accel must be True, False or None (the environment's POOLCLI_ACCEL), got {on!r}")
    _setting = on


def get_accel() -> bool:
    """Whether the accelerated path is in use: switched on and OpenCV importable."""
    return _cv2() is not None


def _cv2_for(a: Array) -> Any:
    """OpenCV for an input of at least :data:`MIN_CELLS` cells, when it is switched on and importable; else None."""
    return _cv2() if a.size >= MIN_CELLS else None


def _cv2() -> Any:
    global _module
    off = os.environ.get("POOLCLI_ACCEL", "").strip().lower() in ("0", "false", "no", "off")
    on = _setting if _setting is not None else not off
    if not on:
        return None
    if _module is False:
        try:
            import cv2

            _module = cv2
        except ImportError:
            _module = None
    return _module


@contextmanager
def _threads(cv2: Any, a: Array) -> Iterator[None]:
    """OpenCV on the engine's thread count where the engine would use threads, else on one; restored after."""
    many = a.size >= _THREAD_MIN_ELEMENTS and threads_pay(a.dtype.itemsize, 1)
    n = get_threads() if many else 1
    saved = cv2.getNumThreads()
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(saved)


def _shape_ok(a: Array, every: Sequence[AxisPlan], channels: int) -> bool:
    """Two spatial axes (and at most ``channels`` channels), dilation 1, stride-1 or tiling windows that OpenCV
    places: each window starts at most its length minus one before the input, and the output is no longer."""
    return (
        len(every) == 2
        and (a.ndim == 2 or a.shape[2] <= channels)
        and all(p.d == 1 and p.before < p.k and p.out <= p.n for p in every)
    )


def _clean(a: Array) -> bool:
    """Whether a float array holds no NaN and no -0.0: two reductions, no temporary."""
    if np.isnan(a.max()):  # max propagates NaN
        return False
    bits = a.view(np.int32 if a.dtype.itemsize == 4 else np.int64)
    return bool(bits.min() != np.iinfo(bits.dtype).min)  # -0.0 is the one float whose bits are the lowest integer


def _shaped(out: Array, a: Array, every: Sequence[AxisPlan]) -> Array:
    """OpenCV's result as the numpy path's: the channel axis kept, the windows it computed, C-contiguous."""
    out = out.reshape(out.shape[:2] + a.shape[2:])
    return np.ascontiguousarray(out[: every[0].out, : every[1].out])


def extremes(a: Array, every: Sequence[AxisPlan], rec: Reduction) -> Array | None:
    """max or min over stride-1 windows by cv2.dilate/erode, or None where the numpy path must compute it."""
    if rec.accumulate != "input" or a.dtype not in _MORPH or not _shape_ok(a, every, _MAX_CHANNELS):
        return None
    padded = any(p.before or p.after for p in every)
    if any(p.s != 1 for p in every) or (padded and a.ndim == 3 and a.shape[2] > 4):
        return None  # OpenCV's border value has four channels: a fifth's padding would hold 0
    cv2 = _cv2_for(a)  # imported only now: it takes tens of milliseconds
    if cv2 is None:
        return None
    a = np.ascontiguousarray(a)  # OpenCV copies a view anyway; the check runs faster on the copy
    if a.dtype.kind == "f" and not _clean(a):
        return None
    op = cv2.dilate if rec.ufunc == "maximum" else cv2.erode
    kernel = np.ones((every[0].k, every[1].k), np.uint8)
    anchor = (every[1].before, every[0].before)
    border = (neutral(a.dtype, rec),) * 4  # one value per channel (a single number fills only the first)
    try:
        with _threads(cv2, a):
            out = op(a, kernel, anchor=anchor, borderType=cv2.BORDER_CONSTANT, borderValue=border)
    except cv2.error:  # a layout this OpenCV build refuses: numpy computes it
        return None
    return _shaped(out, a, every)


def rounded_avg(a: Array, every: Sequence[AxisPlan], rec: Reduction, target: np.dtype[Any]) -> Array | None:
    """avg of integers rounded half up into ``target`` by cv2.resize/blur, or None where numpy must compute it."""
    if a.dtype not in _AREA or rec.finish != "divide" or not _shape_ok(a, every, _AVG_CHANNELS):
        return None
    if target.kind not in "iu" or not np.can_cast(a.dtype, target):
        return None  # the average lies in the input's range: a target holding it needs no saturation
    (h, w), k = every, every[0].k
    if w.k != k or any(full_windows(p) != (0, p.out) for p in every):
        return None  # a window with uncounted cells (same padding, the ceil_mode overhang) divides by fewer
    channels = 1 if a.ndim == 2 else a.shape[2]
    area = h.s == w.s == k and h.before == w.before == 0 and k in _AREA[a.dtype] and channels in _AREA_CHANNELS
    if not area and not (h.s == w.s == 1 and k in _BLUR[a.dtype]):
        return None
    cv2 = _cv2_for(a)
    if cv2 is None:
        return None
    try:
        with _threads(cv2, a):
            if area:
                out = cv2.resize(a[: h.out * k, : w.out * k], (w.out, h.out), interpolation=cv2.INTER_AREA)
            else:  # padded cells are zeros that count (count_pad): a constant zero border
                out = cv2.blur(a, (k, k), anchor=(w.before, h.before), borderType=cv2.BORDER_CONSTANT)
    except cv2.error:  # a layout this OpenCV build refuses: numpy computes it
        return None
    return _shaped(out, a, every).astype(target, copy=False)


def correlate(
    a: Array, weights: Sequence[Sequence[int]], pads: Sequence[tuple[int, int]], shape: tuple[int, int]
) -> Array | None:
    """The cross-correlation of integers ``a`` with integer ``weights`` as exact float64 sums (zeros +0.0), of the
    output ``shape`` after ``pads`` zeros before and after each axis, by cv2.filter2D; or None."""
    kernel = np.array(weights, np.float64)
    if a.dtype not in _FILTER or kernel.size > _MAX_TAPS or (a.ndim == 3 and a.shape[2] > 4):
        return None
    info = np.iinfo(a.dtype)
    if float(np.abs(kernel).sum()) * max(-int(info.min), int(info.max)) >= 2.0**53:
        return None  # a sum could leave the integers float64 holds exactly
    cv2 = _cv2_for(a)
    if cv2 is None:
        return None
    try:
        with _threads(cv2, a):
            out = cv2.filter2D(a, cv2.CV_64F, kernel, anchor=(pads[1][0], pads[0][0]), borderType=cv2.BORDER_CONSTANT)
    except cv2.error:  # a layout this OpenCV build refuses: numpy computes it
        return None
    out = out.reshape(out.shape[:2] + a.shape[2:])
    sums: Array = np.ascontiguousarray(out[: shape[0], : shape[1]])
    # the numpy path's zeros are +0.0; OpenCV's sums start from +0.0 and so stay +0.0, but a product 0 * -1 is
    # -0.0: a read of the bits (-0.0's are the lowest int64) is cheaper than a pass that writes
    if sums.view(np.int64).min() == np.iinfo(np.int64).min:
        np.add(sums, 0.0, out=sums)
    return sums
