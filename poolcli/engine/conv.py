"""Convolution (cross-correlation, as a CNN layer computes it) with exact integer and fractional kernels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from .accel import correlate
from .banded import band_rows, check_array, guarded
from .threads import run_bands

__all__ = ["conv2d"]

Array = npt.NDArray[Any]
#: A kernel's weights, row by row.
Weights = list[list[Any]]


def conv2d(x: npt.ArrayLike, kernel: npt.ArrayLike, padding: str = "valid") -> Array:
    """Return the cross-correlation of ``x`` with ``kernel``, as a CNN layer computes it.

    The kernel is not flipped (Keras ``Conv2D``, PyTorch ``conv2d``, OpenCV
    ``filter2D``). Channels of a 3-D input are filtered independently.

    Exact weights: a kernel whose weights are all fractions p/q with q up to
    65536 (integers, 1/9, 1/16, 0.25 ...; a float weight counts as p/q when it
    is the float nearest p/q) is applied as integer weights over one common
    divisor: the products are summed exactly, then divided once. So integer
    weights on integer input (any image, and integer-valued float input) give
    exact integers, and a fractional filter gives the correctly rounded
    quotient, as long as the sums stay below 2**53 (2**24 for float32
    input). Other kernels are applied weight by weight in floating point.

    Parameters
    ----------
    x : array_like
        2-D (H, W) or 3-D (H, W, C) bool, integer or float array, in either
        byte order (bool counts as 0 and 1).
    kernel : array_like
        2-D array of weights (bool, integer or float), 3x3 the common case.
    padding : {"valid", "same"}
        ``"valid"``: output ``(H - kh + 1, W - kw + 1)`` (28x28 becomes 26x26
        with a 3x3 kernel). ``"same"``: zero padding, ``(kh - 1) // 2`` before
        and the rest after, so the output has the input's shape.

    Returns
    -------
    numpy.ndarray
        float32 for float32 (or narrower float) input, float64 otherwise. A
        zero is always +0.0 (never -0.0, which 0 * -1 would give). NaN or inf
        in the input gives NaN or inf where it reaches, as PyTorch; a sum that
        overflows on finite input is computed again scaled (see
        :func:`pool2d`). Nothing warns.

    Examples
    --------
    >>> import numpy as np
    >>> one = np.zeros((5, 5)); one[2, 2] = 1
    >>> conv2d(one, np.arange(1, 10).reshape(3, 3), padding="same")[1:4, 1:4]
    array([[9., 8., 7.],
           [6., 5., 4.],
           [3., 2., 1.]])
    """
    a, _ = check_array(x)
    k = np.asarray(kernel)
    if k.ndim != 2 or 0 in k.shape:
        raise ValueError(f"kernel must be a non-empty 2-D array, got shape {k.shape}")
    if k.dtype.kind not in "biuf":
        raise ValueError(f"kernel must be numeric, got dtype {k.dtype}")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"conv padding must be 'valid' or 'same', got {padding!r}")
    padding = padding.lower()
    dtype = np.dtype(np.float32) if a.dtype.kind == "f" and a.dtype.itemsize <= 4 else np.dtype(np.float64)
    kh, kw = k.shape
    h, w = a.shape[:2]
    if padding == "same":
        pads = ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)
    else:
        pads = ((0, 0), (0, 0))
    oh, ow = h + sum(pads[0]) - kh + 1, w + sum(pads[1]) - kw + 1
    if oh < 1 or ow < 1:
        raise ValueError(
            f"filter {kh}x{kw} does not fit the {h}x{w} input with conv padding 'valid'; use conv padding 'same'"
        )
    exact = _exact_weights(k)
    fast = None if exact is None else correlate(a, exact[0], pads, (oh, ow))  # OpenCV, the same bits (accel.py)
    if fast is not None:
        assert exact is not None
        _divide(fast, exact[1])
        return fast
    if exact is None:
        weights, divisor, factors = k.astype(np.float64).tolist(), 1, None
    else:
        weights, divisor = exact
        factors = _integer_factors(weights)
    row_bytes = max(1, (a.nbytes // h) * dtype.itemsize // a.dtype.itemsize)
    per_band = band_rows(row_bytes)

    def compute(x: Array) -> Array:
        # 0 * NaN is NaN: zero weights may be skipped only when the input has no NaN or infinity
        skip_zeros = x.dtype.kind in "iu" or bool(np.isfinite(x).all())
        out = np.empty((oh, ow) + x.shape[2:], dtype=dtype)

        def band(i0: int, i1: int) -> None:
            r0, r1 = i0 - pads[0][0], i1 - 1 + kh - pads[0][0]
            part = x[max(r0, 0) : min(r1, h)]
            if r0 < 0 or r1 > h or pads[1] != (0, 0):
                widths = [(max(-r0, 0), max(r1 - h, 0)), pads[1]] + [(0, 0)] * (x.ndim - 2)
                part = np.pad(part, widths, mode="constant")
            target = out[i0:i1]
            if factors is not None:
                u, v = factors
                cols = np.empty((i1 - i0, part.shape[1]) + x.shape[2:], dtype=dtype)
                _taps(cols, [(part[i : i + i1 - i0], u[i]) for i in range(kh)], skip_zeros)
                negative_zero = _taps(target, [(cols[:, j : j + ow], v[j]) for j in range(kw)], skip_zeros)
            else:
                taps = [(part[i : i + i1 - i0, j : j + ow], weights[i][j]) for i in range(kh) for j in range(kw)]
                negative_zero = _taps(target, taps, skip_zeros)
            _divide(target, divisor)
            # a float quotient may also underflow to -0.0; -0.0 + 0.0 is +0.0, so a zero never prints as -0
            if negative_zero or (divisor != 1 and x.dtype.kind == "f"):
                np.add(target, 0.0, out=target)

        run_bands(band, oh, per_band, x.size)
        return out

    result: Array = guarded(compute, a, math.fsum(abs(wt) for row in weights for wt in row))
    return result


def _divide(target: Array, divisor: int) -> None:
    """target /= divisor, correctly rounded."""
    if divisor & (divisor - 1):
        np.divide(target, divisor, out=target)
    elif divisor != 1:
        np.multiply(target, 1 / divisor, out=target)  # a power of two: the same, correctly rounded


#: Float weights are read as fractions with denominators up to this (1/9, 1/16, 1/273 ...).
_MAX_DENOMINATOR = 1 << 16
#: Integer weights and divisors below this are exact in float32 as in float64.
_EXACT_INT = 1 << 24


def _exact_weights(k: Array) -> tuple[Weights, int] | None:
    """(W, D): integer weights (nested lists) and a divisor with W / D == k weight for weight, or None."""
    weights = k.ravel().tolist()
    if k.dtype.kind == "f":
        if not all(map(math.isfinite, weights)):
            return None
        fractions = [Fraction(v).limit_denominator(_MAX_DENOMINATOR) for v in weights]
        # the float nearest p/q, in the kernel's own type, must be the weight itself
        if any(k.dtype.type(f.numerator / f.denominator) != v for f, v in zip(fractions, weights)):
            return None
        divisor = math.lcm(*(f.denominator for f in fractions))
        ints = [int(f * divisor) for f in fractions]
    else:
        ints, divisor = [int(v) for v in weights], 1
    if divisor >= _EXACT_INT or max(map(abs, ints)) >= _EXACT_INT:
        return None
    width = k.shape[1]
    return [ints[i : i + width] for i in range(0, len(ints), width)], divisor


def _integer_factors(w: Weights) -> tuple[list[int], list[int]] | None:
    """(u, v), integer lists with outer(u, v) == w (nested lists of ints), or None.

    A rank-one kernel runs as two 1-D passes.
    """
    rows = [row for row in w if any(row)]
    if len(w) == 1 or len(w[0]) == 1 or not rows:
        return None
    g = math.gcd(*rows[0])
    v = [a // g for a in rows[0]]  # a primitive row: then every row is an integer multiple of it
    c = next(j for j, a in enumerate(v) if a)
    u = [row[c] // v[c] for row in w]
    return (u, v) if all(ui * vj == wij for ui, row in zip(u, w) for vj, wij in zip(v, row)) else None


def _taps(out: Array, taps: Sequence[tuple[Array, Any]], skip_zeros: bool) -> bool:
    """out = sum of weight * slice over the taps, with one temporary buffer; whether out may hold -0.0.

    A sum never turns into -0.0 (+0.0 plus -0.0 is +0.0, and so is a sum that
    cancels), so only its first term can bring one: a weight of 1 or -1 starts
    as ``a + 0.0`` or ``0.0 - a``, which are +0.0 for either zero, and failing
    that a positive weight on integers cannot give -0.0 either.
    """
    if skip_zeros:
        taps = [(a, wt) for a, wt in taps if wt != 0] or taps[:1]
    taps = sorted(taps, key=lambda tap: (abs(tap[1]) != 1, not tap[1] > 0))
    tmp = None
    for n, (a, wt) in enumerate(taps):
        wt = out.dtype.type(wt)
        if n == 0 and wt == 1:
            np.add(a, 0.0, out=out, casting="unsafe")
        elif n == 0 and wt == -1:
            np.subtract(0.0, a, out=out, casting="unsafe")
        elif n == 0:
            np.multiply(a, wt, out=out, casting="unsafe")
        elif wt == 1:
            np.add(out, a, out=out, casting="unsafe")
        elif wt == -1:
            np.subtract(out, a, out=out, casting="unsafe")
        else:
            if tmp is None:
                tmp = np.empty_like(out)
            np.multiply(a, wt, out=tmp, casting="unsafe")
            np.add(out, tmp, out=out)
    a, wt = taps[0]
    return abs(wt) != 1 and (a.dtype.kind == "f" or not wt > 0)
