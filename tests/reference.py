"""Slow, loop-by-loop reference for poolcli's pool (1-D, 2-D, 3-D) / output_shape / conv2d / unpool /
fractional max pooling.

Written from the Keras/PyTorch pooling rules alone (not from poolcli/engine), to serve as a
test oracle.  Every output cell is computed by listing its window's cells explicitly:

    window start = i*s - pad_before,   cells = start + j*d   (j = 0..k-1)

and classifying each cell along an axis as
    real      -- inside [0, n)
    counted   -- padding that counts in an avg divisor ([-p, n+p) with count_pad)
    uncounted -- "same" padding, --no-count-pad padding, or the ceil_mode overhang.
An N-D window is the product of its axes' windows (rows x columns; depth x rows x columns), its real
cells listed in row-major order.  Numpy is used for storage only.
Sums are exact (Python ints, or Fractions for floats) and rounded once; infinities and NaN as IEEE.

LP pooling (PyTorch's LPPool2d: no padding, no dilation) is (sum of x**p) ** (1/p) over the window's
cells, with PyTorch's rule for a ceil_mode window that reaches past the input: lp_pool2d is
avg_pool2d(x**p) * kh*kw, and avg_pool2d divides by the cells inside, so that sum is scaled by
(window cells / cells inside).  Powers and roots follow C's pow: a negative number to a power that is
not an integer is NaN, (-inf)**p is -inf for an odd integer p and inf otherwise, except p = 0.5, which is a
square root as in PyTorch's and numpy's pow (sqrt(-inf) is NaN, sqrt(-0.0) is -0.0).  The sum is taken of
(x / m)**p, with m the window's largest |x|, and the root multiplied by m (as math.hypot does), so that
no power overflows.  p = inf is the largest |x|.
"""
import itertools
import math
from fractions import Fraction

import numpy as np

MODES = ("max", "avg", "min", "sum", "lp")


class EmptyWindowError(ValueError):
    """A window that holds no real cell: poolcli refuses such windows, so the oracle refuses them too."""


def _tuple(v, name, ndim=2):
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (int(v),) * ndim
    if not (isinstance(v, (tuple, list)) and len(v) == ndim
            and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in v)):
        raise ValueError(f"{name} must be an int or {ndim} ints, got {v!r}")
    return tuple(int(a) for a in v)


