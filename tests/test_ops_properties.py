"""Property tests: poolcli.pool2d / output_shape / conv2d against the loop reference in reference.py.

The reference is written from the Keras/PyTorch pooling rules only; the plain tests at the top pin the
reference itself to hand-checked cases (the same ones tests/test_ops.py and the golden files use).
"""
import os
import sys
from fractions import Fraction
from contextlib import contextmanager, nullcontext

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import poolcli

sys.path.insert(0, os.path.dirname(__file__))
from reference import EmptyWindowError, ref_conv2d, ref_output_shape, ref_pool2d  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data")
MODES = ["max", "avg", "min", "sum"]
DTYPES = ["uint8", "int16", "float32", "float64", "uint16", "int32", "float16"]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


def mat(n, sign=1.0):
    return sign * np.arange(1, n * n + 1, dtype=np.float64).reshape(n, n)


# --------------------------------------------------------------------------------------------
# The oracle pinned to hand-checked cases; poolcli checked on them too.
# --------------------------------------------------------------------------------------------
TABLE = [
    (mat(5), dict(size=2, mode="max"), [[7, 9], [17, 19]]),
    (mat(5), dict(size=2, padding="same", mode="max"), [[7, 9, 10], [17, 19, 20], [22, 24, 25]]),
    (mat(5), dict(size=2, padding="same", mode="avg"), [[4, 6, 7.5], [14, 16, 17.5], [21.5, 23.5, 25]]),
    (mat(5), dict(size=2, mode="avg", ceil_mode=True), [[4, 6, 7.5], [14, 16, 17.5], [21.5, 23.5, 25]]),
    (np.array([[10.0, 20], [30, 40]]), dict(size=3, stride=2, padding="same", mode="avg"), [[25]]),
    (mat(5), dict(size=4, stride=2, padding="same", mode="avg"),
     [[7, 8.5, 9.5], [14.5, 16, 17], [19.5, 21, 22]]),
    (mat(5), dict(size=4, stride=2, padding="same", mode="max"), [[13, 15, 15], [23, 25, 25], [23, 25, 25]]),
    (mat(5, -1), dict(size=2, padding="same", mode="max"), [[-1, -3, -5], [-11, -13, -15], [-21, -23, -25]]),
    (mat(3), dict(size=3, stride=2, padding=1, mode="avg"), [[12 / 9, 16 / 9], [24 / 9, 28 / 9]]),
    (mat(3), dict(size=3, stride=2, padding=1, mode="avg", count_pad=False), [[3, 4], [6, 7]]),
    (mat(3), dict(size=3, stride=2, padding=1, mode="max"), [[5, 6], [8, 9]]),
    (mat(4), dict(size=3, stride=2, padding=1, mode="avg", ceil_mode=True),
     [[14 / 9, 30 / 9, 2], [57 / 9, 11, 6], [4.5, 7.5, 4]]),
    (mat(4), dict(size=3, stride=2, padding=1, mode="avg", ceil_mode=True, count_pad=False),
     [[3.5, 5, 6], [9.5, 11, 12], [13.5, 15, 16]]),
    (mat(4), dict(size=2, mode="sum"), [[14, 22], [46, 54]]),
    (mat(5), dict(output_size=3, mode="avg"), [[4, 5.5, 7], [11.5, 13, 14.5], [19, 20.5, 22]]),
    (mat(4), dict(size=3, stride=3, padding="same", mode="max"), [[6, 8], [14, 16]]),
    (mat(4), dict(size=3, stride=3, mode="max", ceil_mode=True), [[11, 12], [15, 16]]),
]


@pytest.mark.parametrize("x,kw,expected", TABLE)
def test_reference_matches_semantics_table(x, kw, expected):
    np.testing.assert_allclose(ref_pool2d(x, **kw), expected, rtol=1e-12)


@pytest.mark.parametrize("x,kw,expected", TABLE)
def test_poolcli_matches_semantics_table(x, kw, expected):
    np.testing.assert_allclose(poolcli.pool2d(x, **kw), expected, rtol=1e-12)


def test_reference_small_cases():
    m4 = ref_pool2d(mat(4), 2, 1, "same", "max")
    a4 = ref_pool2d(mat(4), 2, 1, "same", "avg")
    assert m4.shape == (4, 4) and list(m4[-1]) == [14, 15, 16, 16] and list(a4[-1]) == [13.5, 14.5, 15.5, 16]
    assert list(ref_pool2d(mat(5), 3, 1, "same", "avg")[0]) == [4, 4.5, 5.5, 6.5, 7]
    vals, idx = ref_pool2d(mat(4), 2, return_indices=True)
    assert idx.tolist() == [[5, 7], [13, 15]] and idx.dtype == np.int64
    assert ref_output_shape((5, 5), 2, 2, 1, ceil_mode=True) == (3, 3)
    assert ref_output_shape((6, 6), 1, 2, ceil_mode=True) == (3, 3)
    assert ref_output_shape((32, 32), 8, 4, ceil_mode=True) == (7, 7)
    one_hot = np.zeros((5, 5))
    one_hot[2, 2] = 1
    assert ref_conv2d(one_hot, np.arange(1, 10.0).reshape(3, 3)).tolist() == [[9, 8, 7], [6, 5, 4], [3, 2, 1]]


def test_reference_seed_tables():
    conv = np.loadtxt(os.path.join(DATA, "seven_conv_26x26.txt"))
    pooled = np.loadtxt(os.path.join(DATA, "seven_maxpool_13x13.txt"))
    assert np.array_equal(ref_pool2d(conv, 2, 2, mode="max"), pooled)
    assert np.array_equal(poolcli.pool2d(conv, 2, 2, mode="max"), pooled)


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------
def _as_pair(v):
    return (v, v) if isinstance(v, int) else v


@st.composite
def int_or_pair(draw, lo, hi):
    a = draw(st.integers(lo, hi))
    return a if draw(st.booleans()) else (a, draw(st.integers(lo, hi)))


@st.composite
def images(draw, dtype=None, max_side=15, nan=True):
    shape = (draw(st.integers(1, max_side)), draw(st.integers(1, max_side)))
    if draw(st.booleans()):
        shape += (draw(st.integers(1, 3)),)
    dtype = dtype or draw(st.sampled_from(DTYPES))
    if draw(st.integers(0, 3)) == 0:                      # few distinct values: lots of ties
        elements = st.integers(0, 3)
        if dtype in ("uint8", "int16", "uint16", "int32") and draw(st.booleans()):   # ties at the dtype's extremes
            info = np.iinfo(dtype)
            elements = st.sampled_from([int(info.min), int(info.min) + 1, int(info.max) - 1, int(info.max)])
    elif dtype in ("uint8", "int16", "uint16", "int32"):
        info = np.iinfo(dtype)  # the whole range: sums of values near the limits must not wrap
        elements = st.integers(int(info.min), int(info.max))
    elif dtype == "float16":
        elements = st.floats(-6e4, 6e4, width=16, allow_subnormal=False)
    elif dtype == "float32":
        elements = st.floats(-1e4, 1e4, width=32, allow_subnormal=False)
    else:
        elements = st.floats(-1e6, 1e6, allow_subnormal=False)
    x = draw(arrays(dtype, shape, elements=elements))
    if nan and x.dtype.kind == "f" and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            x[tuple(draw(st.integers(0, n - 1)) for n in shape)] = np.nan
    return x