def _axis(n, k, s, d, pad, ceil_mode, count_pad):
    """Windows along one axis: a list of (cells, counted) with counted = #cells in the divisor range."""
    if k < 1 or s < 1 or d < 1:
        raise ValueError("size, stride and dilation must be >= 1")
    e = d * (k - 1) + 1
    if pad == "same":
        out = -(-n // s)                                  # ceil(n / s); ceil_mode changes nothing
        total = max((out - 1) * s + e - n, 0)
        before = total // 2
        lo, hi = 0, n                                     # avg divides by real cells only
    else:
        p = 0 if pad == "valid" else pad                  # "valid" is explicit p = 0
        if p < 0 or p > k // 2:                           # PyTorch: half the window size, dilation not counted
            raise ValueError(f"padding {p} must be in [0, k//2 = {k // 2}]")
        num = n + 2 * p - e
        out = (-(-num // s) if ceil_mode else num // s) + 1
        if out < 1:                                       # with ceil_mode a longer window fits if it starts inside
            raise ValueError(f"window {e} does not fit in {n} + 2*{p}")
        if ceil_mode and (out - 1) * s >= n + p:          # last window starts past the left pad + input
            out -= 1
        before = p
        lo, hi = (-p, n + p) if (count_pad is None or count_pad) else (0, n)
    windows = []
    for i in range(out):
        start = i * s - before
        cells = [start + j * d for j in range(k)]
        windows.append((cells, sum(1 for c in cells if lo <= c < hi)))
    return windows


def _adaptive_axis(n, o):
    if o < 1:
        raise ValueError("output_size must be >= 1")
    windows = []
    for i in range(o):
        a, b = (i * n) // o, -(-((i + 1) * n) // o)       # [floor(i*n/o), ceil((i+1)*n/o))
        windows.append((list(range(a, b)), b - a))
    return windows


def _windows(shape, size, stride, padding, dilation, ceil_mode, count_pad, output_size, ndim=2):
    """One list of windows per spatial axis."""
    if len(shape) not in (ndim, ndim + 1):
        raise ValueError(f"input must be {ndim}-D or {ndim + 1}-D")
    spatial = shape[:ndim]
    if output_size is not None:
        if isinstance(output_size, str):
            if output_size != "global":
                raise ValueError(f"bad output_size {output_size!r}")
            sizes = (1,) * ndim
        else:
            sizes = _tuple(output_size, "output_size", ndim)
        return [_adaptive_axis(n, o) for n, o in zip(spatial, sizes)]
    k = _tuple(size, "size", ndim)
    s = _tuple(size if stride is None else stride, "stride", ndim)
    d = _tuple(dilation, "dilation", ndim)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"bad padding {padding!r}")
        p = (padding,) * ndim
    else:
        p = _tuple(padding, "padding", ndim)
    return [_axis(spatial[a], k[a], s[a], d[a], p[a], ceil_mode, count_pad) for a in range(ndim)]


def ref_output_shape(shape, size=2, stride=None, padding="valid", *, dilation=1,
                     ceil_mode=False, output_size=None, ndim=2):
    axes = _windows(tuple(shape), size, stride, padding, dilation, ceil_mode, None, output_size, ndim)
    return tuple(len(windows) for windows in axes) + tuple(shape[ndim:])


def ref_pool2d(x, size=2, stride=None, padding="valid", mode="max", **kwargs):
    return ref_pool(x, size, stride, padding, mode, ndim=2, **kwargs)


def ref_pool(x, size=2, stride=None, padding="valid", mode="max", *, ndim, dilation=1,
             ceil_mode=False, count_pad=None, output_size=None, return_indices=False, norm_type=None):
    x = np.asarray(x)
    if mode not in MODES:
        raise ValueError(f"bad mode {mode!r}")
    if (mode == "lp") != (norm_type is not None):
        raise ValueError("norm_type goes with mode lp, and only with it")
    if mode == "lp" and (padding not in ("valid", 0, (0,) * ndim) or dilation not in (1, (1,) * ndim)
                         or output_size is not None):
        raise ValueError("LPPool takes no padding, dilation or output size")
    if return_indices and mode not in ("max", "min"):
        raise ValueError("return_indices needs max or min")
    if x.dtype.kind not in "biuf":
        raise ValueError("bool, integer or float input expected")
    axes = _windows(x.shape, size, stride, padding, dilation, ceil_mode, count_pad, output_size, ndim)
    spatial = x.shape[:ndim]
    xc = x.reshape(spatial + (-1,))
    C = xc.shape[-1]
    is_int = x.dtype.kind in "biu"
    out_dtype = x.dtype if (mode in ("max", "min") or not is_int) else np.dtype(np.float64)
    out_spatial = tuple(len(windows) for windows in axes)
    out = np.zeros(out_spatial + (C,), dtype=out_dtype)
    idx = np.zeros(out_spatial + (C,), dtype=np.int64)

    for o in itertools.product(*(range(n) for n in out_spatial)):
        windows = [axes[a][o[a]] for a in range(ndim)]
        # Real cells in row-major order of the input (cells increase along each axis).
        real = list(itertools.product(*([c for c in cells if 0 <= c < spatial[a]]
                                        for a, (cells, _) in enumerate(windows))))
        if not real:
            raise EmptyWindowError(f"output cell {o} has no real cell")
        for ch in range(C):
            vals = [int(xc[r + (ch,)]) if is_int else float(xc[r + (ch,)]) for r in real]
            nans = [t for t, v in enumerate(vals) if v != v]
            if mode in ("max", "min"):
                if nans:
                    best = nans[-1]                   # the last NaN in row-major order wins (PyTorch)
                else:
                    best = 0
                    for t, v in enumerate(vals):      # strict comparison: ties keep the first
                        if (v > vals[best]) if mode == "max" else (v < vals[best]):
                            best = t
                out[o + (ch,)] = vals[best]
                idx[o + (ch,)] = _flat(real[best], spatial)
            elif mode == "lp":
                window = math.prod(len(cells) for cells, _ in windows)
                with np.errstate(over="ignore"):      # float16 past 65504 is inf, as in numpy
                    out[o + (ch,)] = _lp(vals, norm_type, window, len(real))
            else:
                divisor = 1
                if mode == "avg":
                    divisor = math.prod(count for _, count in windows) if output_size is None else len(real)
                with np.errstate(over="ignore"):      # float16 past 65504 is inf, as in numpy
                    out[o + (ch,)] = _quotient(vals, divisor)
    out = out.reshape(out_spatial + x.shape[ndim:])
    if return_indices:
        return out, idx.reshape(out.shape)
    return out


def _flat(cell, spatial):
    """The row-major flat index of a cell (d*H*W + h*W + w for 3-D), PyTorch's index convention."""
    flat = 0
    for c, n in zip(cell, spatial):
        flat = flat * n + c
    return flat


def _quotient(vals, divisor):
    """sum(vals) / divisor, from the exact sum, rounded to float64 (inf past its range; NaN and inf as IEEE)."""
    if any(v != v for v in vals):
        return math.nan
    infs = {v for v in vals if math.isinf(v)}
    if infs:
        return math.nan if len(infs) == 2 else infs.pop()
    if all(isinstance(v, int) for v in vals):
        return sum(vals) / divisor                        # int / int is correctly rounded
    exact = sum(map(Fraction, vals)) / divisor
    try:
        return float(exact)
    except OverflowError:                                 # past the float range
        return math.inf if exact > 0 else -math.inf


def _c_pow(v, p):
    """v ** p as C's pow gives it, for v a float or an int and p > 0."""
    v = float(v)
    if v != v:
        return math.nan
    if p == 0.5:  # PyTorch and numpy take x ** 0.5 as a square root
        return math.nan if v < 0 else math.sqrt(v)
    if v < 0 and not float(p).is_integer():
        return math.inf if math.isinf(v) else math.nan
    if math.isinf(v):
        return -math.inf if v < 0 and p % 2 == 1 else math.inf
    return v ** p


def _lp(vals, p, window, inside):
    """(sum of v**p) ** (1/p) over a window's cells, the sum scaled by window / inside (PyTorch's ceil_mode rule)."""
    if any(v != v for v in vals):
        return math.nan
    if p == math.inf:
        return float(max(abs(v) for v in vals))
    powers = [_c_pow(v, p) for v in vals]
    if any(v != v for v in powers):
        return math.nan
    infinities = {v for v in powers if math.isinf(v)}
    if infinities:
        return math.nan if len(infinities) == 2 else _c_pow(infinities.pop(), 1 / p)
    m = max(abs(float(v)) for v in vals)
    if m == 0:
        return 0.0
    scaled = math.fsum(_c_pow(v / m, p) for v in vals) * window / inside
    if scaled < 0 and not (1 / p).is_integer():
        return math.nan
    return m * scaled ** (1 / p)


def _as_fraction(w):
    """A weight as the fraction it stands for: p/q (q <= 65536) when w is the float nearest p/q, else None."""
    f = Fraction(w).limit_denominator(65536)
    return f if float(f) == w else None


def ref_conv2d(x, kernel, padding="valid"):
    """Cross-correlation. Integer input with a kernel of fractions: the exact sum, rounded once (int / int);
    otherwise math.fsum of the float products (exactly rounded sum of rounded products)."""
    x = np.asarray(x)
    kernel = np.asarray(kernel, dtype=np.float64)
    if x.ndim not in (2, 3) or kernel.ndim != 2:
        raise ValueError("x must be 2-D or 3-D and kernel 2-D")
    H, W = x.shape[0], x.shape[1]
    kh, kw = kernel.shape
    if padding == "valid":
        if H < kh or W < kw:
            raise ValueError("kernel larger than input")
        bh = bw = 0
        oh, ow = H - kh + 1, W - kw + 1
    elif padding == "same":
        bh, bw = (kh - 1) // 2, (kw - 1) // 2
        oh, ow = H, W
    else:
        raise ValueError(f"bad padding {padding!r}")
    fractions = [_as_fraction(w) for w in kernel.ravel().tolist()] if np.isfinite(kernel).all() else [None]
    exact = x.dtype.kind in "biu" and None not in fractions
    if exact:
        divisor = math.lcm(*(f.denominator for f in fractions))
        ints = np.array([int(f * divisor) for f in fractions], dtype=object).reshape(kernel.shape)
    x3 = x.reshape(H, W, -1)
    C = x3.shape[2]
    out = np.zeros((oh, ow, C), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            for ch in range(C):
                cells = [(a, b, i + a - bh, j + b - bw) for a in range(kh) for b in range(kw)]
                cells = [(a, b, r, c) for a, b, r, c in cells if 0 <= r < H and 0 <= c < W]  # zero padding adds 0
                if exact:
                    out[i, j, ch] = sum(ints[a, b] * int(x3[r, c, ch]) for a, b, r, c in cells) / divisor
                    continue
                terms = [float(kernel[a, b]) * float(x3[r, c, ch]) for a, b, r, c in cells]
                if any(t != t for t in terms):
                    out[i, j, ch] = math.nan
                else:
                    out[i, j, ch] = math.fsum(terms)
    out_dtype = np.float32 if x.dtype.kind == "f" and x.dtype.itemsize <= 4 else np.float64  # float16 too
    return out.reshape((oh, ow) + x.shape[2:]).astype(out_dtype)


def ref_unpool(values, indices, output_shape, ndim):
    """PyTorch's max_unpool: zeros, then each value written to its index in row-major order of the values
    (so the last value for a cell stays); an index outside [0, cells) is an error."""
    values, indices = np.asarray(values), np.asarray(indices)
    spatial = tuple(output_shape)
    cells = math.prod(spatial)
    vc = values.reshape(values.shape[:ndim] + (-1,))
    ic = indices.reshape(vc.shape)
    out = np.zeros((cells, vc.shape[-1]), dtype=values.dtype)
    for pos in itertools.product(*(range(n) for n in vc.shape)):
        i = int(ic[pos])
        if not 0 <= i < cells:
            raise ValueError(f"index {i} outside the output")
        out[i, pos[-1]] = vc[pos]
    return out.reshape(spatial + values.shape[ndim:])


def ref_fractional_max_pool(x, size, output_size, samples, ndim):
    """PyTorch's FractionalMaxPool2d/3d, transcribed loop by loop.

    Along each axis the windows start at generate_intervals(u, n, o, k) (PyTorch's FractionalMaxPool2d.cpp), computed
    in the input's float type T (float64 for integers):
        alpha = T(n - k) / T(o - 1)
        start[i] = int((i + u) * alpha) - int(u * alpha)   for i < o - 1
        start[o - 1] = n - k
    with u = samples[c][column], the columns in PyTorch's order: (W, H) for 2-D, (T, H, W) for 3-D. A window's cells are
    scanned in row-major order and a cell taken when  val > best or isnan(val), best starting at -inf and the index at
    the window's first cell."""
    x = np.asarray(x)
    spatial = x.shape[:ndim]
    xc = x.reshape(spatial + (-1,))
    channels = xc.shape[-1]
    k = _tuple(size, "size", ndim)
    o = _tuple(output_size, "output_size", ndim)
    T = x.dtype.type if x.dtype.kind == "f" else np.float64
    u = np.broadcast_to(np.asarray(samples, dtype=np.float64), (channels, ndim))
    columns = {2: (1, 0), 3: (0, 1, 2)}[ndim]

    def intervals(sample, n, out, kk):
        seq = [0] * out
        if out > 1:
            alpha = T(n - kk) / T(out - 1)
            for i in range(out - 1):
                seq[i] = int((T(i) + sample) * alpha) - int(sample * alpha)
        seq[out - 1] = n - kk
        return seq

    values = np.zeros(o + (channels,), dtype=x.dtype)
    where = np.zeros(o + (channels,), dtype=np.int64)
    for c in range(channels):
        starts = [intervals(T(u[c, columns[a]]), spatial[a], o[a], k[a]) for a in range(ndim)]
        for pos in itertools.product(*(range(n) for n in o)):
            first = tuple(starts[a][pos[a]] for a in range(ndim))
            best, best_index = -math.inf, _flat(first, spatial)
            for cell in itertools.product(*(range(s, s + kk) for s, kk in zip(first, k))):
                assert all(0 <= ci < n for ci, n in zip(cell, spatial)), "a window outside the input"
                v = xc[cell + (c,)]
                if v > best or v != v:
                    best, best_index = v, _flat(cell, spatial)
            values[pos + (c,)] = best
            where[pos + (c,)] = best_index
    shape = o + x.shape[ndim:]
    return values.reshape(shape), where.reshape(shape)