@st.composite
def window_kwargs(draw):
    """size/stride/padding/dilation/ceil_mode/count_pad, mostly legal (explicit p <= k//2)."""
    size = draw(int_or_pair(1, 5))
    stride = draw(st.one_of(st.none(), int_or_pair(1, 4)))
    dilation = draw(st.one_of(st.just(1), int_or_pair(1, 3)))
    kind = draw(st.sampled_from(["valid", "same", "explicit"]))
    if kind == "explicit":
        (kh, kw) = _as_pair(size)
        ph = draw(st.integers(0, kh // 2))                # PyTorch: at most half the size, dilation not counted
        pw = draw(st.integers(0, kw // 2))
        padding = ph if ph == pw and draw(st.booleans()) else (ph, pw)
        count_pad = draw(st.sampled_from([None, True, False]))
    else:
        padding = kind
        # poolcli rejects count_pad=True with "same" (Keras never counts its padding); see the report.
        count_pad = draw(st.sampled_from([None, False] if kind == "same" else [None, True, False]))
    return dict(size=size, stride=stride, padding=padding, dilation=dilation,
                ceil_mode=draw(st.booleans()), count_pad=count_pad)


def assert_close(got, want, rtol, scale, slack=None):
    """Same NaN mask, then assert_allclose(rtol); cells whose terms cancel get atol = rtol * sum|terms|,
    plus ``slack`` (per cell) where terms may underflow."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    inf = np.isinf(want)  # a float16 sum past 65504: both must be the same infinity
    np.testing.assert_array_equal(got[inf], want[inf])
    ok = ~np.isnan(want) & ~inf
    g, w = got[ok].astype(np.float64), want[ok].astype(np.float64)
    s = scale[ok].astype(np.float64)
    atol = 0 if slack is None else slack[ok]
    near = np.abs(g - w) <= rtol * s + atol              # within rounding of the summed magnitudes
    np.testing.assert_allclose(g[~near], w[~near], rtol=rtol, atol=0)


def check_pool(x, kw):
    """poolcli.pool2d(x, **kw) against ref_pool2d: shape, dtype and values."""
    want = ref_pool2d(x, **kw)
    got = poolcli.pool2d(x, **kw)
    if kw.get("return_indices"):
        assert isinstance(got, tuple) and len(got) == 2
        (got, got_idx), (want, want_idx) = got, want
        assert got_idx.shape == want_idx.shape and got_idx.dtype == np.int64
        np.testing.assert_array_equal(got_idx, want_idx)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    if kw.get("mode", "max") in ("avg", "sum") and x.dtype.kind == "f":
        rtol = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 1e-5}.get(x.dtype, 1e-12)
        # Scale of each cell = the same pool of |x|: bounds the rounding error of any summation order.
        scale = ref_pool2d(np.abs(np.nan_to_num(x).astype(np.float64)), **kw)
        assert_close(got, want, rtol, scale)
    else:
        np.testing.assert_array_equal(got, want)         # exact, NaN == NaN


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------
@settings(max_examples=1000, **SETTINGS)
@given(data=st.data())
def test_pool2d_matches_reference(data):
    x = data.draw(images())
    kw = data.draw(window_kwargs())
    kw["mode"] = data.draw(st.sampled_from(MODES))
    if kw["mode"] in ("max", "min") and data.draw(st.booleans()):
        kw["return_indices"] = True
    try:
        ref_pool2d(np.zeros(x.shape[:2]), **{k: v for k, v in kw.items() if k not in ("mode", "return_indices")})
    except ValueError:
        assume(False)                                    # window does not fit (or holds no real cell)
    check_pool(x, kw)


@settings(max_examples=200, **SETTINGS)
@given(data=st.data())
def test_adaptive_and_global_match_reference(data):
    x = data.draw(images())
    out = data.draw(st.one_of(st.just("global"), int_or_pair(1, 8)))
    kw = dict(output_size=out, mode=data.draw(st.sampled_from(MODES)))
    if kw["mode"] in ("max", "min") and data.draw(st.booleans()):
        kw["return_indices"] = True
    check_pool(x, kw)
    if out == "global":
        got = poolcli.pool2d(x, **kw)
        got = got[0] if isinstance(got, tuple) else got
        assert got.shape == (1, 1) + x.shape[2:]


@settings(max_examples=400, **SETTINGS)
@given(data=st.data())
def test_output_shape_matches_reference(data):
    shape = (data.draw(st.integers(1, 15)), data.draw(st.integers(1, 15)))
    if data.draw(st.booleans()):
        shape += (data.draw(st.integers(1, 3)),)
    if data.draw(st.integers(0, 4)) == 0:
        kw = dict(output_size=data.draw(st.one_of(st.just("global"), int_or_pair(1, 8))))
    else:
        kw = data.draw(window_kwargs())
        kw.pop("count_pad")
    try:
        want = ref_output_shape(shape, **kw)
    except ValueError:
        want = None
    if want is None or _empty_window(shape, kw):
        # a window that does not fit, or one that would hold only padding, is an error
        with pytest.raises(ValueError):
            poolcli.output_shape(shape, **kw)
        return
    assert tuple(poolcli.output_shape(shape, **kw)) == want
    # and pool2d really produces that shape
    assert poolcli.pool2d(np.zeros(shape), **kw).shape == want


def _empty_window(shape, kw):
    try:
        ref_pool2d(np.zeros(shape[:2]), **kw)
    except EmptyWindowError:
        return True
    except ValueError:
        pass
    return False


@settings(max_examples=500, **SETTINGS)
@given(data=st.data())
def test_value_error_exactly_when_reference_rejects(data):
    """Including illegal arguments: size/stride/dilation 0, padding > e//2, windows that don't fit."""
    shape = (data.draw(st.integers(1, 15)), data.draw(st.integers(1, 15)))
    size = data.draw(int_or_pair(0, 9))
    stride = data.draw(st.one_of(st.none(), int_or_pair(0, 4)))
    dilation = data.draw(int_or_pair(0, 3))
    padding = data.draw(st.one_of(st.sampled_from(["valid", "same"]), int_or_pair(0, 6)))
    mode = data.draw(st.sampled_from(MODES + ["median"]))
    kw = dict(size=size, stride=stride, padding=padding, dilation=dilation,
              ceil_mode=data.draw(st.booleans()), mode=mode)
    x = np.arange(shape[0] * shape[1], dtype=np.float64).reshape(shape)
    try:
        ref_pool2d(x, **kw)
        ref_raises = False
    except ValueError:                    # includes EmptyWindowError: poolcli refuses such windows too
        ref_raises = True
    if ref_raises:
        with pytest.raises(ValueError):
            poolcli.pool2d(x, **kw)
    else:
        poolcli.pool2d(x, **kw)
    kw.pop("mode")
    if mode in MODES:
        if ref_raises:
            with pytest.raises(ValueError):
                poolcli.output_shape(shape, **kw)
        else:
            poolcli.output_shape(shape, **kw)


def test_value_errors_misc():
    x = mat(4)
    for kw in [dict(mode="avg", return_indices=True), dict(mode="sum", return_indices=True),
               dict(output_size=0), dict(padding=-1), dict(padding="full"), dict(size=0), dict(stride=0),
               dict(dilation=0), dict(size=5)]:
        with pytest.raises(ValueError):
            ref_pool2d(x, **kw)
        with pytest.raises(ValueError):
            poolcli.pool2d(x, **kw)


def test_no_window_without_real_cell():
    """A window that holds no real cell must never be produced, and padding never wins max/min.
    With dilation such windows can arise (2x2 input, k=2, d=3, p=1 gives a window whose cells are {-1, 2};
    1x1 input, k=2, d=3, same: {-1, 2} too); poolcli must refuse them rather than return a padding value
    (PyTorch returns -inf and an index outside the input)."""
    for x, kw in [(np.ones((2, 2), np.uint8), dict(size=2, stride=1, padding=1, dilation=3, mode="max")),
                  (np.ones((1, 1), np.uint8), dict(size=2, stride=1, padding="same", dilation=3, mode="max"))]:
        with pytest.raises(EmptyWindowError):
            ref_pool2d(x, **kw)
        try:
            out = poolcli.pool2d(x, **kw)
        except ValueError:
            continue
        pytest.fail(f"poolcli.pool2d({x.tolist()}, {kw}) returned {out.tolist()} from padding only")


def test_indices_ties_row_major_in_adaptive_pooling():
    """Ties go to the first cell in row-major order (and NaN windows to the last NaN, as PyTorch)."""
    x = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert ref_pool2d(x, output_size=1, return_indices=True)[1].tolist() == [[2]]
    assert poolcli.pool2d(x, output_size=1, return_indices=True)[1].tolist() == [[2]]
    y = np.array([[0.0, np.nan], [np.nan, 1.0]])
    assert ref_pool2d(y, output_size="global", return_indices=True)[1].tolist() == [[2]]
    assert poolcli.pool2d(y, output_size="global", return_indices=True)[1].tolist() == [[2]]


@pytest.mark.parametrize("x,mode", [(np.zeros((1, 1), np.uint8), "max"),
                                    (np.full((1, 1), 255, np.uint8), "min"),
                                    (np.full((1, 1), -32768, np.int16), "max"),
                                    (np.full((1, 1), -np.inf), "max")])
def test_indices_padding_never_wins(x, mode):
    """'Padded cells never win max/min'; indices point into the unpadded input.  A real cell equal to
    the dtype's extreme ties with the explicit left padding; the real cell must win."""
    kw = dict(size=(1, 2), padding=(0, 1), mode=mode, return_indices=True)
    assert ref_pool2d(x, **kw)[1].tolist() == [[0]]
    assert poolcli.pool2d(x, **kw)[1].tolist() == [[0]]


@contextmanager
def tiny_bands_and_threads():
    """Force the banded engine to use one output row per band and two threads, even on tiny inputs
    (which otherwise take the cached small-input recipes)."""
    from poolcli.engine import banded, small, threads

    saved = banded._BAND_BYTES, threads._THREAD_MIN_ELEMENTS, small.SMALL_BYTES
    banded._BAND_BYTES, threads._THREAD_MIN_ELEMENTS, small.SMALL_BYTES = 1, 1, -1
    try:
        with poolcli.using_threads(2):
            yield
    finally:
        banded._BAND_BYTES, threads._THREAD_MIN_ELEMENTS, small.SMALL_BYTES = saved


# --------------------------------------------------------------------------------------------
# conv2d
# --------------------------------------------------------------------------------------------
@settings(max_examples=250, **SETTINGS)
@given(data=st.data())
def test_conv2d_matches_reference(data):
    x = data.draw(images(max_side=12))
    kshape = (data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
    kel = st.one_of(st.integers(-4, 4).map(float), st.floats(-10, 10, allow_subnormal=False))
    kernel = data.draw(arrays(np.float64, kshape, elements=kel))
    if data.draw(st.booleans()):  # the named filters: several are separable, some have zero weights
        kernel = data.draw(st.sampled_from(list(poolcli.FILTERS.values())))
    padding = data.draw(st.sampled_from(["valid", "same"]))
    try:
        want = ref_conv2d(x, kernel, padding)
    except ValueError:
        with pytest.raises(ValueError):
            poolcli.conv2d(x, kernel, padding)
        return
    with tiny_bands_and_threads() if data.draw(st.booleans()) else nullcontext():
        got = poolcli.conv2d(x, kernel, padding)
    assert got.shape == want.shape and got.dtype == want.dtype
    if x.dtype.kind in "iu" and all(w == w.limit_denominator(1 << 16) for w in map(Fraction, kernel.ravel())):
        np.testing.assert_array_equal(got, want)          # exact weights on integers: the exact value, rounded once
        return
    rtol = {np.dtype(np.float16): 2e-3, np.dtype(np.float32): 1e-5}.get(x.dtype, 1e-12)
    scale = ref_conv2d(np.abs(np.nan_to_num(x).astype(np.float64)), np.abs(kernel), padding)
    # a float32 weight below its smallest subnormal is 0: each term may be off by that much times |x|
    ones = np.ones_like(kernel)
    slack = ref_conv2d(np.abs(np.nan_to_num(x).astype(np.float64)), ones, padding) * np.finfo(got.dtype).smallest_subnormal
    assert_close(got, want, rtol, scale, slack)


@settings(max_examples=400, **SETTINGS)
@given(data=st.data())
def test_fast_paths_match_reference(data):
    """Bands, threads and the doubling windows (stride 1, up to 9 wide) against the reference."""
    x = data.draw(images(max_side=20))
    k = data.draw(int_or_pair(1, 9))
    kw = dict(size=k, stride=data.draw(st.sampled_from([1, 1, 2, None])),
              padding=data.draw(st.sampled_from(["valid", "same"])), ceil_mode=data.draw(st.booleans()),
              mode=data.draw(st.sampled_from(MODES)))
    try:
        ref_pool2d(np.zeros(x.shape[:2]), **{k2: v for k2, v in kw.items() if k2 != "mode"})
    except ValueError:
        assume(False)
    with tiny_bands_and_threads():
        check_pool(x, kw)
